import type { ResultSlice } from './adaptive-batcher.js';
import type { OutputTensor } from './onnx-runtime.js';

/**
 * MLflow's `{"predictions": [...]}`: one entry per request row. With one output, the entry is the row's
 * value (a number when the output has one value a row, else a nested list); with several outputs it is
 * an object keyed by output name.
 */
export function formatPredictions(slice: ResultSlice): unknown[] {
  const out: unknown[] = new Array<unknown>(slice.rows);
  const [single] = slice.outputs;
  if (slice.outputs.length === 1 && single) {
    if (single.dims.length <= 2 && (single.dims[1] ?? 1) === 1) {
      // One value a row (the usual probability output): no per-row shape work.
      for (let r = 0; r < slice.rows; r++) out[r] = plain(single.data[slice.offset + r]);
      return out;
    }
    for (let r = 0; r < slice.rows; r++) out[r] = rowValue(single, slice.offset + r);
    return out;
  }
  for (let r = 0; r < slice.rows; r++) {
    const row: Record<string, unknown> = {};
    for (const t of slice.outputs) row[t.name] = rowValue(t, slice.offset + r);
    out[r] = row;
  }
  return out;
}

/** Open Inference Protocol v2 outputs: flat row-major data with the shape of this request's rows. */
export function formatV2Outputs(slice: ResultSlice): { name: string; datatype: string; shape: number[]; data: unknown[] }[] {
  return slice.outputs.map((t) => {
    const rest = t.dims.slice(1);
    const width = rest.reduce((a, b) => a * b, 1);
    const data: unknown[] = new Array<unknown>(slice.rows * width);
    const start = slice.offset * width;
    for (let i = 0; i < data.length; i++) data[i] = plain(t.data[start + i]);
    return { name: t.name, datatype: v2Datatype(t.type), shape: [slice.rows, ...rest], data };
  });
}

function rowValue(t: OutputTensor, row: number): unknown {
  const rest = t.dims.slice(1);
  const width = rest.reduce((a, b) => a * b, 1);
  if (width === 1) return plain(t.data[row * width]);
  const flat: unknown[] = [];
  for (let i = 0; i < width; i++) flat.push(plain(t.data[row * width + i]));
  return nest(flat, rest);
}

function nest(flat: unknown[], dims: readonly number[]): unknown {
  if (dims.length <= 1) return flat;
  const [, ...inner] = dims;
  const size = inner.reduce((a, b) => a * b, 1);
  const out: unknown[] = [];
  for (let i = 0; i < flat.length; i += size) out.push(nest(flat.slice(i, i + size), inner));
  return out;
}

function plain(value: number | bigint | string | boolean | undefined): unknown {
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'number' && !Number.isFinite(value)) return null;
  return value ?? null;
}

export function v2Datatype(ortType: string): string {
  switch (ortType) {
    case 'float32': return 'FP32';
    case 'float64': return 'FP64';
    case 'float16': return 'FP16';
    case 'int8': return 'INT8';
    case 'int16': return 'INT16';
    case 'int32': return 'INT32';
    case 'int64': return 'INT64';
    case 'uint8': return 'UINT8';
    case 'uint16': return 'UINT16';
    case 'uint32': return 'UINT32';
    case 'uint64': return 'UINT64';
    case 'bool': return 'BOOL';
    default: return 'BYTES';
  }
}
