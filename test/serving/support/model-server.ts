import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readMlflowModel } from '../../../serving/mlflow/read-mlflow-model.js';
import { createModelServer, type ModelServer } from '../../../serving/model-server/create-model-server.js';
import { loadOnnxRuntime } from '../../../serving/model-server/onnx-runtime.js';
import type { ServerConfig } from '../../../serving/model-server/server-config.js';
import { EXAMPLES_DIR } from './reference-models.js';

export const EXAMPLE_NAMES = ['match-logreg-v1', 'match-logreg-v2', 'match-trees', 'match-mlp'] as const;

export type ServerSettings = Pick<ServerConfig, 'modelName' | 'modelVersion' | 'batching' | 'maxRowsPerRequest' | 'maxBodyBytes'>;

export function settings(name: string, overrides: Partial<ServerSettings> = {}): ServerSettings {
  return {
    modelName: name,
    modelVersion: undefined,
    batching: { enabled: true, maxBatchSize: 256, maxWaitMs: 5 },
    maxRowsPerRequest: 1000,
    maxBodyBytes: 1024 * 1024,
    ...overrides,
  };
}

/** An in-process server for one example model with the real onnxruntime, warmed up and ready. */
export async function startExampleServer(name: string, overrides: Partial<ServerSettings> = {}): Promise<ModelServer> {
  const model = await readMlflowModel(join(EXAMPLES_DIR, name));
  const server = createModelServer({ model, config: settings(name, overrides) });
  await server.warmUp(await loadOnnxRuntime(model, { intraOpThreads: 1 }));
  return server;
}

export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'modelfleet-serving-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
