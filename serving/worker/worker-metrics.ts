import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { BATCH_ROWS_BUCKETS, INFERENCE_SECONDS_BUCKETS } from '../model-server/server-metrics.js';

/**
 * The names a queue worker's own metrics take: bulk workers count chunks of rows; stream workers
 * count batches of messages (a message is one row), under `modelfleet_stream_*`.
 */
const NAMES = {
  chunks: {
    units: 'modelfleet_worker_chunks_total', unitsHelp: 'Chunks handled, by outcome: scored, skipped (job cancelled or gone), released (failed, left for another attempt), dead_lettered.',
    rows: 'modelfleet_worker_rows_total', rowsHelp: 'Rows answered, by outcome: ok (a prediction) or failed (a per-row error).',
    claimed: 'modelfleet_worker_claimed_total', claimedHelp: 'Chunks claimed from workers presumed dead (XAUTOCLAIM).',
    lag: 'modelfleet_worker_lag_chunks', lagHelp: 'Chunks queued and not yet delivered to any worker (the consumer group lag).',
    pending: 'modelfleet_worker_pending_chunks', pendingHelp: 'Chunks delivered and not yet acknowledged, all workers.',
    inFlight: 'modelfleet_worker_in_flight_chunks', inFlightHelp: 'Chunks this worker is scoring now.',
    duration: 'modelfleet_worker_chunk_duration_seconds', durationHelp: 'From receiving a chunk to its acknowledgement.',
  },
  messages: {
    units: 'modelfleet_stream_batches_total', unitsHelp: 'Batches of messages handled, by outcome: scored (published and committed), released (failed, delivered again), dead_lettered (whole).',
    rows: 'modelfleet_stream_messages_total', rowsHelp: 'Messages answered, by outcome: ok (a prediction published) or failed (sent to the dead-letter topic with the reason).',
    claimed: 'modelfleet_stream_claimed_batches_total', claimedHelp: 'Batches claimed from workers presumed dead (Redis XAUTOCLAIM).',
    lag: 'modelfleet_stream_lag_messages', lagHelp: 'Messages of the input topic not yet committed by the consumer group (its lag).',
    pending: 'modelfleet_stream_pending_messages', pendingHelp: 'Messages delivered and not yet committed (Redis: all workers; Kafka: fetched by this worker).',
    inFlight: 'modelfleet_stream_in_flight_batches', inFlightHelp: 'Batches this worker is scoring now.',
    duration: 'modelfleet_stream_batch_duration_seconds', durationHelp: 'From receiving a batch to its commit.',
  },
} as const;

/**
 * Prometheus metrics of one queue worker, in their own registry. The batch and inference
 * histograms carry the model server's names, so one dashboard reads both.
 */
export function createWorkerMetrics(labels: { model: string; version: string }, unit: keyof typeof NAMES = 'chunks') {
  const names = NAMES[unit];
  const registry = new Registry();
  registry.setDefaultLabels(labels);
  collectDefaultMetrics({ register: registry, prefix: 'modelfleet_' });
  const chunks = new Counter({ name: names.units, help: names.unitsHelp, labelNames: ['outcome'] as const, registers: [registry] });
  const rows = new Counter({ name: names.rows, help: names.rowsHelp, labelNames: ['outcome'] as const, registers: [registry] });
  const claimed = new Counter({ name: names.claimed, help: names.claimedHelp, registers: [registry] });
  const lag = new Gauge({ name: names.lag, help: names.lagHelp, registers: [registry] });
  const pending = new Gauge({ name: names.pending, help: names.pendingHelp, registers: [registry] });
  const inFlight = new Gauge({ name: names.inFlight, help: names.inFlightHelp, registers: [registry] });
  const chunkDuration = new Histogram({
    name: names.duration, help: names.durationHelp, registers: [registry],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
  });
  const batchRows = new Histogram({
    name: 'modelfleet_batch_size_rows', help: 'Rows per inference call.', registers: [registry],
    buckets: [...BATCH_ROWS_BUCKETS],
  });
  const inference = new Histogram({
    name: 'modelfleet_inference_duration_seconds', help: 'onnxruntime time per inference call.', registers: [registry],
    buckets: [...INFERENCE_SECONDS_BUCKETS],
  });
  const ready = new Gauge({ name: 'modelfleet_model_ready', help: '1 once the model loaded, answered its warm-up call and the queue is reachable.', registers: [registry] });
  return { registry, chunks, rows, claimed, lag, pending, inFlight, chunkDuration, batchRows, inference, ready };
}

export type WorkerMetrics = ReturnType<typeof createWorkerMetrics>;
