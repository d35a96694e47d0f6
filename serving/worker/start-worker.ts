import { createLogger, type Logger } from '../../lib/log.js';
import { readMlflowModel } from '../mlflow/read-mlflow-model.js';
import { hostQueueWorker, type RunningWorker } from './host-queue-worker.js';
import { describeRedis } from './redis-connection.js';
import { RedisBulkSource } from './redis-bulk-source.js';
import type { WorkerConfig } from './worker-config.js';
import { createWorkerMetrics } from './worker-metrics.js';

export type { RunningWorker } from './host-queue-worker.js';

/**
 * `modelfleet worker`: drains the deployable's bulk stream in the consumer group, with the model
 * loaded exactly as `serve` loads it (host-queue-worker.ts: /healthz, /readyz, /metrics, graceful
 * stop on SIGTERM / SIGINT).
 */
export async function startWorker(config: WorkerConfig, logger: Logger = createLogger({ component: 'worker' })): Promise<RunningWorker> {
  const model = await readMlflowModel(config.server.modelDir);
  const version = config.server.modelVersion ?? model.artifactDigest.replace(/^sha256:/, '').slice(0, 12);
  const source = new RedisBulkSource({
    redis: config.redis,
    deployName: config.server.modelName,
    consumer: config.consumer,
    claimIdleMs: config.claimIdleMs,
    onStatus: (status, detail) => {
      if (status === 'lost') logger.warn({ detail }, 'lost the connection to Redis; reconnecting (chunks in hand wait, nothing is dropped)');
      else logger.info({ redis: detail }, 'connected to Redis again');
    },
  });
  return hostQueueWorker({
    server: config.server,
    queue: { maxInFlight: config.maxInFlight, readBlockMs: config.readBlockMs, claimIntervalMs: config.claimIntervalMs, maxDeliveries: config.maxDeliveries },
    model,
    version,
    source,
    metrics: createWorkerMetrics({ model: config.server.modelName, version }),
    where: { redis: describeRedis(config.redis), consumer: config.consumer, claimIdleMs: config.claimIdleMs },
    readyFields: (connected) => ({ redisConnected: connected }),
    unit: 'chunks',
  }, logger);
}
