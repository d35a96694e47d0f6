import {
  allocateFeedArray,
  type ColumnData, type FeedArray, type FeedLayout, type InputColumn, type RowBatch,
} from './row-batch.js';

/**
 * The one-pass reader for clean requests: every value gets exactly the checks of its declared type and
 * is written straight into its final array (the graph's feed when the runtime's layout is known, else
 * its column), with no intermediate lists and no problem bookkeeping. It gives up at the first value or
 * row that is not clean; the validator then runs its full check, which names every problem. So a good
 * request costs one pass, and a bad one gets exactly the same answer it always got.
 */

/** What the reader needs of a validator slot (a column or tensor of the signature). */
export interface PackableSlot {
  readonly name: string;
  readonly kind: ColumnData['kind'];
  /** The declared type: an MLflow column type or a numpy dtype. */
  readonly type: string;
  readonly width: number;
  readonly rowShape: readonly number[];
  readonly range: { readonly integer: boolean; readonly min: number; readonly max: number };
}

/**
 * Where one slot's values go and which values are clean: numbers within [min, max] (NaN and the
 * infinities fail both comparisons), whole when `integer`; strings and booleans by type only.
 */
export interface PackTarget {
  readonly kind: 'number' | 'bigint' | 'string' | 'boolean';
  readonly array: FeedArray;
  /** Elements between the starts of two rows, and the slot's first element within a row. */
  readonly stride: number;
  readonly offset: number;
  readonly width: number;
  readonly min: number;
  readonly max: number;
  readonly integer: boolean;
}

/** A request being read: one target per slot, in signature order. */
export interface PackJob {
  readonly targets: readonly PackTarget[];
  /** The filled arrays as a batch (call once every value of every slot is written). */
  batch(): RowBatch;
}

/** Per slot: the checks, and where it lives in the layout's feeds (when there is a layout). */
interface SlotPlan {
  readonly slot: PackableSlot;
  readonly kind: PackTarget['kind'];
  readonly feed: number;
  readonly stride: number;
  readonly offset: number;
}

/** The values a numeric slot accepts (see PackTarget). */
interface NumberRange {
  readonly min: number;
  readonly max: number;
  readonly integer: boolean;
}

export class RowPacker {
  readonly #plans: readonly SlotPlan[];
  readonly #layout: FeedLayout | undefined;
  /** True when every slot holds numbers stored as numbers: the reader's tightest loop applies. */
  readonly allNumbers: boolean;
  /**
   * Set when the slots, in signature order, are exactly the columns of the graph's one [N, k] numeric
   * input and all accept the same values (the usual tabular model): see packMatrixRows.
   */
  readonly #matrix: NumberRange | undefined;

  private constructor(plans: readonly SlotPlan[], layout: FeedLayout | undefined) {
    this.#plans = plans;
    this.#layout = layout;
    this.allNumbers = plans.every((p) => p.kind === 'number');
    const first = plans[0]?.slot.range;
    const k = plans.length;
    const spec = layout?.feeds.length === 1 ? layout.feeds[0] : undefined;
    const fills = spec !== undefined && spec.width === k && first !== undefined && plans.every((p, i) => p.kind === 'number'
      && p.feed === 0 && p.stride === k && p.offset === i && p.slot.width === 1
      && p.slot.range.min === first.min && p.slot.range.max === first.max && p.slot.range.integer === first.integer);
    this.#matrix = fills ? first : undefined;
  }

  /** True when packMatrixRows applies to this signature. */
  get packsMatrix(): boolean {
    return this.#matrix !== undefined;
  }

  /**
   * Rows of the signature's columns in signature order, read straight into a fresh [N, k] feed: what
   * begin() + packSplitRows do for this case, without building a target per slot for every request.
   * Undefined when packsMatrix is false or a row or value is not clean.
   */
  packMatrixRows(data: readonly unknown[]): RowBatch | undefined {
    const range = this.#matrix;
    const layout = this.#layout;
    const spec = layout?.feeds[0];
    if (!range || !layout || !spec) return undefined;
    const out = allocateFeedArray(spec.type, data.length * spec.width);
    if (!packNumberMatrix(data, out as Float64Array, spec.width, range)) return undefined;
    return { rows: data.length, layout, feeds: [out] };
  }

  /**
   * A packer for these slots, or undefined when some slot always needs the full check: datetime and
   * binary columns (parsed, not only typed), tensors with a free (-1) inner dimension, or a slot that
   * the layout does not place.
   */
  static for(slots: readonly PackableSlot[], layout?: FeedLayout): RowPacker | undefined {
    const plans: SlotPlan[] = [];
    for (const slot of slots) {
      if (slot.type === 'datetime' || slot.type === 'binary' || slot.rowShape.includes(-1)) return undefined;
      if (!layout) {
        plans.push({ slot, kind: slot.kind, feed: -1, stride: slot.width, offset: 0 });
        continue;
      }
      const place = layout.slots.get(slot.name);
      const spec = place ? layout.feeds[place.feed] : undefined;
      if (!place || !spec) return undefined;
      const bigint = spec.type === 'int64' || spec.type === 'uint64';
      if (slot.kind === 'string' && spec.type !== 'string') return undefined;
      if (slot.kind === 'boolean' && spec.type !== 'bool') return undefined;
      plans.push({ slot, kind: slot.kind === 'number' && bigint ? 'bigint' : slot.kind, feed: place.feed, stride: place.stride, offset: place.offset });
    }
    return new RowPacker(plans, layout);
  }

  /** Fresh arrays for `rows` rows, at their final size. */
  begin(rows: number): PackJob {
    const layout = this.#layout;
    if (layout) {
      const feeds = layout.feeds.map((spec) => allocateFeedArray(spec.type, rows * spec.width));
      const targets = this.#plans.map((p) => target(p, feeds[p.feed] as FeedArray));
      return { targets, batch: () => ({ rows, layout, feeds }) };
    }
    const columns = this.#plans.map((p): ColumnData => {
      const size = rows * p.slot.width;
      if (p.kind === 'string') return { kind: 'string', data: new Array<string>(size) };
      if (p.kind === 'boolean') return { kind: 'boolean', data: new Uint8Array(size) };
      return { kind: 'number', data: new Float64Array(size) };
    });
    const targets = this.#plans.map((p, i) => target(p, (columns[i] as ColumnData).data));
    return {
      targets,
      batch: () => ({
        rows,
        inputs: this.#plans.map((p, i): InputColumn => ({ name: p.slot.name, width: p.slot.width, rowShape: p.slot.rowShape, values: columns[i] as ColumnData })),
      }),
    };
  }
}

function target(plan: SlotPlan, array: FeedArray): PackTarget {
  const { range, width } = plan.slot;
  return { kind: plan.kind, array, stride: plan.stride, offset: plan.offset, width, min: range.min, max: range.max, integer: range.integer };
}

/** Checks one value and stores it at `index`; false when it is not clean. */
function store(t: PackTarget, index: number, v: unknown): boolean {
  switch (t.kind) {
    case 'number':
      if (typeof v !== 'number' || !(v >= t.min && v <= t.max) || (t.integer && !Number.isInteger(v))) return false;
      (t.array as Float64Array)[index] = v;
      return true;
    case 'bigint':
      if (typeof v !== 'number' || !(v >= t.min && v <= t.max) || (t.integer && !Number.isInteger(v))) return false;
      (t.array as BigInt64Array)[index] = BigInt(Math.trunc(v));
      return true;
    case 'string':
      if (typeof v !== 'string') return false;
      (t.array as string[])[index] = v;
      return true;
    case 'boolean':
      if (typeof v !== 'boolean') return false;
      (t.array as Uint8Array)[index] = v ? 1 : 0;
      return true;
  }
}

/**
 * dataframe_split rows: `targets[c]` is the slot of column c (columns in the request's order, each
 * slot once). `allNumbers` selects the tight loop for all-numeric signatures.
 */
export function packSplitRows(data: readonly unknown[], targets: readonly PackTarget[], allNumbers: boolean): boolean {
  const m = targets.length;
  const n = data.length;
  if (allNumbers && isRowMajorMatrix(targets)) {
    const first = targets[0] as PackTarget;
    return packNumberMatrix(data, first.array as Float64Array, m, first);
  }
  if (allNumbers) {
    for (let r = 0; r < n; r++) {
      const row: unknown = data[r];
      if (!Array.isArray(row) || row.length !== m) return false;
      for (let c = 0; c < m; c++) {
        const t = targets[c] as PackTarget;
        const v: unknown = row[c];
        if (typeof v !== 'number' || !(v >= t.min && v <= t.max) || (t.integer && !Number.isInteger(v))) return false;
        (t.array as Float64Array)[r * t.stride + t.offset] = v;
      }
    }
    return true;
  }
  for (let r = 0; r < n; r++) {
    const row: unknown = data[r];
    if (!Array.isArray(row) || row.length !== m) return false;
    for (let c = 0; c < m; c++) {
      const t = targets[c] as PackTarget;
      if (!store(t, r * t.stride + t.offset, row[c])) return false;
    }
  }
  return true;
}

/**
 * The common case: numeric columns sent in signature order into one [N, m] matrix of one numeric type.
 * Exactly the lean loop: one check per value and a running index, nothing looked up per value.
 */
function packNumberMatrix(data: readonly unknown[], out: Float64Array, m: number, range: NumberRange): boolean {
  const { min, max, integer } = range;
  const n = data.length;
  for (let r = 0, at = 0; r < n; r++) {
    const row: unknown = data[r];
    if (!Array.isArray(row) || row.length !== m) return false;
    for (let c = 0; c < m; c++, at++) {
      const v: unknown = row[c];
      if (typeof v !== 'number' || !(v >= min && v <= max) || (integer && !Number.isInteger(v))) return false;
      out[at] = v;
    }
  }
  return true;
}

/** Every column lands in one array, row-major in the given order, and all take the same values. */
function isRowMajorMatrix(targets: readonly PackTarget[]): boolean {
  const first = targets[0];
  if (!first) return false;
  for (let c = 0; c < targets.length; c++) {
    const t = targets[c] as PackTarget;
    if (t.array !== first.array || t.stride !== targets.length || t.offset !== c || t.width !== 1
      || t.min !== first.min || t.max !== first.max || t.integer !== first.integer) return false;
  }
  return true;
}

/** Rows of one tensor of row shape [width] ({"inputs": [[...], ...]} and {"instances": [[...], ...]}). */
export function packTensorRows(rows: readonly unknown[], t: PackTarget): boolean {
  const { width, stride, offset, min, max, integer } = t;
  const n = rows.length;
  const numbers = t.kind === 'number';
  const out = t.array as Float64Array;
  for (let r = 0; r < n; r++) {
    const row: unknown = rows[r];
    if (!Array.isArray(row) || row.length !== width) return false;
    const base = r * stride + offset;
    if (numbers) {
      for (let k = 0; k < width; k++) {
        const v: unknown = row[k];
        if (typeof v !== 'number' || !(v >= min && v <= max) || (integer && !Number.isInteger(v))) return false;
        out[base + k] = v;
      }
    } else {
      for (let k = 0; k < width; k++) if (!store(t, base + k, row[k])) return false;
    }
  }
  return true;
}

/** Flat row-major values of one slot (an Open Inference Protocol input's `data`). */
export function packFlatValues(values: readonly unknown[], t: PackTarget): boolean {
  const { width, min, max, integer } = t;
  if (t.stride === width && t.offset === 0 && t.kind === 'number') {
    const out = t.array as Float64Array;
    for (let i = 0; i < values.length; i++) {
      const v: unknown = values[i];
      if (typeof v !== 'number' || !(v >= min && v <= max) || (integer && !Number.isInteger(v))) return false;
      out[i] = v;
    }
    return true;
  }
  for (let i = 0, r = 0, k = 0; i < values.length; i++) {
    if (!store(t, r * t.stride + t.offset + k, values[i])) return false;
    if (++k === width) {
      k = 0;
      r++;
    }
  }
  return true;
}

/** One column's values, one per row ({"inputs": {"column": [...]}}); only for slots of width 1. */
export function packColumnValues(values: readonly unknown[], t: PackTarget): boolean {
  if (t.width !== 1) return false;
  for (let r = 0; r < values.length; r++) if (!store(t, r * t.stride + t.offset, values[r])) return false;
  return true;
}

/**
 * Row objects ({"dataframe_records": [{"column": value, ...}]}): clean when every record holds each
 * slot exactly once, all of width 1. `indexByName` maps a column name to its slot (and target) index.
 */
export function packRecords(records: readonly unknown[], indexByName: ReadonlyMap<string, number>, targets: readonly PackTarget[]): boolean {
  const m = targets.length;
  for (let r = 0; r < records.length; r++) {
    const record: unknown = records[r];
    if (record === null || typeof record !== 'object' || Array.isArray(record)) return false;
    let seen = 0;
    for (const key in record) {
      const i = indexByName.get(key);
      const t = i === undefined ? undefined : targets[i];
      if (!t || t.width !== 1 || !store(t, r * t.stride + t.offset, (record as Record<string, unknown>)[key])) return false;
      seen++;
    }
    if (seen !== m) return false;
  }
  return true;
}
