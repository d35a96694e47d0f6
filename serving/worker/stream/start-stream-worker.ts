import { createLogger, type Logger } from '../../../lib/log.js';
import { readMlflowModel } from '../../mlflow/read-mlflow-model.js';
import { hostQueueWorker, type RunningWorker } from '../host-queue-worker.js';
import { describeRedis } from '../redis-connection.js';
import { createWorkerMetrics } from '../worker-metrics.js';
import { KafkaTransport } from './kafka-transport.js';
import { RedisStreamTransport } from './redis-stream-transport.js';
import type { StreamBatch, StreamTransport } from './stream-transport.js';
import type { StreamWorkerConfig } from './stream-worker-config.js';
import { StreamWorkSource } from './stream-work-source.js';

/**
 * `modelfleet worker --stream`: consumes the model's input topic in its consumer group, scores
 * each batch of messages with the model loaded exactly as `serve` loads it, and publishes the
 * predictions (and the dead letters) before committing (host-queue-worker.ts: /healthz, /readyz,
 * /metrics, graceful stop on SIGTERM / SIGINT).
 */
export async function startStreamWorker(config: StreamWorkerConfig, logger: Logger = createLogger({ component: 'stream-worker' })): Promise<RunningWorker> {
  const model = await readMlflowModel(config.server.modelDir);
  const version = config.server.modelVersion ?? model.artifactDigest.replace(/^sha256:/, '').slice(0, 12);
  const { input, output, deadLetter, group, consumer, batchSize } = config;
  const connection = config.connection;
  let transport: StreamTransport<StreamBatch>;
  let where: Record<string, unknown>;
  if (connection.transport === 'kafka') {
    transport = new KafkaTransport({ kafka: connection.kafka, input, output, deadLetter, group, consumer, batchSize, partitionsAtOnce: config.maxInFlight, fetchWaitMs: config.readBlockMs }, logger);
    where = { kafka: connection.kafka.brokers.join(','), input, output, deadLetter, group };
  } else {
    transport = new RedisStreamTransport({
      redis: connection.redis, input, output, deadLetter, group, consumer, batchSize, claimIdleMs: config.claimIdleMs,
      onStatus: (status, detail) => {
        if (status === 'lost') logger.warn({ detail }, 'lost the connection to Redis; reconnecting (batches in hand wait, nothing is dropped)');
        else logger.info({ redis: detail }, 'connected to Redis again');
      },
    });
    where = { redis: describeRedis(connection.redis), input, output, deadLetter, group };
  }
  const metrics = createWorkerMetrics({ model: config.server.modelName, version }, 'messages');
  const source = new StreamWorkSource(transport, { model: config.server.modelName, version, digest: model.artifactDigest }, (refused) => metrics.rows.labels('failed').inc(refused));
  return hostQueueWorker({
    server: config.server,
    queue: { maxInFlight: config.maxInFlight, readBlockMs: config.readBlockMs, claimIntervalMs: config.claimIntervalMs, maxDeliveries: config.maxDeliveries },
    model,
    version,
    source,
    metrics,
    where: { ...where, consumer, batchSize },
    unit: 'batches',
  }, logger);
}
