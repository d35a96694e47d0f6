import { resolve, dirname } from 'node:path';
import type { FleetSpec } from '../../generator/fleet/types.js';
import { readMlflowModel, type InputExample } from '../mlflow/read-mlflow-model.js';
import type { JsonValue, VariantInputs } from './route-table.js';
import { signatureToJsonSchema } from './signature-to-json-schema.js';

/**
 * Reads the input schema (and example) of every variant whose model sits in a local MLflow
 * directory (`source: { path: ... }`), for the OpenAPI document. Registry and image sources
 * are left out: their schema is known only after the build job fetched them.
 * Returns a map by deployName, ready for `buildRouteTable`'s `inputsFor`. Throws on the first
 * model that cannot be read; deploys use `readRouteInputsOrWarn`.
 */
export async function readRouteInputs(fleet: FleetSpec): Promise<ReadonlyMap<string, VariantInputs>> {
  const found = new Map<string, VariantInputs>();
  for (const { deployName, dir } of localVariants(fleet)) found.set(deployName, await readVariantInputs(dir));
  return found;
}

/**
 * Like `readRouteInputs`, for deploys: a variant whose model cannot be read is left out of the
 * map and `warn` gets one line naming it and the reason. The route itself still works (the
 * gateway proxies bodies as they are); only its input schema and example are missing from the
 * OpenAPI document, and the person deploying should know why rather than find it gone.
 */
export async function readRouteInputsOrWarn(fleet: FleetSpec, warn: (line: string) => void): Promise<ReadonlyMap<string, VariantInputs>> {
  const found = new Map<string, VariantInputs>();
  for (const { deployName, dir } of localVariants(fleet)) {
    try {
      found.set(deployName, await readVariantInputs(dir));
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      warn(`warning: ${deployName}: the gateway's OpenAPI document has no input schema for it: ${reason}`);
    }
  }
  return found;
}

/** The variants with a local MLflow directory, with that directory resolved against models.yaml's folder. */
function localVariants(fleet: FleetSpec): Array<{ deployName: string; dir: string }> {
  const base = dirname(fleet.file);
  return fleet.models.flatMap((model) => model.variants.flatMap((variant) =>
    variant.source.kind === 'path' ? [{ deployName: variant.deployName, dir: resolve(base, variant.source.path) }] : []));
}

async function readVariantInputs(dir: string): Promise<VariantInputs> {
  const mlflow = await readMlflowModel(dir);
  const example = toRequestExample(mlflow.inputExample);
  return {
    schema: signatureToJsonSchema(mlflow.signature.inputs),
    ...(example === undefined ? {} : { example }),
  };
}

/** The input example as a scoring request body (it came from JSON, so it is JSON). */
function toRequestExample(example: InputExample | undefined): JsonValue | undefined {
  if (example === undefined) return undefined;
  const data = example.data as unknown as JsonValue;
  return example.columns.length === 0 ? { inputs: data } : { dataframe_split: { columns: [...example.columns], data } };
}
