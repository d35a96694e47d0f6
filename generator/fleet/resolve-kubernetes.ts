import type { z } from 'zod';
import { isPlainObject } from './deep-merge.js';
import { isReservedEnvName, RESERVED_ENV_NAMES, RESERVED_ENV_PREFIXES } from './fleet-limits.js';
import type { FleetProblem } from './fleet-problem.js';
import { kubernetesSchema } from './fleet-schema.js';
import type { KubernetesSettings } from './types.js';
import { formatKeyPath, type KeyPath } from './yaml-positions.js';
import { problemsFromZod } from './zod-problems.js';

/**
 * What a fleet without a `kubernetes:` block gets: the deploy identity needs no cluster-scoped
 * rights (the namespace must exist), and images are pulled without credentials.
 */
export const DEFAULT_KUBERNETES_SETTINGS: KubernetesSettings = { createNamespace: false, imagePullSecrets: [] };

export interface ResolvedKubernetes {
  readonly kubernetes: KubernetesSettings;
  readonly problems: FleetProblem[];
}

/**
 * Validates models.yaml's `kubernetes:` block and fills in its defaults. Pure: problems come
 * back as data. An invalid block resolves to the defaults (the problems stop generation anyway).
 */
export function resolveKubernetes(raw: unknown): ResolvedKubernetes {
  if (raw === undefined) return { kubernetes: DEFAULT_KUBERNETES_SETTINGS, problems: [] };
  const parsed = kubernetesSchema.safeParse(raw);
  if (!parsed.success) {
    return { kubernetes: DEFAULT_KUBERNETES_SETTINGS, problems: problemsFromZod(parsed.error, kubernetesSchema as z.ZodType, raw, ['kubernetes']) };
  }
  const imagePullSecrets = parsed.data.imagePullSecrets ?? [];
  const problems = duplicateProblems(imagePullSecrets, ['kubernetes', 'imagePullSecrets'], 'Secret');
  if (problems.length > 0) return { kubernetes: DEFAULT_KUBERNETES_SETTINGS, problems };
  return { kubernetes: { createNamespace: parsed.data.createNamespace ?? false, imagePullSecrets }, problems: [] };
}

const RESERVED_HINT = `pick another name: modelfleet sets ${[...RESERVED_ENV_NAMES].join(', ')} and ${RESERVED_ENV_PREFIXES.map((p) => `${p}*`).join(', ')} itself`;

/**
 * The rules of `secretEnv` and `envFrom` a schema cannot state, checked on what `defaults:` or
 * one model wrote (at `base`), so each problem points at the line that holds it: no variable the
 * model server sets itself, no variable or Secret listed twice (Kubernetes keys `env` by name:
 * a second entry would not add a variable, it would fight the first).
 */
export function secretEnvProblems(raw: unknown, base: KeyPath): FleetProblem[] {
  if (!isPlainObject(raw)) return [];
  const problems: FleetProblem[] = [];
  if (Array.isArray(raw.secretEnv)) {
    const names: unknown[] = raw.secretEnv.map((entry: unknown) => (isPlainObject(entry) ? entry.name : undefined));
    names.forEach((name, index) => {
      if (typeof name === 'string' && isReservedEnvName(name)) {
        problems.push({ path: [...base, 'secretEnv', index, 'name'], message: `${name} is set by modelfleet's model server`, hint: RESERVED_HINT });
      }
    });
    problems.push(...duplicateProblems(names, [...base, 'secretEnv'], 'variable', 'name'));
  }
  if (Array.isArray(raw.envFrom)) problems.push(...duplicateProblems(raw.envFrom as unknown[], [...base, 'envFrom'], 'Secret'));
  return problems;
}

/** A problem at each entry that repeats an earlier one (only text entries count; the schema reports the rest). */
function duplicateProblems(values: readonly unknown[], base: KeyPath, what: string, field?: string): FleetProblem[] {
  const first = new Map<string, number>();
  const problems: FleetProblem[] = [];
  values.forEach((value, index) => {
    if (typeof value !== 'string') return;
    const earlier = first.get(value);
    if (earlier === undefined) {
      first.set(value, index);
      return;
    }
    problems.push({
      path: field === undefined ? [...base, index] : [...base, index, field],
      message: `${what} ${JSON.stringify(value)} is listed twice (first at ${formatKeyPath([...base, earlier])})`,
      hint: 'remove one of them',
    });
  });
  return problems;
}
