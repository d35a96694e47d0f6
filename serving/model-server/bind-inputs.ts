import type { Signature } from '../mlflow/signature.js';
import type { ColumnData, RowBatch } from './row-batch.js';

/** What the ONNX graph declares for one input or output (onnxruntime's ValueMetadata, reduced). */
export interface GraphValue {
  readonly name: string;
  /** onnxruntime tensor type: float32, float64, int64, int32, string, bool, ... */
  readonly type: string;
  /** Dimensions; strings and -1 are symbolic (the batch dimension). */
  readonly shape: readonly (number | string)[];
}

/** How request inputs become ONNX feeds. */
export type InputBinding =
  /** One graph input per signature column or tensor, matched by name. */
  | { readonly kind: 'by-name'; readonly feeds: readonly { readonly input: string; readonly graph: GraphValue; readonly rank: number }[] }
  /** One [N, k] graph input fed with the k numeric columns in signature order. */
  | { readonly kind: 'matrix'; readonly graph: GraphValue; readonly columns: readonly string[] };

const NUMERIC_TYPES = new Set(['float32', 'float64', 'float16', 'int8', 'int16', 'int32', 'int64', 'uint8', 'uint16', 'uint32', 'uint64']);

/**
 * Matches the signature against the graph's inputs. Returns the binding, or the list of reasons it
 * does not fit (the caller turns them into a SIGNATURE_GRAPH_MISMATCH error naming the model).
 */
export function bindInputs(signature: Signature, graphInputs: readonly GraphValue[]): { ok: true; binding: InputBinding } | { ok: false; problems: string[] } {
  const problems: string[] = [];
  const graphByName = new Map(graphInputs.map((g) => [g.name, g]));
  const expected = signature.inputs.kind === 'columns'
    ? signature.inputs.specs.map((c) => ({ name: c.name ?? '', kind: kindOfColumn(c.type), typeName: c.type, rowShape: [] as number[] }))
    : signature.inputs.specs.map((t) => ({ name: t.name ?? '', kind: kindOfDtype(t.dtype), typeName: t.dtype, rowShape: t.shape.slice(1) }));

  const singleUnnamed = signature.inputs.kind === 'tensors' && expected.length === 1 && expected[0]?.name === '' && graphInputs.length === 1;
  const allByName = expected.every((e) => graphByName.has(e.name)) && graphInputs.every((g) => expected.some((e) => e.name === g.name));
  if (allByName || singleUnnamed) {
    const feeds = expected.map((e) => {
      const graph = singleUnnamed ? (graphInputs[0] as GraphValue) : (graphByName.get(e.name) as GraphValue);
      if (!typeFits(e.kind, graph.type, e.typeName)) {
        problems.push(`input "${graph.name}" is ${graph.type} in the graph but ${e.typeName} in the signature`);
      }
      const rank = graph.shape.length;
      const rowDims = graph.shape.slice(1);
      const okShape = e.rowShape.length === 0
        ? rank === 1 || (rank === 2 && fixedOrSymbolic(graph.shape[1], 1))
        : rank === e.rowShape.length + 1 && e.rowShape.every((d, i) => d === -1 || fixedOrSymbolic(rowDims[i], d));
      if (rank > 0 && !okShape) {
        problems.push(`input "${graph.name}" has shape [${graph.shape.join(', ')}] in the graph; the signature gives rows of shape [${e.rowShape.join(', ')}]`);
      }
      return { input: e.name, graph, rank: rank === 0 ? e.rowShape.length + 1 : rank };
    });
    return problems.length > 0 ? { ok: false, problems } : { ok: true, binding: { kind: 'by-name', feeds } };
  }

  const only = graphInputs[0];
  if (signature.inputs.kind === 'columns' && graphInputs.length === 1 && only && only.shape.length === 2) {
    const width = only.shape[1];
    if (!expected.every((e) => e.kind === 'number')) {
      problems.push(`the graph has one input "${only.name}" [${only.shape.join(', ')}], which can only take numeric columns, but the signature has ${expected.filter((e) => e.kind !== 'number').map((e) => `"${e.name}" (${e.typeName})`).join(', ')}`);
    }
    if (typeof width === 'number' && width !== -1 && width !== expected.length) {
      problems.push(`the graph's input "${only.name}" takes ${width} columns per row, the signature declares ${expected.length} (${expected.map((e) => e.name).join(', ')})`);
    }
    if (!NUMERIC_TYPES.has(only.type)) problems.push(`the graph's input "${only.name}" is ${only.type}, not a numeric tensor`);
    return problems.length > 0 ? { ok: false, problems } : { ok: true, binding: { kind: 'matrix', graph: only, columns: expected.map((e) => e.name) } };
  }

  const missing = expected.filter((e) => !graphByName.has(e.name)).map((e) => e.name || '(unnamed)');
  const extra = graphInputs.filter((g) => !expected.some((e) => e.name === g.name)).map((g) => g.name);
  problems.push(
    `signature inputs [${expected.map((e) => e.name || '(unnamed)').join(', ')}] vs graph inputs [${graphInputs.map((g) => `${g.name} ${g.type}[${g.shape.join(', ')}]`).join(', ')}]`
    + (missing.length > 0 ? `; no graph input for ${missing.join(', ')}` : '')
    + (extra.length > 0 ? `; the graph also wants ${extra.join(', ')}` : ''),
  );
  return { ok: false, problems };
}

function fixedOrSymbolic(dim: number | string | undefined, want: number): boolean {
  return dim === undefined || typeof dim === 'string' || dim === -1 || dim === want;
}

function kindOfColumn(type: string): ColumnData['kind'] {
  if (type === 'boolean') return 'boolean';
  if (type === 'string' || type === 'datetime' || type === 'binary') return 'string';
  return 'number';
}

function kindOfDtype(dtype: string): ColumnData['kind'] {
  if (dtype === 'bool') return 'boolean';
  if (dtype === 'str' || dtype === 'object') return 'string';
  return 'number';
}

function typeFits(kind: ColumnData['kind'], graphType: string, declared: string): boolean {
  if (kind === 'number') return NUMERIC_TYPES.has(graphType);
  if (kind === 'boolean') return graphType === 'bool';
  return graphType === 'string' || (declared === 'datetime' && graphType === 'int64');
}

/** Plain data for one ONNX feed; the runtime wraps it in an onnxruntime Tensor. */
export interface FeedData {
  readonly type: string;
  readonly data: Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array | Int8Array | Int16Array | Uint16Array | Uint32Array | BigUint64Array | string[];
  readonly dims: readonly number[];
}

/**
 * Turns validated batches into the feeds of one inference call: the parts are written straight into
 * one array of each input's element type (no intermediate merged copy). One float64 part is passed as is.
 */
export function buildFeeds(binding: InputBinding, parts: readonly RowBatch[]): Record<string, FeedData> {
  const rows = parts.reduce((n, p) => n + p.rows, 0);
  const feeds: Record<string, FeedData> = {};
  if (binding.kind === 'matrix') {
    const k = binding.columns.length;
    const packed = allocateNumbers(binding.graph.type, rows * k);
    let base = 0;
    const bigints = packed instanceof BigInt64Array || packed instanceof BigUint64Array;
    for (const part of parts) {
      part.inputs.forEach((input, c) => {
        const src = input.values.data as Float64Array;
        if (bigints) {
          for (let r = 0; r < part.rows; r++) writeNumber(packed, (base + r) * k + c, src[r] ?? NaN);
        } else {
          const out = packed as Float64Array;
          for (let r = 0, at = base * k + c; r < part.rows; r++, at += k) out[at] = src[r] as number;
        }
      });
      base += part.rows;
    }
    feeds[binding.graph.name] = { type: binding.graph.type, data: packed, dims: [rows, k] };
    return feeds;
  }
  const first = parts[0];
  if (!first) return feeds;
  binding.feeds.forEach((feed) => {
    const index = first.inputs.findIndex((i) => i.name === feed.input);
    const input = first.inputs[index];
    if (!input) return;
    const dims = feed.rank === 1 && input.rowShape.length === 0 ? [rows] : [rows, ...(input.rowShape.length === 0 ? [1] : input.rowShape)];
    const columns = parts.map((p) => p.inputs[index]?.values ?? input.values);
    feeds[feed.graph.name] = { type: feed.graph.type, data: concatColumns(columns, feed.graph.type, rows * input.width), dims };
  });
  return feeds;
}

function concatColumns(columns: readonly ColumnData[], type: string, size: number): FeedData['data'] {
  const [only] = columns;
  if (only?.kind === 'number') {
    if (columns.length === 1 && type === 'float64') return only.data;
    const out = allocateNumbers(type, size);
    let offset = 0;
    for (const column of columns) {
      const src = column.data as Float64Array;
      if (out instanceof BigInt64Array || out instanceof BigUint64Array) {
        for (let i = 0; i < src.length; i++) writeNumber(out, offset + i, src[i] ?? 0);
      } else {
        // TypedArray#set converts element types (float64 → float32, int32, ...) natively.
        out.set(src, offset);
      }
      offset += src.length;
    }
    return out;
  }
  if (only?.kind === 'boolean') {
    if (columns.length === 1) return only.data;
    const out = new Uint8Array(size);
    let offset = 0;
    for (const column of columns) {
      out.set(column.data as Uint8Array, offset);
      offset += column.data.length;
    }
    return out;
  }
  const strings = columns.length === 1 ? (only?.data as string[]) : columns.flatMap((c) => c.data as string[]);
  return type === 'int64' ? BigInt64Array.from(strings, (s) => BigInt(Date.parse(s))) : strings;
}

type NumberArray = Float32Array | Float64Array | Int32Array | Int16Array | Int8Array | Uint8Array | Uint16Array | Uint32Array | BigInt64Array | BigUint64Array;

function allocateNumbers(type: string, size: number): NumberArray {
  switch (type) {
    case 'float64': return new Float64Array(size);
    case 'float32': return new Float32Array(size);
    case 'int32': return new Int32Array(size);
    case 'int16': return new Int16Array(size);
    case 'int8': return new Int8Array(size);
    case 'uint8': return new Uint8Array(size);
    case 'uint16': return new Uint16Array(size);
    case 'uint32': return new Uint32Array(size);
    case 'int64': return new BigInt64Array(size);
    case 'uint64': return new BigUint64Array(size);
    default: return new Float32Array(size);
  }
}

function writeNumber(out: NumberArray, index: number, value: number): void {
  if (out instanceof BigInt64Array || out instanceof BigUint64Array) out[index] = BigInt(Number.isFinite(value) ? Math.trunc(value) : 0);
  else out[index] = value;
}
