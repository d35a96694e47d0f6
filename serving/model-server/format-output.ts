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

/**
 * The MLflow answer as JSON text, `{"predictions":[...]}`, byte for byte what
 * `JSON.stringify({predictions: formatPredictions(slice)})` gives. For the usual single output of one
 * number a row, the numbers are written straight from the output tensor: no array of boxed values,
 * no generic serializer walk (a third of the cost of answering a 1,000-row request otherwise).
 */
export function predictionsJson(slice: ResultSlice): string {
  const [single] = slice.outputs;
  if (slice.outputs.length === 1 && single && single.dims.length <= 2 && (single.dims[1] ?? 1) === 1 && isPlainNumberArray(single.data)) {
    return `{"predictions":${numbersJson(single.data, slice.offset, slice.rows)}}`;
  }
  return `{"predictions":${JSON.stringify(formatPredictions(slice))}}`;
}

/**
 * The Open Inference Protocol answer as JSON text: the same bytes as JSON.stringify of
 * {model_name, model_version, id?, outputs: formatV2Outputs(slice)}, numeric outputs written directly.
 */
export function v2ResponseJson(slice: ResultSlice, head: { readonly modelName: string; readonly modelVersion: string; readonly id?: string | undefined }): string {
  const outputs = slice.outputs.map((t) => {
    const rest = t.dims.slice(1);
    const width = rest.reduce((a, b) => a * b, 1);
    const data = isPlainNumberArray(t.data)
      ? numbersJson(t.data, slice.offset * width, slice.rows * width)
      : JSON.stringify(formatV2Outputs({ outputs: [t], offset: slice.offset, rows: slice.rows })[0]?.data ?? []);
    return `{"name":${JSON.stringify(t.name)},"datatype":${JSON.stringify(v2Datatype(t.type))},"shape":${JSON.stringify([slice.rows, ...rest])},"data":${data}}`;
  });
  const id = typeof head.id === 'string' ? `"id":${JSON.stringify(head.id)},` : '';
  return `{"model_name":${JSON.stringify(head.modelName)},"model_version":${JSON.stringify(head.modelVersion)},${id}"outputs":[${outputs.join(',')}]}`;
}

type PlainNumberArray = Float32Array | Float64Array | Int32Array | Int16Array | Int8Array | Uint8Array | Uint16Array | Uint32Array;

/** A typed array of plain numbers (not BigInt64Array/BigUint64Array, whose values JSON cannot hold as is). */
function isPlainNumberArray(data: OutputTensor['data']): data is PlainNumberArray {
  return ArrayBuffer.isView(data) && !(data instanceof BigInt64Array || data instanceof BigUint64Array);
}

/**
 * `[v0,v1,...]` for `count` values from `start`: String(v) is what JSON.stringify writes for a finite
 * number, and a non-finite one becomes null as `plain` makes it.
 */
function numbersJson(data: PlainNumberArray, start: number, count: number): string {
  let text = '[';
  for (let i = 0; i < count; i++) {
    const v = data[start + i] as number;
    text += (i === 0 ? '' : ',') + (Number.isFinite(v) ? String(v) : 'null');
  }
  return `${text}]`;
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
