import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { load } from 'js-yaml';
import type { Deployable, FleetSpec } from '../../generator/fleet/types.js';
import { UserError } from '../../lib/errors/user-error.js';
import { readMlflowModel, type InputExample } from '../../serving/mlflow/read-mlflow-model.js';
import { parseSignature, type Signature } from '../../serving/mlflow/signature.js';

/** What the load test needs to know about a model's inputs, and where its files are (if local). */
export interface ModelInputs {
  readonly signature: Signature;
  readonly inputExample: InputExample | undefined;
  /** The MLflow model directory, when the model's files are on this machine. */
  readonly modelDir: string | undefined;
  /** Where the signature came from, for messages. */
  readonly source: string;
}

/** Where the build job leaves a registry model's downloaded artifacts. */
export function downloadedModelDir(outDir: string, deployName: string): string {
  return join(outDir, 'models', deployName, 'model');
}

/**
 * Finds the model's signature: a `path:` model's MLmodel, a registry model's downloaded copy
 * (left by `<model>:build`), or an `image:` model's declared schema file.
 */
export async function readModelInputs(fleet: FleetSpec, deployable: Deployable, outDir: string): Promise<ModelInputs> {
  const fleetDir = dirname(fleet.file);
  const source = deployable.variant.source;
  const name = deployable.variant.deployName;
  switch (source.kind) {
    case 'path': {
      const model = await readMlflowModel(resolve(fleetDir, source.path));
      return { signature: model.signature, inputExample: model.inputExample, modelDir: model.dir, source: join(model.dir, 'MLmodel') };
    }
    case 'mlflow': {
      const dir = downloadedModelDir(outDir, name);
      if (!existsSync(join(dir, 'MLmodel'))) {
        throw new UserError(
          'LOADTEST_MODEL_NOT_LOCAL',
          `model ${name}: the registry model ${source.name} (${source.version ? `version ${source.version}` : `alias ${source.alias ?? '?'}`}) has no downloaded copy in ${dir}`,
          `Re-run the \`${name}:build\` job (it downloads the artifacts and records the image), then \`${name}:test\`.`,
        );
      }
      const model = await readMlflowModel(dir);
      return { signature: model.signature, inputExample: model.inputExample, modelDir: model.dir, source: join(dir, 'MLmodel') };
    }
    case 'image': {
      const file = resolve(fleetDir, source.schema);
      return { signature: await readSignatureFile(file, name), inputExample: undefined, modelDir: undefined, source: file };
    }
  }
}

/**
 * A bring-your-own image's schema file: an MLmodel (YAML with `signature:`), or JSON holding
 * either `{"inputs": ...}` (a signature) or a bare list of input specs.
 */
export async function readSignatureFile(file: string, deployName: string): Promise<Signature> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new UserError('LOADTEST_SCHEMA_UNREADABLE', `model ${deployName}: cannot read its schema file ${file} (${(err as Error).message})`,
      'Point `schema:` in models.yaml at an MLmodel file or a JSON signature, relative to models.yaml.', { cause: err });
  }
  let doc: unknown;
  try {
    doc = file.endsWith('.json') ? JSON.parse(text) : load(text);
  } catch (err) {
    throw new UserError('LOADTEST_SCHEMA_UNREADABLE', `${file}: not valid ${file.endsWith('.json') ? 'JSON' : 'YAML'} (${(err as Error).message.split('\n')[0]})`, undefined, { cause: err });
  }
  if (Array.isArray(doc)) return parseSignature({ inputs: doc }, file);
  const record = doc !== null && typeof doc === 'object' ? (doc as Record<string, unknown>) : {};
  if (basename(file) === 'MLmodel' || 'signature' in record) return parseSignature(record.signature, file);
  return parseSignature(record, file);
}
