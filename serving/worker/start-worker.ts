import Fastify, { LogController, type FastifyInstance } from 'fastify';
import { createLogger, type Logger } from '../../lib/log.js';
import { stopOnSignals } from '../../lib/stop-on-signals.js';
import { readMlflowModel } from '../mlflow/read-mlflow-model.js';
import { openModelSession, type ModelSession } from './model-session.js';
import { QueueWorker } from './queue-worker.js';
import { describeRedis } from './redis-connection.js';
import { RedisBulkSource } from './redis-bulk-source.js';
import type { WorkerConfig } from './worker-config.js';
import { createWorkerMetrics } from './worker-metrics.js';

export interface RunningWorker {
  /** Where /healthz, /readyz and /metrics answer. */
  readonly url: string;
  /** 'clean' once every chunk in hand was answered (or released); 'timeout' when that outlived SHUTDOWN_TIMEOUT_MS. */
  readonly stopped: Promise<'clean' | 'timeout'>;
  stop(reason?: string): Promise<void>;
}

/**
 * `modelfleet worker`: loads the model exactly as `serve` does (same session, same batching),
 * answers /healthz, /readyz and /metrics while it works, and drains the deployable's bulk stream
 * in the consumer group. SIGTERM / SIGINT: no new chunks are read, the chunks in hand are answered
 * and acknowledged, the connections close, and `stopped` resolves (the CLI then exits 0).
 */
export async function startWorker(config: WorkerConfig, logger: Logger = createLogger({ component: 'worker' })): Promise<RunningWorker> {
  const model = await readMlflowModel(config.server.modelDir);
  const modelName = config.server.modelName;
  const version = config.server.modelVersion ?? model.artifactDigest.replace(/^sha256:/, '').slice(0, 12);
  const metrics = createWorkerMetrics({ model: modelName, version });
  let session: ModelSession | undefined;
  let stopping = false;
  // Connects to Redis while the model loads; reading starts once it is loaded.
  const source = new RedisBulkSource({
    redis: config.redis,
    deployName: modelName,
    consumer: config.consumer,
    claimIdleMs: config.claimIdleMs,
    onStatus: (status, detail) => {
      if (status === 'lost') logger.warn({ detail }, 'lost the connection to Redis; reconnecting (chunks in hand wait, nothing is dropped)');
      else logger.info({ redis: detail }, 'connected to Redis again');
    },
  });
  const isReady = () => session !== undefined && source.connected && !stopping;

  const app: FastifyInstance = Fastify({ logger: false, logController: new LogController({ disableRequestLogging: true }) }) as unknown as FastifyInstance;
  app.get('/healthz', (_request, reply) => reply.send({ status: 'ok' }));
  app.get('/readyz', (_request, reply) => {
    const ready = isReady();
    metrics.ready.set(ready ? 1 : 0);
    return reply.code(ready ? 200 : 503).send({ ready, model: modelName, version, queue: source.description, redisConnected: source.connected });
  });
  app.get('/metrics', async (_request, reply) => reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()));
  const url = await app.listen({ port: config.server.port, host: config.server.host });
  logger.info({ url, model: modelName, version, redis: describeRedis(config.redis) }, 'worker listening; loading the model');

  try {
    session = await openModelSession(config.server, (report) => {
      metrics.batchRows.observe(report.rows);
      metrics.inference.observe(report.inferenceMs / 1000);
    }, model);
  } catch (err) {
    await source.close();
    await app.close();
    throw err;
  }
  const worker = new QueueWorker(session, source, config, metrics, logger);
  const running = worker.run();
  logger.info({ stream: source.description, consumer: config.consumer, maxInFlight: config.maxInFlight, claimIdleMs: config.claimIdleMs, maxDeliveries: config.maxDeliveries }, 'ready: reading chunks');

  let markStopped: (how: 'clean' | 'timeout') => void = () => {};
  const stopped = new Promise<'clean' | 'timeout'>((resolve) => { markStopped = resolve; });
  let stopPromise: Promise<void> | undefined;
  const stop = (reason = 'stop requested'): Promise<void> => {
    stopPromise ??= (async () => {
      stopping = true;
      metrics.ready.set(0);
      logger.info({ reason, inFlight: worker.inFlight }, 'stopping: no new chunks; answering the ones in hand');
      worker.stop();
      const timer = setTimeout(() => {
        logger.warn({ timeoutMs: config.server.shutdownTimeoutMs }, 'chunks in hand did not finish in time; exiting (they are claimed by another worker after the claim idle time)');
        markStopped('timeout');
      }, config.server.shutdownTimeoutMs);
      timer.unref();
      // A read normally returns within readBlockMs; one still waiting then has no Redis to answer it.
      const readTimer = setTimeout(() => source.interruptReads(), config.readBlockMs + 2_000);
      readTimer.unref();
      await running.catch((err: unknown) => logger.error({ err }, 'the worker loop failed'));
      clearTimeout(readTimer);
      clearTimeout(timer);
      await source.close();
      await session?.close();
      await app.close();
      logger.info('stopped cleanly');
      markStopped('clean');
    })();
    return stopPromise;
  };
  running.catch((err: unknown) => {
    logger.error({ err }, 'the worker loop failed; stopping');
    void stop('the worker loop failed');
  });
  stopOnSignals(stop, stopped);
  return { url, stopped, stop };
}
