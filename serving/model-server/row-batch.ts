/**
 * Validated input rows, in one of two forms:
 * - column form (`inputs`): one array per signature column or tensor, numbers as float64 whatever the
 *   declared type, missing optional numbers NaN. The runtime converts them into its feeds. Any validator
 *   can produce it, with or without a loaded model.
 * - feed form (`feeds`): the graph's own input arrays, already in their element types and row layout
 *   (e.g. one row-major float64 [N, 5] matrix for five numeric columns). A validator given the runtime's
 *   FeedLayout writes a clean request straight into these, so that a request scored alone is handed to
 *   onnxruntime without another copy.
 */
export type ColumnData =
  | { readonly kind: 'number'; readonly data: Float64Array }
  | { readonly kind: 'string'; readonly data: string[] }
  | { readonly kind: 'boolean'; readonly data: Uint8Array };

export interface InputColumn {
  /** Column name, tensor name, or '' for the single unnamed tensor of a tensor signature. */
  readonly name: string;
  /** Elements per row: 1 for a column, the product of the non-batch dimensions for a tensor. */
  readonly width: number;
  /** Shape of one row ([] for a column, e.g. [64] for a [-1, 64] tensor). */
  readonly rowShape: readonly number[];
  readonly values: ColumnData;
}

export interface ColumnBatch {
  readonly rows: number;
  readonly inputs: readonly InputColumn[];
  readonly feeds?: undefined;
}

/** Rows already in the graph's feeds: `feeds[i]` holds rows × layout.feeds[i].width elements. */
export interface FeedBatch {
  readonly rows: number;
  readonly layout: FeedLayout;
  readonly feeds: readonly FeedArray[];
  readonly inputs?: undefined;
}

export type RowBatch = ColumnBatch | FeedBatch;

/** What onnxruntime-node takes as tensor data. */
export type NumberArray = Float32Array | Float64Array | Int32Array | Int16Array | Int8Array | Uint8Array | Uint16Array | Uint32Array | BigInt64Array | BigUint64Array;
export type FeedArray = NumberArray | string[];

/** One graph input as the runtime feeds it. */
export interface FeedSpec {
  /** The graph input's name. */
  readonly name: string;
  /** onnxruntime element type: float32, float64, int64, string, bool, ... */
  readonly type: string;
  /** Elements per row. */
  readonly width: number;
  /** Tensor dimensions after the batch dimension ([] for a rank-1 [N] input). */
  readonly rowDims: readonly number[];
}

/** Where one signature input (column or tensor) lives in the feeds: feeds[feed][row * stride + offset + k]. */
export interface SlotPlacement {
  readonly feed: number;
  readonly stride: number;
  readonly offset: number;
}

/** How a model's validated rows map onto its graph's inputs; built once when the model loads. */
export interface FeedLayout {
  readonly feeds: readonly FeedSpec[];
  /** By signature input name ('' for a single unnamed tensor). */
  readonly slots: ReadonlyMap<string, SlotPlacement>;
}

export function allocateColumn(kind: ColumnData['kind'], size: number): ColumnData {
  if (kind === 'number') return { kind, data: new Float64Array(size) };
  if (kind === 'boolean') return { kind, data: new Uint8Array(size) };
  return { kind, data: new Array<string>(size).fill('') };
}

/** A zeroed array of an onnxruntime element type (strings: empty strings; bool: Uint8Array). */
export function allocateFeedArray(type: string, size: number): FeedArray {
  switch (type) {
    case 'float64': return new Float64Array(size);
    case 'float32': return new Float32Array(size);
    case 'int32': return new Int32Array(size);
    case 'int16': return new Int16Array(size);
    case 'int8': return new Int8Array(size);
    case 'uint8': case 'bool': return new Uint8Array(size);
    case 'uint16': return new Uint16Array(size);
    case 'uint32': return new Uint32Array(size);
    case 'int64': return new BigInt64Array(size);
    case 'uint64': return new BigUint64Array(size);
    case 'string': return new Array<string>(size).fill('');
    default: return new Float32Array(size);
  }
}

export function isBigIntArray(array: FeedArray): array is BigInt64Array | BigUint64Array {
  return array instanceof BigInt64Array || array instanceof BigUint64Array;
}
