import { UserError } from '../../lib/errors/user-error.js';

/**
 * MLflow model signatures, as `mlflow.models.ModelSignature.to_dict()` writes them into MLmodel:
 * `signature.inputs` and `signature.outputs` are JSON *strings* holding a list of specs.
 * A schema is either all column specs or all tensor specs.
 * https://mlflow.org/docs/latest/ml/model/signatures/#column-based-signature-example
 */

/** MLflow `DataType` names of column specs (mlflow/types/schema.py). */
export const COLUMN_TYPES = ['boolean', 'integer', 'long', 'float', 'double', 'string', 'datetime', 'binary'] as const;
export type ColumnType = (typeof COLUMN_TYPES)[number];

/** numpy dtype names MLflow writes into tensor specs. */
export const TENSOR_DTYPES = [
  'float16', 'float32', 'float64', 'int8', 'int16', 'int32', 'int64',
  'uint8', 'uint16', 'uint32', 'uint64', 'bool', 'str', 'object',
] as const;
export type TensorDtype = (typeof TENSOR_DTYPES)[number];

export interface ColumnSpec {
  readonly kind: 'column';
  /** MLflow allows unnamed columns; a model server needs names, so `readMlflowModel` rejects unnamed input columns. */
  readonly name: string | undefined;
  readonly type: ColumnType;
  /** Absent in MLflow < 2.10 MLmodel files, where every column is required. */
  readonly required: boolean;
}

export interface TensorSpec {
  readonly kind: 'tensor';
  readonly name: string | undefined;
  readonly dtype: TensorDtype;
  /** -1 marks a variable dimension (the batch dimension is the first one). */
  readonly shape: readonly number[];
}

export type ColumnSchema = { readonly kind: 'columns'; readonly specs: readonly ColumnSpec[] };
export type TensorSchema = { readonly kind: 'tensors'; readonly specs: readonly TensorSpec[] };
export type Schema = ColumnSchema | TensorSchema;

export interface Signature {
  readonly inputs: Schema;
  /** Undefined when the MLmodel has no outputs schema. */
  readonly outputs: Schema | undefined;
}

/** What `signature:` holds in MLmodel (the YAML mapping, before the JSON strings are parsed). */
export interface RawSignature {
  readonly inputs?: unknown;
  readonly outputs?: unknown;
  readonly params?: unknown;
}

/**
 * Parses the `signature:` mapping of an MLmodel file. `where` names the file for messages.
 * Collects every problem, then throws one UserError listing them.
 */
export function parseSignature(raw: unknown, where: string): Signature {
  const problems: string[] = [];
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new UserError('SIGNATURE_INVALID', `${where}: \`signature\` must be a mapping with \`inputs\` (and \`outputs\`), found ${describe(raw)}`);
  }
  const sig = raw as RawSignature;
  const inputs = parseSchema(sig.inputs, 'signature.inputs', problems);
  const outputs = sig.outputs === undefined || sig.outputs === null ? undefined : parseSchema(sig.outputs, 'signature.outputs', problems);
  if (sig.inputs === undefined || sig.inputs === null) problems.push('signature.inputs: missing; a model server needs the input schema');
  if (problems.length > 0 || inputs === undefined) {
    throw new UserError('SIGNATURE_INVALID', `${where}: ${formatProblems(problems)}`);
  }
  return { inputs, outputs };
}

/** Parses one schema: a JSON string (as in MLmodel) or an already-parsed list. */
export function parseSchema(raw: unknown, path: string, problems: string[]): Schema | undefined {
  if (raw === undefined || raw === null) return undefined;
  let list: unknown = raw;
  if (typeof raw === 'string') {
    try {
      list = JSON.parse(raw);
    } catch (err) {
      problems.push(`${path}: not valid JSON (${(err as Error).message})`);
      return undefined;
    }
  }
  if (!Array.isArray(list)) {
    problems.push(`${path}: must be a JSON list of specs, found ${describe(list)}`);
    return undefined;
  }
  if (list.length === 0) {
    problems.push(`${path}: the list of specs is empty`);
    return undefined;
  }
  const columns: ColumnSpec[] = [];
  const tensors: TensorSpec[] = [];
  list.forEach((item: unknown, i) => {
    const spec = parseSpec(item, `${path}[${i}]`, problems);
    if (spec?.kind === 'column') columns.push(spec);
    if (spec?.kind === 'tensor') tensors.push(spec);
  });
  if (columns.length > 0 && tensors.length > 0) {
    problems.push(`${path}: mixes column specs and tensor specs; MLflow schemas hold one kind only`);
    return undefined;
  }
  const names = new Set<string>();
  for (const spec of [...columns, ...tensors]) {
    if (spec.name === undefined) continue;
    if (names.has(spec.name)) problems.push(`${path}: the name "${spec.name}" appears twice`);
    names.add(spec.name);
  }
  if (tensors.length > 1 && tensors.some((t) => t.name === undefined)) {
    problems.push(`${path}: several tensor specs need a name each`);
  }
  return tensors.length > 0 ? { kind: 'tensors', specs: tensors } : { kind: 'columns', specs: columns };
}

function parseSpec(item: unknown, path: string, problems: string[]): ColumnSpec | TensorSpec | undefined {
  if (item === null || typeof item !== 'object' || Array.isArray(item)) {
    problems.push(`${path}: must be an object like {"name": ..., "type": ...}, found ${describe(item)}`);
    return undefined;
  }
  const obj = item as Record<string, unknown>;
  const name = obj.name;
  if (name !== undefined && (typeof name !== 'string' || name === '')) {
    problems.push(`${path}.name: must be a non-empty string, found ${describe(name)}`);
    return undefined;
  }
  if (obj.type === 'tensor') {
    const ts = obj['tensor-spec'];
    if (ts === null || typeof ts !== 'object' || Array.isArray(ts)) {
      problems.push(`${path}: a tensor spec needs "tensor-spec": {"dtype": ..., "shape": [...]}`);
      return undefined;
    }
    const { dtype, shape } = ts as Record<string, unknown>;
    if (typeof dtype !== 'string' || !(TENSOR_DTYPES as readonly string[]).includes(dtype)) {
      problems.push(`${path}.tensor-spec.dtype: ${describe(dtype)} is not one of ${TENSOR_DTYPES.join(', ')}`);
      return undefined;
    }
    if (!Array.isArray(shape) || shape.length === 0 || !shape.every((d) => Number.isInteger(d) && (d === -1 || d > 0))) {
      problems.push(`${path}.tensor-spec.shape: must be a non-empty list of positive integers or -1, found ${JSON.stringify(shape)}`);
      return undefined;
    }
    return { kind: 'tensor', name: name as string | undefined, dtype: dtype as TensorDtype, shape: shape as number[] };
  }
  if (typeof obj.type !== 'string' || !(COLUMN_TYPES as readonly string[]).includes(obj.type)) {
    problems.push(`${path}.type: ${describe(obj.type)} is not "tensor" or a column type (${COLUMN_TYPES.join(', ')})`);
    return undefined;
  }
  const required = obj.required;
  if (required !== undefined && typeof required !== 'boolean') {
    problems.push(`${path}.required: must be true or false, found ${describe(required)}`);
    return undefined;
  }
  return { kind: 'column', name: name as string | undefined, type: obj.type as ColumnType, required: required ?? true };
}

/** Serialises a schema the way MLflow writes it into MLmodel (a JSON string, keys in MLflow's order). */
export function formatSchema(schema: Schema): string {
  const items = schema.kind === 'columns'
    ? schema.specs.map((c) => ({ type: c.type, ...(c.name === undefined ? {} : { name: c.name }), required: c.required }))
    : schema.specs.map((t) => ({ type: 'tensor', 'tensor-spec': { dtype: t.dtype, shape: [...t.shape] }, ...(t.name === undefined ? {} : { name: t.name }) }));
  return toPythonJson(items);
}

/** JSON with Python's `json.dumps` separators (", " and ": "), as MLflow writes schema strings. */
export function toPythonJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(toPythonJson).join(', ')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}: ${toPythonJson(v)}`).join(', ')}}`;
  }
  return JSON.stringify(value);
}

export function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${String(value)}`;
}

export function formatProblems(problems: readonly string[], max = 5): string {
  const shown = problems.slice(0, max).join('; ');
  return problems.length > max ? `${shown}; and ${problems.length - max} more` : shown;
}
