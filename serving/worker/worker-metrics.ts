import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { BATCH_ROWS_BUCKETS, INFERENCE_SECONDS_BUCKETS } from '../model-server/server-metrics.js';

/**
 * Prometheus metrics of one queue worker, in their own registry. The batch and inference
 * histograms carry the model server's names, so one dashboard reads both.
 */
export function createWorkerMetrics(labels: { model: string; version: string }) {
  const registry = new Registry();
  registry.setDefaultLabels(labels);
  collectDefaultMetrics({ register: registry, prefix: 'modelfleet_' });
  const chunks = new Counter({
    name: 'modelfleet_worker_chunks_total', help: 'Chunks handled, by outcome: scored, skipped (job cancelled or gone), released (failed, left for another attempt), dead_lettered.',
    labelNames: ['outcome'] as const, registers: [registry],
  });
  const rows = new Counter({
    name: 'modelfleet_worker_rows_total', help: 'Rows answered, by outcome: ok (a prediction) or failed (a per-row error).',
    labelNames: ['outcome'] as const, registers: [registry],
  });
  const claimed = new Counter({ name: 'modelfleet_worker_claimed_total', help: 'Chunks claimed from workers presumed dead (XAUTOCLAIM).', registers: [registry] });
  const lag = new Gauge({ name: 'modelfleet_worker_lag_chunks', help: 'Chunks queued and not yet delivered to any worker (the consumer group lag).', registers: [registry] });
  const pending = new Gauge({ name: 'modelfleet_worker_pending_chunks', help: 'Chunks delivered and not yet acknowledged, all workers.', registers: [registry] });
  const inFlight = new Gauge({ name: 'modelfleet_worker_in_flight_chunks', help: 'Chunks this worker is scoring now.', registers: [registry] });
  const chunkDuration = new Histogram({
    name: 'modelfleet_worker_chunk_duration_seconds', help: 'From receiving a chunk to its acknowledgement.', registers: [registry],
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
