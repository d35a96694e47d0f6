import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadAll } from 'js-yaml';

export const COMPONENT_FILE = join(import.meta.dirname, '..', '..', 'templates', 'fleet.yml');

interface InputSpec {
  readonly type?: 'string' | 'number' | 'boolean' | 'array';
  readonly default?: unknown;
}

/** The component's two documents: the `spec:` header and the pipeline. */
export function readComponent(file: string = COMPONENT_FILE): { header: { spec: { inputs: Record<string, InputSpec> } }; body: unknown } {
  const [header, body] = loadAll(readFileSync(file, 'utf8')) as [{ spec: { inputs: Record<string, InputSpec> } }, unknown];
  return { header, body };
}

/**
 * The pipeline with `$[[ inputs.x ]]` replaced as GitLab does: a value that is only the
 * interpolation takes the input's own type (an array stays an array); inside a longer string
 * the value is written as text (JSON for an array).
 */
export function interpolateComponent(values: Readonly<Record<string, unknown>> = {}, file: string = COMPONENT_FILE): unknown {
  const { header, body } = readComponent(file);
  const valueOf = (key: string): unknown => {
    const spec = header.spec.inputs[key];
    if (spec === undefined) throw new Error(`unknown input ${key}`);
    return key in values ? values[key] : spec.default;
  };
  const whole = /^\$\[\[\s*inputs\.([\w-]+)\s*\]\]$/;
  const inside = /\$\[\[\s*inputs\.([\w-]+)\s*\]\]/g;
  const walk = (node: unknown): unknown => {
    if (typeof node === 'string') {
      const match = whole.exec(node);
      if (match) return valueOf(match[1] as string);
      return node.replace(inside, (_, key: string) => {
        const value = valueOf(key);
        return typeof value === 'string' ? value : JSON.stringify(value);
      });
    }
    if (Array.isArray(node)) return node.map(walk);
    if (node !== null && typeof node === 'object') return Object.fromEntries(Object.entries(node).map(([k, v]) => [walk(k) as string, walk(v)]));
    return node;
  };
  return walk(body);
}
