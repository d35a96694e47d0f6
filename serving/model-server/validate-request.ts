import type { ColumnSpec, ColumnType, Signature, TensorDtype, TensorSpec } from '../mlflow/signature.js';
import { packColumnValues, packFlatValues, packRecords, packSplitRows, packTensorRows, RowPacker, type PackTarget } from './pack-rows.js';
import { allocateColumn, type ColumnData, type FeedLayout, type InputColumn, type RowBatch } from './row-batch.js';

/**
 * Checks a scoring request against the model's MLflow signature before anything reaches the model.
 * Every problem is collected (with its row and column) so a caller fixes the whole request at once.
 *
 * Formats (MLflow scoring protocol, https://mlflow.org/docs/latest/ml/deployment/deploy-model-locally/):
 *   {"dataframe_split": {"columns": [...], "data": [[...], ...]}}   pandas "split" orientation
 *   {"dataframe_records": [{"col": value, ...}, ...]}              pandas "records" orientation
 *   {"instances": [...]}                                            TF-serving row format
 *   {"inputs": {...} | [...]}                                       TF-serving columnar format
 *   text/csv with a header row
 * and Open Inference Protocol v2 infer requests
 * (https://github.com/kserve/open-inference-protocol/blob/main/specification/protocol/inference_rest.md).
 */

export type ProblemReason =
  | 'unsupported_media_type' | 'body_too_large' | 'malformed_json' | 'malformed_csv' | 'not_an_object'
  | 'no_input_format' | 'several_input_formats' | 'unknown_key' | 'bad_structure' | 'row_length'
  | 'missing_column' | 'unknown_column' | 'duplicate_column' | 'null_value' | 'wrong_type' | 'non_finite'
  | 'out_of_range' | 'not_integer' | 'bad_datetime' | 'bad_base64' | 'too_many_rows' | 'empty_batch'
  | 'bad_shape' | 'missing_input' | 'unknown_input' | 'bad_datatype' | 'shape_data_mismatch'
  | 'unsupported_format' | 'unknown_model' | 'not_found' | 'method_not_allowed' | 'not_ready';

export interface Problem {
  readonly reason: ProblemReason;
  /** 0-based row of the request, when the problem sits in one row. */
  readonly row?: number;
  readonly column?: string;
  readonly message: string;
}

/** What a rejected request gets back (the JSON body of the 4xx answer). */
export interface RequestFailure {
  readonly status: number;
  readonly error: ProblemReason;
  readonly message: string;
  /** The first MAX_PROBLEMS problems. */
  readonly problems: readonly Problem[];
  /** How many problems were found in all. */
  readonly problemCount: number;
}

export type InputFormat = 'dataframe_split' | 'dataframe_records' | 'instances' | 'inputs' | 'csv' | 'v2';

export type ValidationResult =
  | { readonly ok: true; readonly batch: RowBatch; readonly format: InputFormat }
  | { readonly ok: false; readonly failure: RequestFailure };

export interface RequestLimits {
  /** Most rows one request may carry (MAX_ROWS_PER_REQUEST). */
  readonly maxRows: number;
}

export interface ValidatorOptions {
  /** The loaded graph's layout: clean requests are then written straight into its feeds. */
  readonly layout?: FeedLayout | undefined;
  /** false: every request takes the full check (the one-pass reader is compared against it in tests). */
  readonly onePass?: boolean;
}

/** Keeps error bodies small for huge bad requests; problemCount still counts them all. */
export const MAX_PROBLEMS = 100;

export const INPUT_FORMATS = ['dataframe_split', 'dataframe_records', 'instances', 'inputs'] as const;

/** Largest finite float32: a double beyond it becomes Infinity in a float32 tensor. */
const FLOAT32_MAX = 3.4028234663852886e38;
const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;
const NON_FINITE_TEXT = /^[+-]?(nan|inf|infinity)$/i;
const NUMBER_TEXT = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

class Problems {
  readonly list: Problem[] = [];
  count = 0;
  add(problem: Problem): void {
    this.count++;
    if (this.list.length < MAX_PROBLEMS) this.list.push(problem);
  }
}

export function failure(status: number, problems: readonly Problem[], problemCount = problems.length): RequestFailure {
  const first = problems[0];
  const reason = first?.reason ?? 'bad_structure';
  const message = problemCount === 1 && first ? first.message : `${problemCount} problems in the request; the first: ${first?.message ?? 'unknown'}`;
  return { status, error: reason, message, problems, problemCount };
}

function reject(status: number, reason: ProblemReason, message: string): ValidationResult {
  return { ok: false, failure: failure(status, [{ reason, message }]) };
}

type CellKind = { readonly scalar: ColumnType } | { readonly dtype: TensorDtype };

/** One input the request must fill: a column of a column signature or a tensor of a tensor signature. */
interface Slot {
  readonly name: string;
  readonly label: string;
  readonly required: boolean;
  readonly cell: CellKind;
  /** The declared type: MLflow column type or numpy dtype (the value of `cell`). */
  readonly type: string;
  readonly kind: ColumnData['kind'];
  readonly rowShape: readonly number[];
  readonly width: number;
  /** Accepted numbers (for numeric slots): NaN and infinities fail both comparisons. */
  readonly range: { readonly integer: boolean; readonly min: number; readonly max: number };
}

/**
 * Validates requests for one signature; built once at start-up (the slot table is the per-request hot path).
 *
 * Two passes at most: a clean request is read in one pass straight into its final arrays (pack-rows.ts);
 * only when that pass meets something it does not accept does the full check below run, and that check
 * alone builds the problem list. Given the runtime's FeedLayout, clean requests land directly in the
 * graph's feeds; without it (no model loaded, or a stand-in runtime) they come out in column form.
 */
export class RequestValidator {
  readonly #slots: readonly Slot[];
  readonly #byName: ReadonlyMap<string, Slot>;
  readonly #indexByName: ReadonlyMap<string, number>;
  readonly #tensors: boolean;
  readonly #limits: RequestLimits;
  readonly #packer: RowPacker | undefined;
  /** Per slot, the Open Inference Protocol datatypes it takes. */
  readonly #v2Types: readonly (readonly string[])[];
  /** Scratch marks for "slot already seen" in one request (validation is synchronous, so one suffices). */
  readonly #seen: Uint8Array;

  constructor(signature: Signature, limits: RequestLimits, options: ValidatorOptions = {}) {
    this.#limits = limits;
    this.#tensors = signature.inputs.kind === 'tensors';
    this.#slots = signature.inputs.kind === 'columns'
      ? signature.inputs.specs.map(columnSlot)
      : signature.inputs.specs.map(tensorSlot);
    this.#byName = new Map(this.#slots.map((s) => [s.name, s]));
    this.#indexByName = new Map(this.#slots.map((s, i) => [s.name, i]));
    this.#packer = options.onePass === false ? undefined : RowPacker.for(this.#slots, options.layout);
    this.#v2Types = this.#slots.map((s) => v2Datatypes(s.cell));
    this.#seen = new Uint8Array(this.#slots.length);
  }

  /** The names requests use, in signature order ('' for a single unnamed tensor). */
  get inputNames(): readonly string[] {
    return this.#slots.map((s) => s.name);
  }

  /** `POST /invocations`: JSON (one of the four MLflow keys) or CSV. */
  validateScoring(contentType: string | undefined, body: string): ValidationResult {
    const media = contentType === 'application/json' ? contentType : mediaType(contentType);
    if (media === 'text/csv') return this.#fromCsv(body);
    if (media !== 'application/json') {
      return reject(415, 'unsupported_media_type',
        `Content-Type ${contentType === undefined ? 'is missing' : JSON.stringify(contentType)}; send application/json or text/csv`);
    }
    const parsed = parseJson(body);
    if (!parsed.ok) return parsed.result;
    return this.validateScoringJson(parsed.value);
  }

  validateScoringJson(json: unknown): ValidationResult {
    const packed = this.#packScoring(json);
    if (packed) return packed;
    if (json === null || typeof json !== 'object' || Array.isArray(json)) {
      return reject(400, 'not_an_object', `the body must be a JSON object with one of ${INPUT_FORMATS.join(', ')}; found ${kindOf(json)}`);
    }
    const obj = json as Record<string, unknown>;
    const keys = Object.keys(obj);
    const formats = keys.filter((k): k is (typeof INPUT_FORMATS)[number] => (INPUT_FORMATS as readonly string[]).includes(k));
    const problems = new Problems();
    for (const key of keys) {
      if (formats.includes(key as (typeof INPUT_FORMATS)[number])) continue;
      if (key === 'params' && isEmptyParams(obj.params)) continue;
      problems.add({ reason: 'unknown_key', column: key, message: key === 'params'
        ? 'this model declares no params in its signature; drop "params"'
        : `unknown top-level key ${JSON.stringify(key)}; use exactly one of ${INPUT_FORMATS.join(', ')}` });
    }
    if (formats.length === 0) {
      return reject(400, 'no_input_format', `the body names none of ${INPUT_FORMATS.join(', ')}; e.g. {"dataframe_split": {"columns": [...], "data": [[...]]}}`);
    }
    if (formats.length > 1) {
      return reject(400, 'several_input_formats', `the body names ${formats.join(' and ')}; use exactly one of them`);
    }
    if (problems.count > 0) return { ok: false, failure: failure(400, problems.list, problems.count) };
    const format = formats[0] as (typeof INPUT_FORMATS)[number];
    const payload = obj[format];
    switch (format) {
      case 'dataframe_split': return this.#fromSplit(payload, format);
      case 'dataframe_records': return this.#fromRecords(payload, format);
      case 'instances': return this.#fromInstances(payload);
      case 'inputs': return this.#fromInputs(payload);
    }
  }

  /** `POST /v2/models/{name}/infer` body. */
  validateV2(body: string | unknown): ValidationResult {
    let json = body;
    if (typeof body === 'string') {
      const parsed = parseJson(body);
      if (!parsed.ok) return parsed.result;
      json = parsed.value;
    }
    const packed = this.#packV2(json);
    if (packed) return packed;
    if (json === null || typeof json !== 'object' || Array.isArray(json)) {
      return reject(400, 'not_an_object', `an inference request is a JSON object with "inputs": [{"name", "shape", "datatype", "data"}]; found ${kindOf(json)}`);
    }
    const inputs = (json as Record<string, unknown>).inputs;
    if (!Array.isArray(inputs) || inputs.length === 0) {
      return reject(400, 'bad_structure', '"inputs" must be a non-empty list of {"name", "shape", "datatype", "data"}');
    }
    const problems = new Problems();
    const seen = new Map<string, { shape: number[]; data: unknown[]; slot: Slot }>();
    inputs.forEach((item: unknown, i) => {
      if (item === null || typeof item !== 'object' || Array.isArray(item)) {
        problems.add({ reason: 'bad_structure', message: `inputs[${i}] must be an object with name, shape, datatype and data` });
        return;
      }
      const { name, shape, datatype, data } = item as Record<string, unknown>;
      const slot = typeof name === 'string' ? this.#slotFor(name) : undefined;
      if (typeof name !== 'string') {
        problems.add({ reason: 'bad_structure', message: `inputs[${i}].name must be a string` });
        return;
      }
      if (!slot) {
        problems.add({ reason: 'unknown_input', column: name, message: `unknown input ${JSON.stringify(name)}; the model takes ${this.#describeSlots()}` });
        return;
      }
      if (seen.has(slot.name)) {
        problems.add({ reason: 'duplicate_column', column: name, message: `input ${JSON.stringify(name)} appears twice` });
        return;
      }
      if (!Array.isArray(shape) || shape.length === 0 || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
        problems.add({ reason: 'bad_shape', column: name, message: `inputs[${i}].shape must be a list of non-negative integers` });
        return;
      }
      const expected = v2Datatypes(slot.cell);
      if (typeof datatype !== 'string' || !expected.includes(datatype)) {
        problems.add({ reason: 'bad_datatype', column: name, message: `inputs[${i}].datatype is ${JSON.stringify(datatype)}; ${slot.label} takes ${expected.join(' or ')}` });
        return;
      }
      const wantRow = slot.rowShape;
      const okShape = wantRow.length === 0
        ? shape.length === 1 || (shape.length === 2 && shape[1] === 1)
        : shape.length === wantRow.length + 1 && wantRow.every((d, k) => d === -1 || d === shape[k + 1]);
      if (!okShape) {
        problems.add({ reason: 'bad_shape', column: name, message: `inputs[${i}].shape ${JSON.stringify(shape)} does not fit ${slot.label}: expected [N${wantRow.length === 0 ? '' : `, ${wantRow.join(', ')}`}]` });
        return;
      }
      if (!Array.isArray(data)) {
        problems.add({ reason: 'bad_structure', column: name, message: `inputs[${i}].data must be a list (flat, row-major)` });
        return;
      }
      const flat = data.flat(Infinity);
      const count = (shape as number[]).reduce((a, b) => a * b, 1);
      if (flat.length !== count) {
        problems.add({ reason: 'shape_data_mismatch', column: name, message: `inputs[${i}] has ${flat.length} values but shape ${JSON.stringify(shape)} holds ${count}` });
        return;
      }
      seen.set(slot.name, { shape: shape as number[], data: flat, slot });
    });
    if (problems.count > 0) return { ok: false, failure: failure(400, problems.list, problems.count) };
    const rowCounts = new Set([...seen.values()].map((s) => s.shape[0]));
    if (rowCounts.size > 1) return reject(400, 'bad_shape', `inputs disagree on the number of rows (first dimension): ${[...rowCounts].join(' vs ')}`);
    const rows = [...rowCounts][0] ?? 0;
    const limit = this.#checkRows(rows);
    if (limit) return limit;
    for (const slot of this.#slots) {
      if (!seen.has(slot.name) && slot.required) problems.add({ reason: 'missing_input', column: slot.name, message: `input ${JSON.stringify(slot.name)} is missing` });
    }
    if (problems.count > 0) return { ok: false, failure: failure(400, problems.list, problems.count) };
    const columns = this.#allocate(rows);
    for (const [name, entry] of seen) {
      const column = columns.get(name);
      if (!column) continue;
      const width = entry.slot.width;
      entry.data.forEach((value, k) => setCell(entry.slot, column, k, value, Math.floor(k / width), problems, false));
    }
    return this.#finish(rows, columns, problems, 'v2');
  }

  /**
   * The one-pass read of a clean MLflow scoring body, or undefined when anything about it needs the full
   * check (which then decides, and words every problem).
   */
  #packScoring(json: unknown): ValidationResult | undefined {
    if (!this.#packer || json === null || typeof json !== 'object' || Array.isArray(json)) return undefined;
    const keys = Object.keys(json);
    if (keys.length !== 1) return undefined;
    const format = keys[0];
    const payload = (json as Record<string, unknown>)[format as string];
    switch (format) {
      case 'dataframe_split': return this.#packSplit(payload);
      case 'dataframe_records': return this.#tensors || !Array.isArray(payload) ? undefined : this.#packRowObjects(payload, format);
      case 'instances':
      case 'inputs':
        if (Array.isArray(payload)) return this.#tensors ? this.#packTensorRows(payload, format) : this.#packRowObjects(payload, format);
        return format === 'inputs' && !this.#tensors ? this.#packColumnar(payload) : undefined;
      default: return undefined;
    }
  }

  #rowsFit(rows: number): boolean {
    return rows > 0 && rows <= this.#limits.maxRows;
  }

  /** Slot index of `name`, unless unknown or already seen in this request (marks it seen). */
  #claim(name: unknown): number | undefined {
    const i = typeof name === 'string' ? this.#indexByName.get(name) : undefined;
    if (i === undefined || this.#seen[i] === 1) return undefined;
    this.#seen[i] = 1;
    return i;
  }

  /** True when `columns` names every slot once, in signature order (its length is checked already). */
  #inSignatureOrder(columns: readonly unknown[]): boolean {
    for (let c = 0; c < columns.length; c++) if (columns[c] !== this.#slots[c]?.name) return false;
    return true;
  }

  #packSplit(payload: unknown): ValidationResult | undefined {
    const packer = this.#packer;
    if (!packer || this.#tensors || payload === null || typeof payload !== 'object' || Array.isArray(payload)) return undefined;
    const { columns, data } = payload as Record<string, unknown>;
    if (!Array.isArray(data) || !Array.isArray(columns) || columns.length !== this.#slots.length || !this.#rowsFit(data.length)) return undefined;
    if (packer.packsMatrix && this.#inSignatureOrder(columns)) {
      const batch = packer.packMatrixRows(data);
      return batch ? { ok: true, batch, format: 'dataframe_split' } : undefined;
    }
    this.#seen.fill(0);
    const order: number[] = new Array<number>(columns.length);
    for (let c = 0; c < columns.length; c++) {
      const i = this.#claim(columns[c]);
      if (i === undefined) return undefined;
      order[c] = i;
    }
    const job = packer.begin(data.length);
    const targets = order.map((i) => job.targets[i] as PackTarget);
    if (!packSplitRows(data, targets, packer.allNumbers)) return undefined;
    return { ok: true, batch: job.batch(), format: 'dataframe_split' };
  }

  #packTensorRows(rows: unknown[], format: 'instances' | 'inputs'): ValidationResult | undefined {
    const only = this.#slots[0];
    if (!this.#packer || this.#slots.length !== 1 || only?.rowShape.length !== 1 || !this.#rowsFit(rows.length)) return undefined;
    const job = this.#packer.begin(rows.length);
    if (!packTensorRows(rows, job.targets[0] as PackTarget)) return undefined;
    return { ok: true, batch: job.batch(), format };
  }

  #packRowObjects(records: unknown[], format: 'dataframe_records' | 'instances' | 'inputs'): ValidationResult | undefined {
    if (!this.#packer || !this.#rowsFit(records.length)) return undefined;
    const job = this.#packer.begin(records.length);
    if (!packRecords(records, this.#indexByName, job.targets)) return undefined;
    return { ok: true, batch: job.batch(), format };
  }

  /** {"inputs": {"column": [v0, v1, ...], ...}} with every column present, all lists one length. */
  #packColumnar(payload: unknown): ValidationResult | undefined {
    if (!this.#packer || payload === null || typeof payload !== 'object' || Array.isArray(payload)) return undefined;
    const obj = payload as Record<string, unknown>;
    const keys = Object.keys(obj);
    if (keys.length !== this.#slots.length) return undefined;
    this.#seen.fill(0);
    let rows = -1;
    for (const key of keys) {
      const values = obj[key];
      if (this.#claim(key) === undefined || !Array.isArray(values) || (rows !== -1 && values.length !== rows)) return undefined;
      rows = values.length;
    }
    if (!this.#rowsFit(rows)) return undefined;
    const job = this.#packer.begin(rows);
    for (const key of keys) {
      if (!packColumnValues(obj[key] as unknown[], job.targets[this.#indexByName.get(key) as number] as PackTarget)) return undefined;
    }
    return { ok: true, batch: job.batch(), format: 'inputs' };
  }

  /** An Open Inference Protocol request whose inputs are all present, well-formed and hold flat data. */
  #packV2(json: unknown): ValidationResult | undefined {
    if (!this.#packer || json === null || typeof json !== 'object' || Array.isArray(json)) return undefined;
    const inputs = (json as Record<string, unknown>).inputs;
    if (!Array.isArray(inputs) || inputs.length !== this.#slots.length) return undefined;
    this.#seen.fill(0);
    const order: number[] = [];
    let rows = -1;
    for (const item of inputs as unknown[]) {
      if (item === null || typeof item !== 'object' || Array.isArray(item)) return undefined;
      const { name, shape, datatype, data } = item as Record<string, unknown>;
      const i = this.#claim(typeof name === 'string' ? this.#slotFor(name)?.name : undefined);
      const slot = i === undefined ? undefined : this.#slots[i];
      if (i === undefined || !slot || !Array.isArray(shape) || !Array.isArray(data)) return undefined;
      if (typeof datatype !== 'string' || !(this.#v2Types[i] as readonly string[]).includes(datatype)) return undefined;
      const want = slot.rowShape;
      const fits = want.length === 0
        ? shape.length === 1 || (shape.length === 2 && shape[1] === 1)
        : shape.length === want.length + 1 && want.every((d, k) => d === shape[k + 1]);
      const first: unknown = shape[0];
      if (!fits || !Number.isInteger(first) || (rows !== -1 && first !== rows)) return undefined;
      rows = first as number;
      if (data.length !== rows * slot.width) return undefined;
      order.push(i);
    }
    if (!this.#rowsFit(rows)) return undefined;
    const job = this.#packer.begin(rows);
    for (let k = 0; k < inputs.length; k++) {
      const data = (inputs[k] as { data: unknown[] }).data;
      if (!packFlatValues(data, job.targets[order[k] as number] as PackTarget)) return undefined;
    }
    return { ok: true, batch: job.batch(), format: 'v2' };
  }

  #slotFor(name: string): Slot | undefined {
    const direct = this.#byName.get(name);
    if (direct) return direct;
    // A single unnamed tensor accepts any input name.
    const only = this.#slots[0];
    return this.#slots.length === 1 && only?.name === '' ? only : undefined;
  }

  #describeSlots(): string {
    return this.#slots.map((s) => s.label).join(', ');
  }

  #checkRows(rows: number): ValidationResult | undefined {
    if (rows === 0) return reject(400, 'empty_batch', 'the request holds no rows');
    if (rows > this.#limits.maxRows) {
      return reject(400, 'too_many_rows', `the request holds ${rows} rows; this server takes at most ${this.#limits.maxRows} per request (MAX_ROWS_PER_REQUEST)`);
    }
    return undefined;
  }

  #allocate(rows: number): Map<string, ColumnData> {
    const out = new Map<string, ColumnData>();
    for (const slot of this.#slots) {
      const column = allocateColumn(slot.kind, rows * slot.width);
      if (column.kind === 'number') column.data.fill(NaN);
      out.set(slot.name, column);
    }
    return out;
  }

  #finish(rows: number, columns: Map<string, ColumnData>, problems: Problems, format: InputFormat): ValidationResult {
    if (problems.count > 0) return { ok: false, failure: failure(400, problems.list, problems.count) };
    const inputs: InputColumn[] = this.#slots.map((slot) => ({
      name: slot.name,
      width: slot.width,
      rowShape: slot.rowShape,
      values: columns.get(slot.name) ?? allocateColumn(slot.kind, 0),
    }));
    return { ok: true, batch: { rows, inputs }, format };
  }

  /** Rows given as lists in `columns` order (dataframe_split and CSV). */
  #fromSplit(payload: unknown, format: 'dataframe_split' | 'csv', fromText = false): ValidationResult {
    if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) {
      return reject(400, 'bad_structure', 'dataframe_split must be an object {"columns": [...], "data": [[...], ...]}');
    }
    const { columns, data } = payload as Record<string, unknown>;
    if (!Array.isArray(data)) return reject(400, 'bad_structure', 'dataframe_split.data must be a list of rows');
    const limit = this.#checkRows(data.length);
    if (limit) return limit;
    const problems = new Problems();
    if (this.#tensors) return this.#tensorRowsFromSplit(columns, data, format, fromText);
    if (!Array.isArray(columns) || !columns.every((c) => typeof c === 'string')) {
      return reject(400, 'bad_structure', 'dataframe_split.columns must be a list of column names');
    }
    const order: (Slot | undefined)[] = [];
    const seen = new Set<string>();
    for (const name of columns as string[]) {
      if (seen.has(name)) problems.add({ reason: 'duplicate_column', column: name, message: `column ${JSON.stringify(name)} appears twice` });
      seen.add(name);
      const slot = this.#byName.get(name);
      if (!slot) problems.add({ reason: 'unknown_column', column: name, message: `unknown column ${JSON.stringify(name)}; the model takes ${this.#describeSlots()}` });
      order.push(slot);
    }
    for (const slot of this.#slots) {
      if (slot.required && !seen.has(slot.name)) problems.add({ reason: 'missing_column', column: slot.name, message: `required column ${slot.label} is missing` });
    }
    if (problems.count > 0) return { ok: false, failure: failure(400, problems.list, problems.count) };
    const cols = this.#allocate(data.length);
    const targets = order.map((slot) => (slot ? cols.get(slot.name) : undefined));
    for (let r = 0; r < data.length; r++) {
      const row: unknown = data[r];
      if (!Array.isArray(row)) {
        problems.add({ reason: 'bad_structure', row: r, message: `row ${r} must be a list of ${order.length} values` });
        continue;
      }
      if (row.length !== order.length) {
        problems.add({ reason: 'row_length', row: r, message: `row ${r} has ${row.length} values for ${order.length} columns` });
        continue;
      }
      for (let c = 0; c < order.length; c++) {
        const slot = order[c];
        const target = targets[c];
        if (!slot || !target) continue;
        const v: unknown = row[c];
        // Fast path: a valid number for a numeric column; anything else takes the full check.
        if (target.kind === 'number' && typeof v === 'number' && v >= slot.range.min && v <= slot.range.max && (!slot.range.integer || Number.isInteger(v))) {
          target.data[r] = v;
        } else {
          setCell(slot, target, r, v, r, problems, fromText);
        }
      }
    }
    // Optional columns left out of the request stay NaN / '' (as #allocate filled them).
    return this.#finish(data.length, cols, problems, format);
  }

  #tensorRowsFromSplit(columns: unknown, data: unknown[], format: 'dataframe_split' | 'csv', fromText: boolean): ValidationResult {
    const slot = this.#slots[0];
    if (this.#slots.length !== 1 || !slot || slot.rowShape.length !== 1) {
      return reject(400, 'unsupported_format', `this model takes tensors (${this.#describeSlots()}); send {"inputs": ...} or {"instances": ...}`);
    }
    void columns;
    const problems = new Problems();
    const cols = this.#allocate(data.length);
    const target = cols.get(slot.name);
    data.forEach((row, r) => {
      if (!Array.isArray(row) || row.length !== slot.width) {
        problems.add({ reason: 'row_length', row: r, message: `row ${r} must be a list of ${slot.width} values` });
        return;
      }
      if (target) row.forEach((v, k) => setCell(slot, target, r * slot.width + k, v, r, problems, fromText));
    });
    return this.#finish(data.length, cols, problems, format);
  }

  #fromRecords(payload: unknown, format: 'dataframe_records'): ValidationResult {
    if (this.#tensors) {
      return reject(400, 'unsupported_format', `this model takes tensors (${this.#describeSlots()}); send {"inputs": ...} or {"instances": ...}`);
    }
    if (!Array.isArray(payload)) return reject(400, 'bad_structure', 'dataframe_records must be a list of {"column": value} objects');
    return this.#fromRowObjects(payload, format);
  }

  #fromRowObjects(records: unknown[], format: InputFormat): ValidationResult {
    const limit = this.#checkRows(records.length);
    if (limit) return limit;
    const problems = new Problems();
    const cols = this.#allocate(records.length);
    for (let r = 0; r < records.length; r++) {
      const record: unknown = records[r];
      if (record === null || typeof record !== 'object' || Array.isArray(record)) {
        problems.add({ reason: 'bad_structure', row: r, message: `row ${r} must be an object {"column": value, ...}` });
        continue;
      }
      const obj = record as Record<string, unknown>;
      for (const key in obj) {
        const slot = this.#byName.get(key);
        const target = slot ? cols.get(slot.name) : undefined;
        if (!slot || !target) {
          problems.add({ reason: 'unknown_column', row: r, column: key, message: `row ${r}: unknown column ${JSON.stringify(key)}; the model takes ${this.#describeSlots()}` });
          continue;
        }
        if (slot.width === 1) setCell(slot, target, r, obj[key], r, problems, false);
        else flattenRow(slot, target, r, obj[key], problems);
      }
      for (const slot of this.#slots) {
        if (slot.required && !(slot.name in obj)) {
          problems.add({ reason: 'missing_column', row: r, column: slot.name, message: `row ${r}: required column ${slot.label} is missing` });
        }
      }
    }
    return this.#finish(records.length, cols, problems, format);
  }

  #fromInstances(payload: unknown): ValidationResult {
    if (!Array.isArray(payload)) return reject(400, 'bad_structure', 'instances must be a list of rows');
    const only = this.#slots[0];
    if (this.#tensors && this.#slots.length === 1 && only) {
      return this.#singleTensor(only, payload, 'instances');
    }
    return this.#fromRowObjects(payload, 'instances');
  }

  #fromInputs(payload: unknown): ValidationResult {
    const only = this.#slots[0];
    if (Array.isArray(payload)) {
      if (this.#tensors && this.#slots.length === 1 && only) return this.#singleTensor(only, payload, 'inputs');
      return this.#fromRowObjects(payload, 'inputs');
    }
    if (payload === null || typeof payload !== 'object') {
      return reject(400, 'bad_structure', 'inputs must be an object {"column": [values...]} or a list');
    }
    // Columnar: {"col": [v0, v1, ...]} (every list the same length).
    const obj = payload as Record<string, unknown>;
    const problems = new Problems();
    let rows: number | undefined;
    for (const key of Object.keys(obj)) {
      const slot = this.#slotFor(key);
      const values = obj[key];
      if (!slot) problems.add({ reason: 'unknown_column', column: key, message: `unknown input ${JSON.stringify(key)}; the model takes ${this.#describeSlots()}` });
      else if (!Array.isArray(values)) problems.add({ reason: 'bad_structure', column: key, message: `inputs.${key} must be a list with one entry per row` });
      else if (rows !== undefined && values.length !== rows) problems.add({ reason: 'row_length', column: key, message: `inputs.${key} has ${values.length} rows, other inputs have ${rows}` });
      else rows = values.length;
    }
    for (const slot of this.#slots) {
      if (slot.required && !(slot.name in obj) && !(slot.name === '' && Object.keys(obj).length > 0)) {
        problems.add({ reason: 'missing_column', column: slot.name, message: `required column ${slot.label} is missing` });
      }
    }
    if (problems.count > 0) return { ok: false, failure: failure(400, problems.list, problems.count) };
    const limit = this.#checkRows(rows ?? 0);
    if (limit) return limit;
    const n = rows ?? 0;
    const cols = this.#allocate(n);
    for (const key of Object.keys(obj)) {
      const slot = this.#slotFor(key);
      const target = slot ? cols.get(slot.name) : undefined;
      const values = obj[key] as unknown[];
      if (!slot || !target) continue;
      for (let r = 0; r < n; r++) {
        if (slot.width === 1) setCell(slot, target, r, values[r], r, problems, false);
        else flattenRow(slot, target, r, values[r], problems);
      }
    }
    return this.#finish(n, cols, problems, 'inputs');
  }

  #singleTensor(slot: Slot, rowsIn: unknown[], format: InputFormat): ValidationResult {
    const limit = this.#checkRows(rowsIn.length);
    if (limit) return limit;
    const problems = new Problems();
    const cols = this.#allocate(rowsIn.length);
    const target = cols.get(slot.name);
    if (target) rowsIn.forEach((row, r) => flattenRow(slot, target, r, row, problems));
    return this.#finish(rowsIn.length, cols, problems, format);
  }

  #fromCsv(body: string): ValidationResult {
    const parsed = parseCsv(body);
    if (!parsed.ok) return reject(400, 'malformed_csv', parsed.message);
    const [header, ...data] = parsed.rows;
    if (!header) return reject(400, 'malformed_csv', 'the CSV body is empty; send a header row with column names, then one line per row');
    return this.#fromSplit({ columns: header, data }, 'csv', true);
  }
}

/** One-shot form of `new RequestValidator(signature, limits).validateScoring(...)`. */
export function validateScoringRequest(
  signature: Signature,
  request: { readonly contentType: string | undefined; readonly body: string },
  limits: RequestLimits,
): ValidationResult {
  return new RequestValidator(signature, limits).validateScoring(request.contentType, request.body);
}

function columnSlot(spec: ColumnSpec): Slot {
  const name = spec.name ?? '';
  const kind = spec.type === 'boolean' ? 'boolean' : ['string', 'datetime', 'binary'].includes(spec.type) ? 'string' : 'number';
  return { name, label: `${JSON.stringify(name)} (${spec.type})`, required: spec.required, cell: { scalar: spec.type }, type: spec.type, kind, rowShape: [], width: 1, range: numericRange(spec.type) };
}

function tensorSlot(spec: TensorSpec): Slot {
  const name = spec.name ?? '';
  const rowShape = spec.shape.slice(1);
  const kind = spec.dtype === 'bool' ? 'boolean' : spec.dtype === 'str' || spec.dtype === 'object' ? 'string' : 'number';
  return {
    name,
    label: `${name === '' ? 'tensor' : JSON.stringify(name)} (${spec.dtype}, shape [${spec.shape.join(', ')}])`,
    required: true,
    cell: { dtype: spec.dtype },
    type: spec.dtype,
    kind,
    rowShape,
    width: rowShape.reduce((a, b) => a * Math.max(b, 1), 1),
    range: numericRange(spec.dtype),
  };
}

/** Writes one row of a tensor slot from a nested list shaped like rowShape. */
function flattenRow(slot: Slot, target: ColumnData, row: number, value: unknown, problems: Problems): void {
  // Fast path for the common [N, k] numeric tensor: copy straight into the column, no intermediate list.
  if (target.kind === 'number' && slot.rowShape.length === 1 && Array.isArray(value) && value.length === slot.width) {
    const range = slot.range;
    const base = row * slot.width;
    for (let k = 0; k < value.length; k++) {
      const v: unknown = value[k];
      if (typeof v === 'number' && v >= range.min && v <= range.max && (!range.integer || Number.isInteger(v))) target.data[base + k] = v;
      else setCell(slot, target, base + k, v, row, problems, false);
    }
    return;
  }
  const flat: unknown[] = [];
  if (!collect(value, slot.rowShape, 0, flat)) {
    problems.add({ reason: 'bad_shape', row, column: slot.name || undefined, message: `row ${row}: ${slot.label} needs a row of shape [${slot.rowShape.join(', ')}]` });
    return;
  }
  flat.forEach((v, k) => setCell(slot, target, row * slot.width + k, v, row, problems, false));
}

function collect(value: unknown, shape: readonly number[], depth: number, out: unknown[]): boolean {
  if (depth === shape.length) {
    if (Array.isArray(value)) return false;
    out.push(value);
    return true;
  }
  const dim = shape[depth] ?? 0;
  if (!Array.isArray(value) || (dim !== -1 && value.length !== dim)) return false;
  return value.every((v) => collect(v, shape, depth + 1, out));
}

/**
 * Checks one value against its declared type and stores it. `fromText` marks CSV cells, which arrive
 * as text and are converted by the column type first.
 */
function setCell(slot: Slot, target: ColumnData, index: number, raw: unknown, row: number, problems: Problems, fromText: boolean): void {
  const column = slot.name === '' ? undefined : slot.name;
  const type = 'scalar' in slot.cell ? slot.cell.scalar : slot.cell.dtype;
  let value = raw;
  if (fromText && typeof raw === 'string') value = fromCsvText(raw, target.kind);
  if (value === null || value === undefined) {
    if (!slot.required && target.kind !== 'boolean' && !isIntegerType(type)) return; // stays NaN / ''
    problems.add({ reason: 'null_value', row, column, message: slot.required
      ? `row ${row}: ${slot.label} is required but the value is null`
      : `row ${row}: ${slot.label} is optional but an ONNX ${type} input has no missing value; send a value` });
    return;
  }
  if (target.kind === 'number') {
    if (typeof value !== 'number') {
      if (typeof value === 'string' && NON_FINITE_TEXT.test(value.trim())) {
        problems.add({ reason: 'non_finite', row, column, message: `row ${row}: ${slot.label} is ${JSON.stringify(value)}; only finite numbers are allowed` });
      } else {
        problems.add({ reason: 'wrong_type', row, column, message: `row ${row}: ${slot.label} needs a number, got ${kindOf(value)}` });
      }
      return;
    }
    if (!Number.isFinite(value)) {
      problems.add({ reason: 'non_finite', row, column, message: `row ${row}: ${slot.label} is ${value}; only finite numbers are allowed` });
      return;
    }
    const range = slot.range;
    if (range.integer && !Number.isInteger(value)) {
      problems.add({ reason: 'not_integer', row, column, message: `row ${row}: ${slot.label} needs a whole number, got ${value}` });
      return;
    }
    if (value < range.min || value > range.max) {
      problems.add({ reason: 'out_of_range', row, column, message: `row ${row}: ${slot.label} is ${value}, outside ${type}'s range [${range.min}, ${range.max}]` });
      return;
    }
    target.data[index] = value;
    return;
  }
  if (target.kind === 'boolean') {
    if (typeof value !== 'boolean') {
      problems.add({ reason: 'wrong_type', row, column, message: `row ${row}: ${slot.label} needs true or false, got ${kindOf(value)}` });
      return;
    }
    target.data[index] = value ? 1 : 0;
    return;
  }
  if (typeof value !== 'string') {
    problems.add({ reason: 'wrong_type', row, column, message: `row ${row}: ${slot.label} needs a string, got ${kindOf(value)}` });
    return;
  }
  if (type === 'datetime' && Number.isNaN(Date.parse(value))) {
    problems.add({ reason: 'bad_datetime', row, column, message: `row ${row}: ${slot.label} needs an ISO 8601 date-time like "2026-01-15T09:00:00Z", got ${JSON.stringify(value.slice(0, 40))}` });
    return;
  }
  if (type === 'binary' && !BASE64.test(value)) {
    problems.add({ reason: 'bad_base64', row, column, message: `row ${row}: ${slot.label} needs base64 text` });
    return;
  }
  target.data[index] = type === 'datetime' ? new Date(value).toISOString() : value;
}

function fromCsvText(text: string, kind: ColumnData['kind']): unknown {
  if (kind === 'string') return text;
  const t = text.trim();
  if (t === '') return null;
  if (kind === 'boolean') {
    if (/^(true|1)$/i.test(t)) return true;
    if (/^(false|0)$/i.test(t)) return false;
    return t;
  }
  return NUMBER_TEXT.test(t) ? Number(t) : t;
}

function isIntegerType(type: string): boolean {
  return type === 'integer' || type === 'long' || /^u?int\d+$/.test(type);
}

function numericRange(type: string): { integer: boolean; min: number; max: number } {
  switch (type) {
    case 'integer': case 'int32': return { integer: true, min: INT32_MIN, max: INT32_MAX };
    case 'long': case 'int64': case 'uint64': return { integer: true, min: type === 'uint64' ? 0 : Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER };
    case 'int8': return { integer: true, min: -128, max: 127 };
    case 'int16': return { integer: true, min: -32768, max: 32767 };
    case 'uint8': return { integer: true, min: 0, max: 255 };
    case 'uint16': return { integer: true, min: 0, max: 65535 };
    case 'uint32': return { integer: true, min: 0, max: 4294967295 };
    case 'float': case 'float32': return { integer: false, min: -FLOAT32_MAX, max: FLOAT32_MAX };
    case 'float16': return { integer: false, min: -65504, max: 65504 };
    default: return { integer: false, min: -Number.MAX_VALUE, max: Number.MAX_VALUE };
  }
}

/** Open Inference Protocol datatypes a slot accepts. */
function v2Datatypes(cell: CellKind): string[] {
  const type = 'scalar' in cell ? cell.scalar : cell.dtype;
  switch (type) {
    case 'double': case 'float64': case 'float': case 'float32': case 'float16': return ['FP64', 'FP32', 'FP16'];
    case 'integer': case 'long': case 'int8': case 'int16': case 'int32': case 'int64': return ['INT64', 'INT32', 'INT16', 'INT8'];
    case 'uint8': case 'uint16': case 'uint32': case 'uint64': return ['UINT64', 'UINT32', 'UINT16', 'UINT8'];
    case 'boolean': case 'bool': return ['BOOL'];
    default: return ['BYTES'];
  }
}

export function mediaType(contentType: string | undefined): string | undefined {
  if (contentType === undefined) return undefined;
  const media = contentType.split(';', 1)[0]?.trim().toLowerCase();
  return media === '' ? undefined : media;
}

function parseJson(body: string): { ok: true; value: unknown } | { ok: false; result: ValidationResult } {
  if (body.trim() === '') return { ok: false, result: reject(400, 'malformed_json', 'the body is empty; send a JSON object') };
  try {
    return { ok: true, value: JSON.parse(body) };
  } catch (err) {
    return { ok: false, result: reject(400, 'malformed_json', `the body is not valid JSON: ${(err as Error).message}`) };
  }
}

function isEmptyParams(params: unknown): boolean {
  return params === null || (typeof params === 'object' && !Array.isArray(params) && Object.keys(params).length === 0);
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 30 ? `${value.slice(0, 30)}…` : value)}`;
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${String(value)}`;
}

/** RFC 4180 CSV: quoted fields may hold commas, quotes ("") and line breaks. */
export function parseCsv(text: string): { ok: true; rows: string[][] } | { ok: false; message: string } {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  let line = 1;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') { field += '"'; i++; } else quoted = false;
      } else {
        if (ch === '\n') line++;
        field += ch;
      }
      continue;
    }
    if (ch === '"') {
      if (field !== '') return { ok: false, message: `line ${line}: a quote inside an unquoted field; quote the whole field` };
      quoted = true;
    } else if (ch === ',') {
      row.push(field); field = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      row.push(field); field = '';
      if (!(row.length === 1 && row[0] === '')) rows.push(row);
      row = [];
      line++;
    } else {
      field += ch;
    }
  }
  if (quoted) return { ok: false, message: `line ${line}: a quoted field is not closed` };
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return { ok: true, rows };
}
