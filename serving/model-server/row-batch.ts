/**
 * Validated input rows, stored column by column so that building one ONNX tensor from several
 * requests is a plain typed-array copy. Numbers are float64 whatever the declared type (the binder converts them to
 * the ONNX input's element type); missing optional numbers are NaN.
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

export interface RowBatch {
  readonly rows: number;
  readonly inputs: readonly InputColumn[];
}

export function allocateColumn(kind: ColumnData['kind'], size: number): ColumnData {
  if (kind === 'number') return { kind, data: new Float64Array(size) };
  if (kind === 'boolean') return { kind, data: new Uint8Array(size) };
  return { kind, data: new Array<string>(size).fill('') };
}
