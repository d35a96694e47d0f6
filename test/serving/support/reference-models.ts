import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import onnxProto from 'onnx-proto';
import type { onnx as OnnxTypes } from 'onnx-proto';

/**
 * Computes the example models' outputs in plain JavaScript from the weights stored in model.onnx
 * (decoded with onnx-proto), without onnxruntime: the independent side of the round-trip tests.
 */
const { onnx } = onnxProto;

export const EXAMPLES_DIR = fileURLToPath(new URL('../../../examples/models', import.meta.url));

export async function decodeExample(name: string): Promise<OnnxTypes.ModelProto> {
  return onnx.ModelProto.decode(await readFile(join(EXAMPLES_DIR, name, 'model.onnx')));
}

function numbers(model: OnnxTypes.ModelProto, name: string): number[] {
  const t = model.graph?.initializer?.find((i) => i.name === name);
  if (!t) throw new Error(`no initializer ${name}`);
  const raw = t.rawData;
  if (!raw) throw new Error(`initializer ${name} has no raw_data`);
  const buf = raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength);
  if (t.dataType === onnx.TensorProto.DataType.DOUBLE) return Array.from(new Float64Array(buf));
  if (t.dataType === onnx.TensorProto.DataType.FLOAT) return Array.from(new Float32Array(buf));
  throw new Error(`initializer ${name} has type ${t.dataType}`);
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/** probability = sigmoid(x · coef + intercept), in float64 like the graph. */
export function logisticRegression(model: OnnxTypes.ModelProto): (row: readonly number[]) => number {
  const coef = numbers(model, 'coef');
  const [intercept = 0] = numbers(model, 'intercept');
  return (row) => sigmoid(row.reduce((s, x, i) => s + x * (coef[i] ?? 0), 0) + intercept);
}

/** sigmoid(W3 · relu(W2 · relu(W1 · x + b1) + b2) + b3), weights [in, out] row-major. */
export function multilayerPerceptron(model: OnnxTypes.ModelProto): (row: readonly number[]) => number {
  const layers = [1, 2, 3].map((k) => {
    const w = numbers(model, `w${k}`);
    const b = numbers(model, `b${k}`);
    return { w, b, out: b.length, in: w.length / b.length };
  });
  return (row) => {
    let x = row.map(Math.fround);
    layers.forEach((layer, li) => {
      const y = new Array<number>(layer.out).fill(0);
      for (let j = 0; j < layer.out; j++) {
        let s = layer.b[j] ?? 0;
        for (let i = 0; i < layer.in; i++) s += (x[i] ?? 0) * (layer.w[i * layer.out + j] ?? 0);
        y[j] = li < layers.length - 1 ? Math.max(0, s) : s;
      }
      x = y;
    });
    return sigmoid(x[0] ?? 0);
  };
}

function attr(node: OnnxTypes.INodeProto, name: string): OnnxTypes.IAttributeProto {
  const a = node.attribute?.find((x) => x.name === name);
  if (!a) throw new Error(`node ${node.opType} has no attribute ${name}`);
  return a;
}
const ints = (node: OnnxTypes.INodeProto, name: string) => (attr(node, name).ints ?? []).map(Number);
const floats = (node: OnnxTypes.INodeProto, name: string) => attr(node, name).floats ?? [];
const strings = (node: OnnxTypes.INodeProto, name: string) => (attr(node, name).strings ?? []).map((s) => new TextDecoder().decode(s));

export interface TreeRow {
  readonly vehicle_type: string;
  readonly route_decision_score: number;
  /** null = missing (NaN in the graph). */
  readonly farevalueinminor: number | null;
  readonly backtoback: number;
}

/**
 * Walks the trees of the TreeEnsembleClassifier node: LabelEncoder maps vehicle_type to a float
 * (unknown = default), features are compared as float32 with BRANCH_LEQ, NaN takes the false branch,
 * class-1 scores of the reached leaves are summed.
 */
export function treeEnsemble(model: OnnxTypes.ModelProto): (row: TreeRow) => number {
  const nodes = model.graph?.node ?? [];
  const encoder = nodes.find((n) => n.opType === 'LabelEncoder');
  const forest = nodes.find((n) => n.opType === 'TreeEnsembleClassifier');
  if (!encoder || !forest) throw new Error('not the tree example');
  const keys = strings(encoder, 'keys_strings');
  const values = floats(encoder, 'values_floats');
  const fallback = attr(encoder, 'default_float').f ?? -1;
  const tree = ints(forest, 'nodes_treeids');
  const id = ints(forest, 'nodes_nodeids');
  const feature = ints(forest, 'nodes_featureids');
  const mode = strings(forest, 'nodes_modes');
  const threshold = floats(forest, 'nodes_values');
  const yes = ints(forest, 'nodes_truenodeids');
  const no = ints(forest, 'nodes_falsenodeids');
  const classTree = ints(forest, 'class_treeids');
  const classNode = ints(forest, 'class_nodeids');
  const classId = ints(forest, 'class_ids');
  const classWeight = floats(forest, 'class_weights');
  const index = new Map<string, number>();
  tree.forEach((t, i) => index.set(`${t}:${id[i]}`, i));
  const trees = [...new Set(tree)];
  return (row) => {
    const code = keys.indexOf(row.vehicle_type);
    const x = [code >= 0 ? values[code] ?? fallback : fallback, row.route_decision_score, row.farevalueinminor ?? NaN, row.backtoback].map(Math.fround);
    let score = 0;
    for (const t of trees) {
      let at = index.get(`${t}:0`) ?? -1;
      while (mode[at] !== 'LEAF') {
        const goYes = (x[feature[at] ?? 0] ?? NaN) <= Math.fround(threshold[at] ?? 0);
        at = index.get(`${t}:${goYes ? yes[at] : no[at]}`) ?? -1;
      }
      classTree.forEach((ct, k) => {
        if (ct === t && classNode[k] === id[at] && classId[k] === 1) score += classWeight[k] ?? 0;
      });
    }
    return score;
  };
}
