import type { Signature } from '../mlflow/signature.js';
import type { InputBinding } from './bind-inputs.js';
import {
  allocateFeedArray, isBigIntArray,
  type ColumnBatch, type FeedArray, type FeedLayout, type FeedSpec, type NumberArray, type RowBatch, type SlotPlacement,
} from './row-batch.js';

/** Plain data for one ONNX feed; the runtime wraps it in an onnxruntime Tensor. */
export interface FeedData {
  readonly type: string;
  readonly data: FeedArray;
  readonly dims: readonly number[];
}

/**
 * Where each signature input goes in the graph's inputs: for a `matrix` binding every numeric column is
 * one column of a row-major [N, k] array; for a `by-name` binding every column or tensor is a graph
 * input of its own.
 */
export function feedLayout(signature: Signature, binding: InputBinding): FeedLayout {
  const slots = new Map<string, SlotPlacement>();
  if (binding.kind === 'matrix') {
    const k = binding.columns.length;
    binding.columns.forEach((name, c) => slots.set(name, { feed: 0, stride: k, offset: c }));
    return { feeds: [{ name: binding.graph.name, type: binding.graph.type, width: k, rowDims: [k] }], slots };
  }
  const rowShapes = new Map<string, readonly number[]>(signature.inputs.kind === 'columns'
    ? signature.inputs.specs.map((c) => [c.name ?? '', []])
    : signature.inputs.specs.map((t) => [t.name ?? '', t.shape.slice(1)]));
  const feeds: FeedSpec[] = binding.feeds.map((feed, f) => {
    const rowShape = rowShapes.get(feed.input) ?? [];
    const width = rowShape.reduce((a, b) => a * Math.max(b, 1), 1);
    slots.set(feed.input, { feed: f, stride: width, offset: 0 });
    const rowDims = rowShape.length > 0 ? rowShape : feed.rank === 1 ? [] : [1];
    return { name: feed.graph.name, type: feed.graph.type, width, rowDims };
  });
  return { feeds, slots };
}

/**
 * The feeds of one inference call over several validated requests, in the order of `layout.feeds`. A
 * lone request in feed form is passed through as it is; otherwise each feed is allocated once at its
 * final size and every part is written into it (feed-form parts by one typed-array copy, column-form
 * parts converted value by value).
 */
export function buildFeeds(layout: FeedLayout, parts: readonly RowBatch[]): FeedData[] {
  let rows = 0;
  for (const part of parts) {
    if (part.feeds && part.layout !== layout) throw new Error('a batch was validated for another model');
    rows += part.rows;
  }
  const specs = layout.feeds;
  const feeds = new Array<FeedData>(specs.length);
  const only = parts.length === 1 ? parts[0] : undefined;
  for (let f = 0; f < specs.length; f++) {
    const spec = specs[f] as FeedSpec;
    const dims = [rows, ...spec.rowDims];
    const passed = only?.feeds ? only.feeds[f] : only ? reusableColumn(layout, only, spec, f) : undefined;
    if (passed) {
      feeds[f] = { type: spec.type, data: passed, dims };
      continue;
    }
    const out = allocateFeedArray(spec.type, rows * spec.width);
    let base = 0;
    for (const part of parts) {
      if (part.feeds) copyFeed(part.feeds[f] as FeedArray, out, base * spec.width);
      else writeColumns(layout, part, f, out, base);
      base += part.rows;
    }
    feeds[f] = { type: spec.type, data: out, dims };
  }
  return feeds;
}

/** A column that already is the feed (float64, bool or string input of its own): no copy needed. */
function reusableColumn(layout: FeedLayout, part: ColumnBatch, spec: FeedSpec, f: number): FeedArray | undefined {
  const input = part.inputs.find((i) => layout.slots.get(i.name)?.feed === f);
  if (!input || input.width !== spec.width) return undefined;
  const { kind, data } = input.values;
  if ((kind === 'number' && spec.type === 'float64') || (kind === 'boolean' && spec.type === 'bool') || (kind === 'string' && spec.type === 'string')) {
    return data;
  }
  return undefined;
}

function copyFeed(src: FeedArray, out: FeedArray, at: number): void {
  if (Array.isArray(out)) {
    for (let i = 0; i < src.length; i++) out[at + i] = src[i] as string;
    return;
  }
  // Same element type on both sides (one layout), so this is a plain memory copy.
  (out as Float64Array).set(src as Float64Array, at);
}

/** Writes the column-form inputs of `part` that belong to feed `f`, converting to the feed's element type. */
function writeColumns(layout: FeedLayout, part: ColumnBatch, f: number, out: FeedArray, base: number): void {
  for (const input of part.inputs) {
    const place = layout.slots.get(input.name);
    if (!place || place.feed !== f) continue;
    const width = input.width;
    const { kind, data } = input.values;
    for (let r = 0; r < part.rows; r++) {
      const at = (base + r) * place.stride + place.offset;
      for (let k = 0; k < width; k++) {
        const value = data[r * width + k] as number | string;
        if (Array.isArray(out)) out[at + k] = value as string;
        else if (isBigIntArray(out)) out[at + k] = kind === 'string' ? BigInt(Date.parse(value as string)) : toBigInt(value as number);
        else (out as Exclude<NumberArray, BigInt64Array | BigUint64Array>)[at + k] = value as number;
      }
    }
  }
}

/** int64 feeds: whole numbers pass exactly; NaN (a missing optional number) becomes 0. */
export function toBigInt(value: number): bigint {
  return BigInt(Number.isFinite(value) ? Math.trunc(value) : 0);
}
