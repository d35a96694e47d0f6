import { resolve, dirname } from 'node:path';
import type { FleetSpec } from '../../generator/fleet/types.js';
import { readMlflowModel, type InputExample } from '../mlflow/read-mlflow-model.js';
import type { JsonValue, VariantInputs } from './route-table.js';
import { signatureToJsonSchema } from './signature-to-json-schema.js';

/**
 * Reads the input schema (and example) of every variant whose model sits in a local MLflow
 * directory (`source: { path: ... }`), for the OpenAPI document. Registry and image sources
 * are left out: their schema is known only after the build job fetched them.
 * Returns a map by deployName, ready for `buildRouteTable`'s `inputsFor`.
 */
export async function readRouteInputs(fleet: FleetSpec): Promise<ReadonlyMap<string, VariantInputs>> {
  const base = dirname(fleet.file);
  const found = new Map<string, VariantInputs>();
  for (const model of fleet.models) {
    for (const variant of model.variants) {
      if (variant.source.kind !== 'path') continue;
      const mlflow = await readMlflowModel(resolve(base, variant.source.path));
      const example = toRequestExample(mlflow.inputExample);
      found.set(variant.deployName, {
        schema: signatureToJsonSchema(mlflow.signature.inputs),
        ...(example === undefined ? {} : { example }),
      });
    }
  }
  return found;
}

/** The input example as a scoring request body (it came from JSON, so it is JSON). */
function toRequestExample(example: InputExample | undefined): JsonValue | undefined {
  if (example === undefined) return undefined;
  const data = example.data as unknown as JsonValue;
  return example.columns.length === 0 ? { inputs: data } : { dataframe_split: { columns: [...example.columns], data } };
}
