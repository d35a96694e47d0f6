import { readMlflowModel, type MlflowModel } from '../mlflow/read-mlflow-model.js';
import { AdaptiveBatcher, type BatchReport, type ResultSlice } from '../model-server/adaptive-batcher.js';
import { warmUpBatch } from '../model-server/create-model-server.js';
import { loadOnnxRuntime, type ModelRuntime } from '../model-server/onnx-runtime.js';
import type { RowBatch } from '../model-server/row-batch.js';
import type { ServerConfig } from '../model-server/server-config.js';
import { RequestValidator } from '../model-server/validate-request.js';

/**
 * One loaded model as the queue workers use it: the same pieces `modelfleet serve` runs (the
 * MLmodel reader, the onnxruntime session, the request validator and the adaptive batcher, with
 * the same settings from the same environment variables), without the HTTP server around them.
 * The bulk worker and the stream worker both score through one of these, so a row gets the same
 * answer whichever way it arrives.
 */
export interface ModelSession {
  readonly model: MlflowModel;
  readonly modelName: string;
  readonly modelVersion: string;
  readonly validator: RequestValidator;
  /** Scores validated rows through the batcher (several chunks in flight may share a call). */
  score(batch: RowBatch): Promise<ResultSlice>;
  /** Resolves once nothing is queued or running. */
  drain(): Promise<void>;
  close(): Promise<void>;
}

export type SessionSettings = Pick<ServerConfig, 'modelDir' | 'modelName' | 'modelVersion' | 'batching' | 'intraOpThreads'>;

/** Most rows the validator takes in one call: a whole chunk is validated at once. */
export const MAX_ROWS_PER_CALL = 1_000_000;

/**
 * Reads the model directory, loads the ONNX graph and runs the same warm-up call as the model
 * server (the input example, or one row of zeros), so a session that opens is one that answers.
 */
export async function openModelSession(
  settings: SessionSettings,
  onBatch: (report: BatchReport) => void = () => {},
  read: MlflowModel | undefined = undefined,
): Promise<ModelSession> {
  const model = read ?? (await readMlflowModel(settings.modelDir));
  const validator = new RequestValidator(model.signature, { maxRows: MAX_ROWS_PER_CALL });
  const runtime: ModelRuntime = await loadOnnxRuntime(model, { intraOpThreads: settings.intraOpThreads });
  const batcher = new AdaptiveBatcher((parts) => runtime.run(parts), settings.batching, onBatch);
  const started = performance.now();
  const outputs = await runtime.run([warmUpBatch(validator, model)]);
  batcher.latency.record(1, performance.now() - started);
  if (outputs.length === 0) {
    await runtime.close();
    throw new Error('the warm-up inference returned no outputs');
  }
  return {
    model,
    modelName: settings.modelName,
    modelVersion: settings.modelVersion ?? model.artifactDigest.replace(/^sha256:/, '').slice(0, 12),
    validator,
    score: (batch) => batcher.submit(batch),
    drain: () => batcher.drain(),
    async close() {
      await batcher.drain();
      await runtime.close();
    },
  };
}
