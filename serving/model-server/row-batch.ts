/**
 * Validated input rows, stored column by column so that merging requests and building ONNX tensors
 * are plain array copies. Numbers are float64 whatever the declared type (the binder converts them to
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

/** Concatenates batches that share one signature (same inputs in the same order). */
export function mergeBatches(batches: readonly RowBatch[]): RowBatch {
  const first = batches[0];
  if (!first) return { rows: 0, inputs: [] };
  if (batches.length === 1) return first;
  const rows = batches.reduce((n, b) => n + b.rows, 0);
  const inputs = first.inputs.map((input, i): InputColumn => {
    const values = allocateColumn(input.values.kind, rows * input.width);
    let offset = 0;
    for (const batch of batches) {
      const part = batch.inputs[i]?.values;
      if (!part) continue;
      if (values.kind === 'string') {
        const src = part.data as string[];
        for (let j = 0; j < src.length; j++) values.data[offset + j] = src[j] ?? '';
      } else {
        (values.data as Float64Array | Uint8Array).set(part.data as Float64Array & Uint8Array, offset);
      }
      offset += part.data.length;
    }
    return { ...input, values };
  });
  return { rows, inputs };
}
