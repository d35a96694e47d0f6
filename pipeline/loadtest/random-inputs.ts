import type { ColumnSpec, ColumnType, Signature, TensorDtype, TensorSpec } from '../../serving/mlflow/signature.js';
import type { InputExample } from '../../serving/mlflow/read-mlflow-model.js';
import { createRandom, type Random } from '../../lib/seeded-random.js';

/**
 * Random scoring requests that conform to an MLflow signature: every column type, tensor
 * specs of any shape, numeric ranges and string categories taken from the model's input
 * example when it has one. Pure and deterministic: the same signature, example and seed give
 * the same bodies. Column requests use MLflow's `dataframe_split` orientation, tensor requests
 * `inputs` (https://mlflow.org/docs/latest/ml/deployment/deploy-model-locally/#json-input).
 */

export interface RandomInputOptions {
  readonly rowsPerRequest: number;
  readonly seed: number;
  /** How many distinct request bodies to make (the load driver cycles through them). */
  readonly count: number;
  readonly inputExample?: InputExample | undefined;
}

/** What values one column (or tensor) draws from. */
export type ValueDomain =
  | { readonly kind: 'range'; readonly min: number; readonly max: number }
  | { readonly kind: 'categories'; readonly values: readonly string[] }
  | { readonly kind: 'any' };

export type ColumnSplitBody = { readonly dataframe_split: { readonly columns: string[]; readonly data: unknown[][] } };
export type TensorBody = { readonly inputs: unknown };
export type ScoringBody = ColumnSplitBody | TensorBody;

/** Bounds used when the model has no input example: wide enough to exercise the model, finite. */
const DEFAULT_RANGES: Readonly<Record<'integer' | 'long' | 'float' | 'double', readonly [number, number]>> = {
  integer: [-1000, 1000],
  long: [-1_000_000, 1_000_000],
  float: [-1000, 1000],
  double: [-1000, 1000],
};

const INT_LIMITS: Readonly<Partial<Record<TensorDtype, readonly [number, number]>>> = {
  int8: [-128, 127],
  int16: [-32768, 32767],
  int32: [-2147483648, 2147483647],
  int64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  uint8: [0, 255],
  uint16: [0, 65535],
  uint32: [0, 4294967295],
  uint64: [0, Number.MAX_SAFE_INTEGER],
};

const ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-';
/** Datetimes fall in 2020-01-01 .. 2030-01-01 (UTC). */
const DATETIME_FROM_MS = Date.UTC(2020, 0, 1);
const DATETIME_TO_MS = Date.UTC(2030, 0, 1);

export function generateRequestBodies(signature: Signature, options: RandomInputOptions): ScoringBody[] {
  if (!(Number.isInteger(options.rowsPerRequest) && options.rowsPerRequest >= 1)) {
    throw new RangeError(`rowsPerRequest must be a positive integer, got ${options.rowsPerRequest}`);
  }
  const random = createRandom(options.seed);
  const bodies: ScoringBody[] = [];
  for (let i = 0; i < options.count; i++) {
    bodies.push(generateRequestBody(signature, options.rowsPerRequest, random, options.inputExample));
  }
  return bodies;
}

export function generateRequestBody(signature: Signature, rows: number, random: Random, example?: InputExample): ScoringBody {
  const inputs = signature.inputs;
  if (inputs.kind === 'columns') return generateColumnBody(inputs.specs, rows, random, example);
  return generateTensorBody(inputs.specs, rows, random, example);
}

function generateColumnBody(specs: readonly ColumnSpec[], rows: number, random: Random, example?: InputExample): ColumnSplitBody {
  // An optional column is left out of some requests entirely: the server must cope with both.
  const chosen = specs.filter((spec) => spec.name !== undefined && (spec.required || random.chance(0.5)));
  const domains = chosen.map((spec) => columnDomain(spec, example));
  const data: unknown[][] = [];
  for (let r = 0; r < rows; r++) {
    data.push(chosen.map((spec, c) => randomColumnValue(spec.type, domains[c] ?? { kind: 'any' }, random)));
  }
  return { dataframe_split: { columns: chosen.map((spec) => spec.name as string), data } };
}

function generateTensorBody(specs: readonly TensorSpec[], rows: number, random: Random, example?: InputExample): TensorBody {
  const domain = tensorDomain(example);
  const first = specs[0];
  if (specs.length === 1 && first && first.name === undefined) {
    return { inputs: randomTensor(first, rows, domain, random) };
  }
  const inputs: Record<string, unknown> = {};
  for (const spec of specs) {
    const tensor = randomTensor(spec, rows, domain, random) as unknown[];
    // In the columnar form a row holding a single value is sent as that value, as the server reads it.
    inputs[spec.name ?? 'input'] = rowWidth(spec) === 1 ? tensor.map((row) => (Array.isArray(row) ? row.flat(Infinity as 1)[0] : row)) : tensor;
  }
  return { inputs };
}

/** The values a column draws from: the input example's range (numbers) or categories (strings). */
export function columnDomain(spec: ColumnSpec, example?: InputExample): ValueDomain {
  const index = example && spec.name !== undefined ? example.columns.indexOf(spec.name) : -1;
  const seen = index >= 0 && example ? example.data.map((row) => row[index]).filter((v) => v !== null && v !== undefined) : [];
  switch (spec.type) {
    case 'integer':
    case 'long':
    case 'float':
    case 'double': {
      const numbers = seen.filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
      if (numbers.length === 0) {
        const [min, max] = DEFAULT_RANGES[spec.type];
        return { kind: 'range', min, max };
      }
      return widenRange(Math.min(...numbers), Math.max(...numbers));
    }
    case 'string': {
      const values = [...new Set(seen.filter((v): v is string => typeof v === 'string'))].sort();
      return values.length > 0 ? { kind: 'categories', values } : { kind: 'any' };
    }
    default:
      return { kind: 'any' };
  }
}

/** A range around what the example shows: the example's span plus 10% either side, never empty. */
export function widenRange(min: number, max: number): ValueDomain {
  const span = max - min;
  const pad = span > 0 ? span * 0.1 : Math.max(1, Math.abs(min)) * 0.5;
  return { kind: 'range', min: min - pad, max: max + pad };
}

function tensorDomain(example?: InputExample): ValueDomain {
  const numbers = (example?.data ?? []).flat(Infinity as 1).filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  return numbers.length > 0 ? widenRange(Math.min(...numbers), Math.max(...numbers)) : { kind: 'any' };
}

export function randomColumnValue(type: ColumnType, domain: ValueDomain, random: Random): unknown {
  switch (type) {
    case 'boolean':
      return random.chance(0.5);
    case 'integer':
      return randomInteger(domain, DEFAULT_RANGES.integer, [-2147483648, 2147483647], random);
    case 'long':
      return randomInteger(domain, DEFAULT_RANGES.long, [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER], random);
    case 'float':
      return Math.fround(randomFloat(domain, DEFAULT_RANGES.float, random));
    case 'double':
      return randomFloat(domain, DEFAULT_RANGES.double, random);
    case 'string':
      return domain.kind === 'categories' ? random.pick(domain.values) : randomString(random);
    case 'datetime':
      return new Date(random.int(DATETIME_FROM_MS, DATETIME_TO_MS)).toISOString();
    case 'binary':
      return Buffer.from(randomString(random)).toString('base64');
  }
}

function randomInteger(domain: ValueDomain, fallback: readonly [number, number], limits: readonly [number, number], random: Random): number {
  const [min, max] = domain.kind === 'range' ? [domain.min, domain.max] : fallback;
  const lo = Math.max(limits[0], Math.ceil(min));
  const hi = Math.min(limits[1], Math.floor(max));
  return hi >= lo ? random.int(lo, hi) : Math.max(limits[0], Math.min(limits[1], Math.round(min)));
}

function randomFloat(domain: ValueDomain, fallback: readonly [number, number], random: Random): number {
  const [min, max] = domain.kind === 'range' ? [domain.min, domain.max] : fallback;
  return random.float(min, max);
}

function randomString(random: Random): string {
  const length = random.int(1, 12);
  let text = '';
  for (let i = 0; i < length; i++) text += ALPHABET[random.int(0, ALPHABET.length - 1)];
  return text;
}

/** Values in one row of the tensor (variable inner dimensions count as 1, as generated). */
function rowWidth(spec: TensorSpec): number {
  return spec.shape.slice(1).reduce((a, d) => a * Math.max(d, 1), 1);
}

/**
 * A nested array shaped like the spec, with the batch dimension (-1 first) set to `rows`. An inner
 * variable dimension gets length 1: the server sizes a row's tensor from the fixed dimensions.
 */
export function randomTensor(spec: TensorSpec, rows: number, domain: ValueDomain, random: Random): unknown {
  const dims = spec.shape.map((d, i) => (d === -1 ? (i === 0 ? rows : 1) : d));
  const build = (depth: number): unknown => {
    if (depth === dims.length) return randomTensorValue(spec.dtype, domain, random);
    const out: unknown[] = [];
    for (let i = 0; i < (dims[depth] ?? 1); i++) out.push(build(depth + 1));
    return out;
  };
  return build(0);
}

function randomTensorValue(dtype: TensorDtype, domain: ValueDomain, random: Random): unknown {
  switch (dtype) {
    case 'bool':
      return random.chance(0.5);
    case 'str':
    case 'object':
      return randomString(random);
    case 'float16':
      // float16 holds at most 65504 and about three significant digits.
      return Math.round(randomFloat(clampDomain(domain, -1000, 1000), [-100, 100], random) * 100) / 100;
    case 'float32':
      return Math.fround(randomFloat(domain, DEFAULT_RANGES.float, random));
    case 'float64':
      return randomFloat(domain, DEFAULT_RANGES.double, random);
    default: {
      const limits = INT_LIMITS[dtype] ?? [-1000, 1000];
      const fallback: readonly [number, number] = [Math.max(limits[0], -1000), Math.min(limits[1], 1000)];
      return randomInteger(domain, fallback, limits, random);
    }
  }
}

function clampDomain(domain: ValueDomain, min: number, max: number): ValueDomain {
  if (domain.kind !== 'range') return domain;
  return { kind: 'range', min: Math.max(min, domain.min), max: Math.min(max, domain.max) };
}
