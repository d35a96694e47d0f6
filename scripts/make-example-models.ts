import { createHash } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { formatSchema, toPythonJson, type Schema } from '../serving/mlflow/signature.js';
import { createRandom } from '../lib/seeded-random.js';
import { ElemType, encodeModel, node, tensor, valueInfo, type GraphParts } from './onnx/build-graph.js';

/**
 * Writes the example models (MLflow layout: MLmodel + model.onnx + input example) that the example fleet
 * and the tests use. Weights come from a seeded generator, so every run writes the same bytes; a test
 * regenerates them and compares with the committed copies.
 *
 *   npx tsx scripts/make-example-models.ts [outDir]     (default: examples/models)
 */

/** The five features of the match-probability models, in the order of the MLflow schema. */
export const MATCH_FEATURES = ['route_decision_score', 'farevalueinminor', 'offer_throughput_rate', 'eventtime', 'backtoback'] as const;

/** Typical magnitude of each feature, so seeded weights give probabilities away from 0 and 1. */
const FEATURE_SCALES = [1, 1e-3, 1, 1e-9, 0.5];

export const VEHICLE_TYPES = ['TAXI', 'COMFORT', 'XL', 'BIKE'] as const;
export const MLP_WIDTH = { input: 64, hidden: 256 } as const;

export interface ExampleModel {
  readonly name: string;
  readonly graph: GraphParts;
  readonly inputs: Schema;
  readonly outputs: Schema;
  /** Written as input_example.json. */
  readonly example: { readonly kind: 'dataframe'; readonly columns: readonly string[]; readonly data: readonly (readonly unknown[])[] }
    | { readonly kind: 'ndarray'; readonly inputs: readonly (readonly number[])[] };
}

/** The project's seeded generator (mulberry32), as a bare `() => number`. */
function seededRandom(seed: number): () => number {
  return createRandom(seed).next;
}

function seededNormal(seed: number): () => number {
  const uniform = seededRandom(seed);
  return () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
}

const matchColumns: Schema = {
  kind: 'columns',
  specs: MATCH_FEATURES.map((name) => ({ kind: 'column', name, type: 'double', required: true })),
};
const probabilityOutput = (dtype: 'float32' | 'float64'): Schema => ({
  kind: 'tensors',
  specs: [{ kind: 'tensor', name: 'probability', dtype, shape: [-1, 1] }],
});
const matchExample = {
  kind: 'dataframe' as const,
  columns: [...MATCH_FEATURES],
  data: [
    [0.73, 1250, 0.42, 1_767_225_600, 1],
    [0.18, 3900, 0.91, 1_767_229_200, 0],
  ],
};

/**
 * Logistic regression over the five match features. `layout: 'columns'` gives the graph one [N,1] input
 * per column (concatenated inside the graph); `layout: 'matrix'` gives it one [N,5] input named `input`.
 */
function logisticRegression(name: string, seed: number, layout: 'columns' | 'matrix'): ExampleModel {
  const normal = seededNormal(seed);
  const weights = FEATURE_SCALES.map((scale) => normal() * scale);
  const bias = normal() * 0.5;
  const nodes = layout === 'columns' ? [node('Concat', [...MATCH_FEATURES], ['features'], { axis: 1 })] : [];
  const x = layout === 'columns' ? 'features' : 'input';
  nodes.push(
    node('MatMul', [x, 'coef'], ['logit_raw']),
    node('Add', ['logit_raw', 'intercept'], ['logit']),
    node('Sigmoid', ['logit'], ['probability']),
  );
  return {
    name,
    graph: {
      name,
      docString: 'Logistic regression: probability = sigmoid(features · coef + intercept).',
      nodes,
      inputs: layout === 'columns'
        ? MATCH_FEATURES.map((c) => valueInfo(c, ElemType.DOUBLE, [null, 1]))
        : [valueInfo('input', ElemType.DOUBLE, [null, MATCH_FEATURES.length])],
      outputs: [valueInfo('probability', ElemType.DOUBLE, [null, 1])],
      initializers: [
        tensor('coef', ElemType.DOUBLE, [MATCH_FEATURES.length, 1], weights),
        tensor('intercept', ElemType.DOUBLE, [1], [bias]),
      ],
    },
    inputs: matchColumns,
    outputs: probabilityOutput('float64'),
    example: matchExample,
  };
}

/** Features of the tree model after encoding, in the order the trees index them. */
export const TREE_FEATURES = ['vehicle_type', 'route_decision_score', 'farevalueinminor', 'backtoback'] as const;
const TREE_FEATURE_RANGES: readonly (readonly [number, number])[] = [[0, VEHICLE_TYPES.length - 1], [0, 1], [0, 5000], [0, 4]];
const TREE_COUNT = 4;
const TREE_DEPTH = 3;

/**
 * A random forest of complete depth-3 trees (ai.onnx.ml TreeEnsembleClassifier) over a string category
 * (`vehicle_type`, encoded by ai.onnx.ml LabelEncoder; unknown categories become -1), two doubles
 * (`farevalueinminor` optional: a missing value is NaN, which fails every `<=` test) and a long.
 * Every leaf carries weights for both classes that add up to 1/trees, so the scores are averaged votes.
 */
function treeEnsemble(name: string, seed: number): ExampleModel {
  const rand = seededRandom(seed);
  const ids = { tree: [] as number[], node: [] as number[], feature: [] as number[], mode: [] as string[], value: [] as number[], yes: [] as number[], no: [] as number[] };
  const cls = { tree: [] as number[], node: [] as number[], id: [] as number[], weight: [] as number[] };
  const nodesPerTree = 2 ** (TREE_DEPTH + 1) - 1;
  for (let t = 0; t < TREE_COUNT; t++) {
    for (let n = 0; n < nodesPerTree; n++) {
      const isLeaf = n >= 2 ** TREE_DEPTH - 1;
      ids.tree.push(t);
      ids.node.push(n);
      if (isLeaf) {
        ids.feature.push(0); ids.mode.push('LEAF'); ids.value.push(0); ids.yes.push(0); ids.no.push(0);
        const p = Math.round(rand() * 1000) / 1000;
        cls.tree.push(t, t); cls.node.push(n, n); cls.id.push(0, 1);
        cls.weight.push((1 - p) / TREE_COUNT, p / TREE_COUNT);
      } else {
        const feature = Math.floor(rand() * TREE_FEATURES.length);
        const [lo, hi] = TREE_FEATURE_RANGES[feature] ?? [0, 1];
        const threshold = feature === 0 || feature === 3
          ? Math.floor(rand() * (hi - lo)) + lo + 0.5
          : Math.round((lo + rand() * (hi - lo)) * 100) / 100;
        ids.feature.push(feature); ids.mode.push('BRANCH_LEQ'); ids.value.push(threshold);
        ids.yes.push(2 * n + 1); ids.no.push(2 * n + 2);
      }
    }
  }
  const graph: GraphParts = {
    name,
    usesMl: true,
    docString: 'Random forest over vehicle_type (LabelEncoder), route_decision_score, farevalueinminor, backtoback.',
    nodes: [
      node('LabelEncoder', ['vehicle_type'], ['vehicle_code'], {
        keys_strings: [...VEHICLE_TYPES],
        values_floats: { floats: VEHICLE_TYPES.map((_, i) => i) },
        default_float: { float: -1 },
      }, 'ai.onnx.ml'),
      node('Cast', ['route_decision_score'], ['route_f'], { to: ElemType.FLOAT }),
      node('Cast', ['farevalueinminor'], ['fare_f'], { to: ElemType.FLOAT }),
      node('Cast', ['backtoback'], ['b2b_f'], { to: ElemType.FLOAT }),
      node('Concat', ['vehicle_code', 'route_f', 'fare_f', 'b2b_f'], ['features'], { axis: 1 }),
      node('TreeEnsembleClassifier', ['features'], ['label', 'scores'], {
        classlabels_int64s: { ints: [0, 1] },
        nodes_treeids: { ints: ids.tree },
        nodes_nodeids: { ints: ids.node },
        nodes_featureids: { ints: ids.feature },
        nodes_modes: ids.mode,
        nodes_values: { floats: ids.value },
        nodes_truenodeids: { ints: ids.yes },
        nodes_falsenodeids: { ints: ids.no },
        class_treeids: { ints: cls.tree },
        class_nodeids: { ints: cls.node },
        class_ids: { ints: cls.id },
        class_weights: { floats: cls.weight },
        post_transform: 'NONE',
      }, 'ai.onnx.ml'),
      node('Slice', ['scores', 'slice_start', 'slice_end', 'slice_axis'], ['probability']),
    ],
    inputs: [
      valueInfo('vehicle_type', ElemType.STRING, [null, 1]),
      valueInfo('route_decision_score', ElemType.DOUBLE, [null, 1]),
      valueInfo('farevalueinminor', ElemType.DOUBLE, [null, 1]),
      valueInfo('backtoback', ElemType.INT64, [null, 1]),
    ],
    outputs: [valueInfo('probability', ElemType.FLOAT, [null, 1])],
    initializers: [
      tensor('slice_start', ElemType.INT64, [1], [1]),
      tensor('slice_end', ElemType.INT64, [1], [2]),
      tensor('slice_axis', ElemType.INT64, [1], [1]),
    ],
  };
  return {
    name,
    graph,
    inputs: {
      kind: 'columns',
      specs: [
        { kind: 'column', name: 'vehicle_type', type: 'string', required: true },
        { kind: 'column', name: 'route_decision_score', type: 'double', required: true },
        { kind: 'column', name: 'farevalueinminor', type: 'double', required: false },
        { kind: 'column', name: 'backtoback', type: 'long', required: true },
      ],
    },
    outputs: probabilityOutput('float32'),
    example: {
      kind: 'dataframe',
      columns: [...TREE_FEATURES],
      data: [['TAXI', 0.73, 1250, 1], ['XL', 0.18, null, 0]],
    },
  };
}

/** A 64→256→256→1 perceptron (ReLU, sigmoid): about 82k multiply-adds a row, so merging rows pays. */
function multilayerPerceptron(name: string, seed: number): ExampleModel {
  const normal = seededNormal(seed);
  const { input, hidden } = MLP_WIDTH;
  const layer = (fanIn: number, fanOut: number) => Array.from({ length: fanIn * fanOut }, () => Math.fround(normal() * Math.sqrt(2 / fanIn)));
  const bias = (n: number) => Array.from({ length: n }, () => Math.fround(normal() * 0.05));
  const exampleRand = seededRandom(seed + 1);
  return {
    name,
    graph: {
      name,
      docString: 'MLP: sigmoid(W3 · relu(W2 · relu(W1 · x + b1) + b2) + b3).',
      nodes: [
        node('Gemm', ['features', 'w1', 'b1'], ['h1_raw']),
        node('Relu', ['h1_raw'], ['h1']),
        node('Gemm', ['h1', 'w2', 'b2'], ['h2_raw']),
        node('Relu', ['h2_raw'], ['h2']),
        node('Gemm', ['h2', 'w3', 'b3'], ['logit']),
        node('Sigmoid', ['logit'], ['probability']),
      ],
      inputs: [valueInfo('features', ElemType.FLOAT, [null, input])],
      outputs: [valueInfo('probability', ElemType.FLOAT, [null, 1])],
      initializers: [
        tensor('w1', ElemType.FLOAT, [input, hidden], layer(input, hidden)),
        tensor('b1', ElemType.FLOAT, [hidden], bias(hidden)),
        tensor('w2', ElemType.FLOAT, [hidden, hidden], layer(hidden, hidden)),
        tensor('b2', ElemType.FLOAT, [hidden], bias(hidden)),
        tensor('w3', ElemType.FLOAT, [hidden, 1], layer(hidden, 1)),
        tensor('b3', ElemType.FLOAT, [1], bias(1)),
      ],
    },
    inputs: { kind: 'tensors', specs: [{ kind: 'tensor', name: 'features', dtype: 'float32', shape: [-1, input] }] },
    outputs: probabilityOutput('float32'),
    example: {
      kind: 'ndarray',
      inputs: [Array.from({ length: input }, () => Math.round((exampleRand() * 2 - 1) * 1000) / 1000)],
    },
  };
}

export function exampleModels(): readonly ExampleModel[] {
  return [
    logisticRegression('match-logreg-v1', 101, 'columns'),
    logisticRegression('match-logreg-v2', 202, 'matrix'),
    treeEnsemble('match-trees', 303),
    multilayerPerceptron('match-mlp', 404),
  ];
}

/** The MLmodel text, laid out as MLflow 2.x writes it for `mlflow.onnx.save_model` (keys sorted). */
export function renderMlmodel(model: ExampleModel, onnxBytes: number): string {
  const id = (salt: string) => createHash('sha256').update(`${salt}:${model.name}`).digest('hex').slice(0, 32);
  const exampleInfo = model.example.kind === 'dataframe'
    ? ['saved_input_example_info:', '  artifact_path: input_example.json', '  pandas_orient: split', '  type: dataframe']
    : ['saved_input_example_info:', '  artifact_path: input_example.json', '  format: tf-serving', '  type: ndarray'];
  const quote = (s: string) => `'${s.replace(/'/g, "''")}'`;
  return [
    'artifact_path: model',
    'flavors:',
    '  onnx:',
    '    code: null',
    '    data: model.onnx',
    '    onnx_version: 1.10.2',
    '    providers:',
    '    - CUDAExecutionProvider',
    '    - CPUExecutionProvider',
    '  python_function:',
    '    data: model.onnx',
    '    env:',
    '      conda: conda.yaml',
    '      virtualenv: python_env.yaml',
    '    loader_module: mlflow.onnx',
    '    python_version: 3.11.9',
    'mlflow_version: 2.16.2',
    `model_size_bytes: ${onnxBytes}`,
    `model_uuid: ${id('model')}`,
    `run_id: ${id('run')}`,
    ...exampleInfo,
    'signature:',
    `  inputs: ${quote(formatSchema(model.inputs))}`,
    `  outputs: ${quote(formatSchema(model.outputs))}`,
    '  params: null',
    "utc_time_created: '2026-01-15 09:00:00.000000'",
    '',
  ].join('\n');
}

/** Every file of one model directory, by name. */
export function renderModelFiles(model: ExampleModel): ReadonlyMap<string, Uint8Array | string> {
  const onnx = encodeModel(model.graph);
  const example = model.example.kind === 'dataframe'
    ? { columns: model.example.columns, data: model.example.data }
    : { inputs: model.example.inputs };
  return new Map<string, Uint8Array | string>([
    ['MLmodel', renderMlmodel(model, onnx.byteLength)],
    ['model.onnx', onnx],
    ['input_example.json', `${toPythonJson(example)}\n`],
    ['conda.yaml', 'channels:\n- conda-forge\ndependencies:\n- python=3.11.9\n- pip<=24.2\n- pip:\n  - mlflow==2.16.2\n  - onnx==1.10.2\n  - onnxruntime==1.19.2\nname: mlflow-env\n'],
    ['python_env.yaml', 'python: 3.11.9\nbuild_dependencies:\n- pip==24.2\ndependencies:\n- -r requirements.txt\n'],
    ['requirements.txt', 'mlflow==2.16.2\nonnx==1.10.2\nonnxruntime==1.19.2\n'],
  ]);
}

/** Writes every example model under outDir/<name>/, each directory replaced whole (write aside, then rename). */
export async function makeExampleModels(outDir: string): Promise<string[]> {
  const root = resolve(outDir);
  await mkdir(root, { recursive: true });
  const written: string[] = [];
  for (const model of exampleModels()) {
    const tmp = join(root, `.${model.name}.tmp-${process.pid}`);
    await rm(tmp, { recursive: true, force: true });
    await mkdir(tmp);
    for (const [file, content] of renderModelFiles(model)) await writeFile(join(tmp, file), content);
    const target = join(root, model.name);
    await rm(target, { recursive: true, force: true });
    await rename(tmp, target);
    written.push(target);
  }
  return written;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const dirs = await makeExampleModels(process.argv[2] ?? 'examples/models');
  for (const dir of dirs) console.log(`wrote ${dir}`);
}
