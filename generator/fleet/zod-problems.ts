import { z } from 'zod';
import { suggestClosest } from './did-you-mean.js';
import type { FleetProblem } from './fleet-problem.js';
import type { KeyPath } from './yaml-positions.js';

/** The keys an object schema accepts at `path`, for "did you mean" on unknown keys. */
export function knownKeysAt(schema: z.ZodType, path: KeyPath): string[] {
  let current: z.ZodType | undefined = schema;
  for (const part of path) {
    current = current && childSchema(current, part);
  }
  const object = current && objectOf(unwrapSchema(current));
  return object ? Object.keys(object.shape) : [];
}

/** The object schema itself, or the object option of a union such as `string | {name, alias}`. */
function objectOf(schema: z.ZodType): z.ZodObject | undefined {
  if (schema instanceof z.ZodObject) return schema;
  if (schema instanceof z.ZodUnion) {
    for (const option of schema.options as readonly z.ZodType[]) {
      const inner = unwrapSchema(option);
      if (inner instanceof z.ZodObject) return inner;
    }
  }
  return undefined;
}

function unwrapSchema(schema: z.ZodType): z.ZodType {
  let current = schema;
  while (current instanceof z.ZodOptional || current instanceof z.ZodDefault || current instanceof z.ZodNullable) {
    current = current.unwrap() as z.ZodType;
  }
  return current;
}

function childSchema(schema: z.ZodType, part: string | number): z.ZodType | undefined {
  const inner = unwrapSchema(schema);
  const object = objectOf(inner);
  if (object && typeof part === 'string') return (object.shape as Record<string, z.ZodType>)[part];
  if (inner instanceof z.ZodArray && typeof part === 'number') return inner.element as z.ZodType;
  if (inner instanceof z.ZodRecord) return inner.valueType as z.ZodType;
  return undefined;
}

export function valueAt(root: unknown, path: KeyPath): unknown {
  let current = root;
  for (const part of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = Object.hasOwn(current, part) ? (current as Record<string | number, unknown>)[part] : undefined;
  }
  return current;
}

/** What a person calls the value they wrote. */
export function describeValue(value: unknown): string {
  if (value === null) return 'nothing (null)';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return `text ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value)}`;
  if (typeof value === 'number') return `the number ${value}`;
  if (typeof value === 'boolean') return `${value}`;
  return typeof value;
}

const EXPECTED_WORDS: Record<string, string> = {
  int: 'a whole number',
  number: 'a number',
  string: 'text',
  boolean: 'true or false',
  object: 'a mapping (key: value lines)',
  array: 'a list (- item lines)',
  record: 'a mapping (key: value lines)',
};

/**
 * Turns zod's issues for `value` (found at `basePath` in the file) into fleet problems, one per
 * unknown key so each gets its own position and suggestion.
 */
export function problemsFromZod(error: z.ZodError, schema: z.ZodType, value: unknown, basePath: KeyPath): FleetProblem[] {
  const problems: FleetProblem[] = [];
  for (const issue of error.issues) {
    const local = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
    const path = [...basePath, ...local];
    switch (issue.code) {
      case 'unrecognized_keys': {
        const known = knownKeysAt(schema, local);
        for (const key of issue.keys) {
          const suggestion = suggestClosest(key, known);
          problems.push({
            path: [...path, key],
            message: `unknown key "${key}"`,
            hint: suggestion ? `did you mean "${suggestion}"?` : known.length > 0 ? `keys allowed here: ${known.join(', ')}` : 'remove it',
          });
        }
        break;
      }
      case 'invalid_type': {
        const actual = valueAt(value, local);
        const expected = EXPECTED_WORDS[issue.expected] ?? issue.expected;
        problems.push(
          actual === undefined
            ? { path, message: 'is required', hint: `add it (${expected})` }
            : { path, message: `must be ${expected}, not ${describeValue(actual)}` },
        );
        break;
      }
      case 'invalid_value': {
        const options = issue.values.map((v) => String(v));
        const actual = valueAt(value, local);
        const suggestion = typeof actual === 'string' ? suggestClosest(actual, options) : undefined;
        problems.push({
          path,
          message: `must be one of ${options.join(', ')}, not ${describeValue(actual)}`,
          ...(suggestion ? { hint: `did you mean "${suggestion}"?` } : {}),
        });
        break;
      }
      case 'invalid_key': {
        // A key of a mapping such as `variables:` or `nodeSelector:`: say which rule the key breaks.
        const inner = issue.issues.map((i) => i.message).join('; ');
        problems.push({ path, message: `key ${JSON.stringify(String(local[local.length - 1] ?? ''))}: ${inner || 'is not allowed here'}` });
        break;
      }
      case 'invalid_union': {
        // Every option was of another type (zod reports the matching option's own issues otherwise).
        const actual = valueAt(value, local);
        const expected = [...new Set(issue.errors.flatMap((branch) => branch.filter((i) => i.code === 'invalid_type').map((i) => EXPECTED_WORDS[i.expected] ?? i.expected)))];
        problems.push(
          expected.length > 0
            ? { path, message: `must be ${expected.join(' or ')}, not ${describeValue(actual)}` }
            : { path, message: `${issue.message}, not ${describeValue(actual)}` },
        );
        break;
      }
      default: {
        const actual = valueAt(value, local);
        const shown = actual !== null && typeof actual !== 'object' && actual !== undefined ? `, not ${describeValue(actual)}` : '';
        problems.push({ path, message: `${issue.message}${shown}` });
      }
    }
  }
  return problems;
}
