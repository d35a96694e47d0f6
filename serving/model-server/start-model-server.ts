import { createLogger, type Logger } from '../../lib/log.js';
import { stopOnSignals } from '../../lib/stop-on-signals.js';
import { readMlflowModel } from '../mlflow/read-mlflow-model.js';
import { createModelServer, type ModelServer } from './create-model-server.js';
import { loadOnnxRuntime } from './onnx-runtime.js';
import type { ServerConfig } from './server-config.js';

export interface RunningModelServer {
  readonly server: ModelServer;
  /** The address the server listens on (the real port when 0 was asked for). */
  readonly url: string;
  /** Resolves when the server has shut down after a signal or `stop()`: 'clean', or 'timeout' when in-flight requests outlived SHUTDOWN_TIMEOUT_MS. */
  readonly stopped: Promise<'clean' | 'timeout'>;
  stop(reason?: string): Promise<void>;
}

/**
 * The I/O shell around `createModelServer`: reads the model directory, starts listening (so /healthz
 * answers while the model loads), loads the ONNX graph, runs the warm-up call, then reports ready.
 * SIGTERM / SIGINT: /readyz turns 503 and responses carry `Connection: close` for SHUTDOWN_DELAY_MS, then
 * the listener closes, in-flight requests finish, and it resolves
 * `stopped` (the CLI then exits 0). A load failure rejects with a UserError naming the model and why.
 */
export async function startModelServer(config: ServerConfig, logger: Logger = createLogger({ component: 'model-server' })): Promise<RunningModelServer> {
  const model = await readMlflowModel(config.modelDir);
  const server = createModelServer({ model, config, logger });
  const url = await server.listen({ port: config.port, host: config.host });
  logger.info({ url, model: server.modelName, version: server.modelVersion, digest: model.artifactDigest, batching: config.batching }, 'listening; loading the model');
  let stopping: Promise<void> | undefined;
  let markStopped: (how: 'clean' | 'timeout') => void = () => {};
  const stopped = new Promise<'clean' | 'timeout'>((resolve) => { markStopped = resolve; });
  const stop = (reason = 'stop requested'): Promise<void> => {
    stopping ??= (async () => {
      logger.info({ reason }, 'shutting down: no new requests, finishing in-flight ones');
      const timer = setTimeout(() => {
        logger.warn({ timeoutMs: config.shutdownTimeoutMs }, 'in-flight requests did not finish in time; exiting anyway');
        markStopped('timeout');
      }, config.shutdownTimeoutMs);
      timer.unref();
      server.beginDrain();
      if (config.shutdownDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, config.shutdownDelayMs));
      await server.close();
      clearTimeout(timer);
      logger.info('shut down cleanly');
      markStopped('clean');
    })();
    return stopping;
  };
  stopOnSignals(stop, stopped);
  try {
    const runtime = await loadOnnxRuntime(model, { intraOpThreads: config.intraOpThreads });
    await server.warmUp(runtime);
  } catch (err) {
    await server.close();
    throw err;
  }
  logger.info({ model: server.modelName, version: server.modelVersion }, 'ready: the model answered its warm-up call');
  return { server, url, stopped, stop };
}
