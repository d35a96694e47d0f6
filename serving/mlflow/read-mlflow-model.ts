import { readFile, stat } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import { load } from 'js-yaml';
import { UserError } from '../../lib/errors/user-error.js';
import { digestDirectory } from '../../lib/file-digest.js';
import { describe, formatProblems, parseSignature, type Signature } from './signature.js';

/** The MLmodel file name MLflow writes at the root of every model directory. */
export const MLMODEL_FILE = 'MLmodel';

/** An input example in pandas "split" orientation: what `input_example.json` holds for dataframe examples. */
export interface InputExample {
  readonly columns: readonly string[];
  readonly data: readonly (readonly unknown[])[];
}

export interface MlflowModel {
  /** Absolute path of the model directory. */
  readonly dir: string;
  readonly signature: Signature;
  /** Absolute path of the ONNX file (`flavors.onnx.data`). */
  readonly onnxFile: string;
  /** `flavors.onnx.onnx_version`: the onnx package version that wrote the graph. */
  readonly onnxVersion: string | undefined;
  /** `flavors.onnx.providers`, in MLflow's order of preference. */
  readonly providers: readonly string[];
  readonly inputExample: InputExample | undefined;
  /** `sha256:<hex>` over every file of the directory (relative path + content), stable across copies. */
  readonly artifactDigest: string;
  readonly runId: string | undefined;
  readonly modelUuid: string | undefined;
  readonly mlflowVersion: string | undefined;
}

/**
 * Reads a model directory in MLflow's layout (https://mlflow.org/docs/latest/ml/model/#storage-format):
 * `MLmodel` (YAML) with an `onnx` flavor and a signature, the ONNX file, and optionally the input example
 * named by `saved_input_example_info.artifact_path`. Does not load the graph (that needs onnxruntime,
 * which only the model server loads); it checks what can be checked from the files alone.
 */
export async function readMlflowModel(dir: string): Promise<MlflowModel> {
  const root = resolve(dir);
  const mlmodelPath = join(root, MLMODEL_FILE);
  const text = await readText(mlmodelPath, `${root} is not an MLflow model directory: it has no ${MLMODEL_FILE} file`);
  let doc: unknown;
  try {
    doc = load(text);
  } catch (err) {
    throw new UserError('MLMODEL_INVALID', `${mlmodelPath}: not valid YAML (${(err as Error).message.split('\n')[0]})`, undefined, { cause: err });
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    throw new UserError('MLMODEL_INVALID', `${mlmodelPath}: must be a YAML mapping (flavors, signature, ...), found ${describe(doc)}`);
  }
  const mlmodel = doc as Record<string, unknown>;
  const problems: string[] = [];
  const flavors = asRecord(mlmodel.flavors);
  const onnx = asRecord(flavors?.onnx);
  if (!onnx) {
    const found = flavors ? Object.keys(flavors).join(', ') || 'none' : 'no `flavors` mapping';
    throw new UserError('MLMODEL_INVALID', `${mlmodelPath}: no \`flavors.onnx\` (found ${found}); the model server runs ONNX models only`,
      'Convert the model to ONNX (e.g. skl2onnx, torch.onnx.export) and log it with mlflow.onnx.log_model.');
  }
  const data = onnx.data ?? 'model.onnx';
  if (typeof data !== 'string' || data === '') problems.push(`flavors.onnx.data: must name the ONNX file, found ${describe(data)}`);
  const onnxFile = typeof data === 'string' ? insideDir(root, data, 'flavors.onnx.data', problems) : undefined;
  const providers = Array.isArray(onnx.providers) ? onnx.providers.filter((p): p is string => typeof p === 'string') : [];
  if (mlmodel.signature === undefined || mlmodel.signature === null) {
    throw new UserError('SIGNATURE_INVALID', `${mlmodelPath}: no \`signature\`; the model server validates every request against it`,
      'Log the model with `signature=infer_signature(X, y)` (or write signature.inputs by hand).');
  }
  const signature = parseSignature(mlmodel.signature, mlmodelPath);
  if (signature.inputs.kind === 'columns') {
    signature.inputs.specs.forEach((c, i) => {
      if (c.name === undefined) problems.push(`signature.inputs[${i}]: the column has no name; requests name their columns`);
    });
  }
  let inputExample: InputExample | undefined;
  const exampleInfo = asRecord(mlmodel.saved_input_example_info);
  if (exampleInfo && typeof exampleInfo.artifact_path === 'string') {
    const exampleFile = insideDir(root, exampleInfo.artifact_path, 'saved_input_example_info.artifact_path', problems);
    if (exampleFile) inputExample = await readInputExample(exampleFile, problems);
  }
  if (onnxFile) {
    const info = await stat(onnxFile).catch(() => undefined);
    if (!info?.isFile()) problems.push(`flavors.onnx.data: ${relative(root, onnxFile)} does not exist in ${root}`);
  }
  if (problems.length > 0 || !onnxFile) {
    throw new UserError('MLMODEL_INVALID', `${mlmodelPath}: ${formatProblems(problems)}`);
  }
  return {
    dir: root,
    signature,
    onnxFile,
    onnxVersion: typeof onnx.onnx_version === 'string' ? onnx.onnx_version : undefined,
    providers,
    inputExample,
    artifactDigest: await digestDirectory(root),
    runId: typeof mlmodel.run_id === 'string' ? mlmodel.run_id : undefined,
    modelUuid: typeof mlmodel.model_uuid === 'string' ? mlmodel.model_uuid : undefined,
    mlflowVersion: typeof mlmodel.mlflow_version === 'string' ? mlmodel.mlflow_version : undefined,
  };
}

/**
 * MLflow writes dataframe examples in "split" orientation (`{"columns": [...], "data": [[...]]}`);
 * MLflow >= 2.16 may wrap it as a scoring payload (`{"dataframe_split": {...}}`) in serving_input_example.json.
 */
async function readInputExample(file: string, problems: string[]): Promise<InputExample | undefined> {
  const text = await readFile(file, 'utf8').catch(() => undefined);
  if (text === undefined) {
    problems.push(`saved_input_example_info.artifact_path: ${file} does not exist`);
    return undefined;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    problems.push(`${file}: not valid JSON (${(err as Error).message})`);
    return undefined;
  }
  const obj = asRecord(json);
  const split = asRecord(obj?.dataframe_split) ?? obj;
  if (split && Array.isArray(split.columns) && Array.isArray(split.data)
    && split.columns.every((c) => typeof c === 'string') && split.data.every(Array.isArray)) {
    return { columns: split.columns as string[], data: split.data as unknown[][] };
  }
  // Tensor examples are stored as {"inputs": [...]} or a bare list; keep them as one unnamed column.
  const inputs = obj?.inputs ?? obj?.instances ?? json;
  if (Array.isArray(inputs)) return { columns: [], data: inputs.map((row) => (Array.isArray(row) ? row : [row])) };
  problems.push(`${file}: not an input example in split orientation ({"columns": [...], "data": [[...]]})`);
  return undefined;
}

async function readText(file: string, missing: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new UserError('MLMODEL_INVALID', missing, 'Pass the directory that holds MLmodel and model.onnx (an MLflow model artifact, e.g. downloaded with `mlflow artifacts download`).');
    }
    throw new UserError('MLMODEL_INVALID', `${file}: cannot be read (${(err as Error).message})`, undefined, { cause: err });
  }
}

/** Artifact paths in MLmodel are relative to the model directory and must stay inside it. */
function insideDir(root: string, rel: string, key: string, problems: string[]): string | undefined {
  const abs = resolve(root, rel);
  if (abs !== root && abs.startsWith(root + sep)) return abs;
  problems.push(`${key}: ${JSON.stringify(rel)} points outside the model directory`);
  return undefined;
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}
