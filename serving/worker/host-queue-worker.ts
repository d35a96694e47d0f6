import Fastify, { LogController, type FastifyInstance } from 'fastify';
import type { Logger } from '../../lib/log.js';
import { stopOnSignals } from '../../lib/stop-on-signals.js';
import type { MlflowModel } from '../mlflow/read-mlflow-model.js';
import type { ServerConfig } from '../model-server/server-config.js';
import { openModelSession, type ModelSession } from './model-session.js';
import { QueueWorker, type QueueWorkerOptions } from './queue-worker.js';
import type { Delivery, WorkSource } from './work-source.js';
import type { WorkerMetrics } from './worker-metrics.js';

export interface RunningWorker {
  /** Where /healthz, /readyz and /metrics answer. */
  readonly url: string;
  /**
   * 'clean' once every unit in hand was answered (or released); 'timeout' when that outlived
   * SHUTDOWN_TIMEOUT_MS; 'failed' when the worker loop itself failed (the broker refused it for good).
   */
  readonly stopped: Promise<'clean' | 'timeout' | 'failed'>;
  stop(reason?: string): Promise<void>;
}

/** A work source the host can report on and cut short. */
export interface HostedSource<D extends Delivery> extends WorkSource<D> {
  /** True while the broker connection is up (/readyz). */
  readonly connected: boolean;
  /** Ends a read still waiting (the stop has begun). */
  interruptReads(): void;
  /** Why the transport cannot go on (a client that gave up for good): /healthz fails, so the pod is restarted. */
  readonly fatal?: string | undefined;
}

export interface HostOptions<D extends Delivery> {
  readonly server: ServerConfig;
  readonly queue: QueueWorkerOptions;
  readonly model: MlflowModel;
  readonly version: string;
  /** Connects while the model loads; reading starts once it is loaded. */
  readonly source: HostedSource<D>;
  readonly metrics: WorkerMetrics;
  /** Shown in the start-up lines and /readyz, e.g. the Redis address or the topic. */
  readonly where: Readonly<Record<string, unknown>>;
  /** Extra /readyz fields of the transport (the bulk worker's `redisConnected`). */
  readonly readyFields?: (connected: boolean) => Readonly<Record<string, unknown>>;
  /** What the logs call a unit of work: chunks (bulk) or batches (streams). */
  readonly unit: string;
}

/**
 * What every queue worker (`modelfleet worker`, `modelfleet worker --stream`) does around its
 * transport: loads the model exactly as `serve` does (same session, same batching), answers
 * /healthz, /readyz and /metrics while it works, and runs the queue worker loop. SIGTERM / SIGINT:
 * nothing new is read, the work in hand is answered and acknowledged, the connections close, and
 * `stopped` resolves (the CLI then exits 0).
 */
export async function hostQueueWorker<D extends Delivery>(options: HostOptions<D>, logger: Logger): Promise<RunningWorker> {
  const { server, source, metrics, model, version } = options;
  const modelName = server.modelName;
  let session: ModelSession | undefined;
  let stopping = false;
  const isReady = () => session !== undefined && source.connected && !stopping;

  const app: FastifyInstance = Fastify({ logger: false, logController: new LogController({ disableRequestLogging: true }) }) as unknown as FastifyInstance;
  app.get('/healthz', (_request, reply) => (source.fatal === undefined ? reply.send({ status: 'ok' }) : reply.code(503).send({ status: 'failed', reason: source.fatal })));
  app.get('/readyz', (_request, reply) => {
    const ready = isReady();
    metrics.ready.set(ready ? 1 : 0);
    return reply.code(ready ? 200 : 503).send({ ready, model: modelName, version, queue: source.description, connected: source.connected, ...options.readyFields?.(source.connected) });
  });
  app.get('/metrics', async (_request, reply) => reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()));
  const url = await app.listen({ port: server.port, host: server.host });
  logger.info({ url, model: modelName, version, ...options.where }, 'worker listening; loading the model');

  try {
    session = await openModelSession(server, (report) => {
      metrics.batchRows.observe(report.rows);
      metrics.inference.observe(report.inferenceMs / 1000);
    }, model);
  } catch (err) {
    await source.close();
    await app.close();
    throw err;
  }
  const worker = new QueueWorker(session, source, options.queue, metrics, logger);
  const running = worker.run();
  logger.info({ source: source.description, ...queueSettings(options) }, `ready: reading ${options.unit}`);

  let markStopped: (how: 'clean' | 'timeout' | 'failed') => void = () => {};
  const stopped = new Promise<'clean' | 'timeout' | 'failed'>((resolve) => { markStopped = resolve; });
  let loopFailed = false;
  let stopPromise: Promise<void> | undefined;
  const stop = (reason = 'stop requested'): Promise<void> => {
    stopPromise ??= (async () => {
      stopping = true;
      metrics.ready.set(0);
      logger.info({ reason, inFlight: worker.inFlight }, `stopping: no new ${options.unit}; answering the ones in hand`);
      worker.stop();
      const timer = setTimeout(() => {
        logger.warn({ timeoutMs: server.shutdownTimeoutMs }, `${options.unit} in hand did not finish in time; exiting (they are delivered again to another worker)`);
        markStopped('timeout');
      }, server.shutdownTimeoutMs);
      timer.unref();
      // A read normally returns within readBlockMs; one still waiting then has no broker to answer it.
      const readTimer = setTimeout(() => source.interruptReads(), options.queue.readBlockMs + 2_000);
      readTimer.unref();
      await running.catch((err: unknown) => logger.error({ err }, 'the worker loop failed'));
      clearTimeout(readTimer);
      clearTimeout(timer);
      await source.close();
      await session?.close();
      await app.close();
      if (loopFailed) {
        markStopped('failed');
        return;
      }
      logger.info('stopped cleanly');
      markStopped('clean');
    })();
    return stopPromise;
  };
  running.catch((err: unknown) => {
    loopFailed = true;
    logger.error({ err }, 'the worker loop failed; stopping');
    void stop('the worker loop failed');
  });
  stopOnSignals(stop, stopped);
  return { url, stopped, stop };
}

function queueSettings<D extends Delivery>(options: HostOptions<D>): Record<string, number> {
  const { maxInFlight, readBlockMs, claimIntervalMs, maxDeliveries } = options.queue;
  return { maxInFlight, readBlockMs, claimIntervalMs, maxDeliveries };
}
