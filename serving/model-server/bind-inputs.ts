import type { Signature } from '../mlflow/signature.js';
import type { ColumnData } from './row-batch.js';

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
