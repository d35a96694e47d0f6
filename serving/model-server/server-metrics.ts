import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { FastHistogram } from './fast-histogram.js';

/**
 * Prometheus metrics of one model server, in their own registry (several servers can share a process
 * in tests). Names follow https://prometheus.io/docs/practices/naming/. The histograms observed on
 * every request or inference call are FastHistograms (fast-histogram.ts says why).
 */
/**
 * Buckets of the metrics the model server and the bulk worker both export under the same name,
 * so one dashboard reads both.
 */
export const BATCH_ROWS_BUCKETS: readonly number[] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096];
export const INFERENCE_SECONDS_BUCKETS: readonly number[] = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25];

export function createServerMetrics(labels: { model: string; version: string }) {
  const registry = new Registry();
  registry.setDefaultLabels(labels);
  collectDefaultMetrics({ register: registry, prefix: 'modelfleet_' });
  // Scoring requests answered 200 are counted in plain numbers and added to the counter whenever it is
  // read (prom-client calls collect() before every scrape): a labelled inc() costs ~0.25 µs a request.
  const scored = { invocations: 0, v2_infer: 0 };
  const requests = new Counter({
    name: 'modelfleet_requests_total', help: 'HTTP requests answered, by route and status code.',
    labelNames: ['route', 'code'] as const, registers: [registry],
    collect() {
      for (const route of ['invocations', 'v2_infer'] as const) {
        if (scored[route] === 0) continue;
        this.inc({ route, code: '200' }, scored[route]);
        scored[route] = 0;
      }
    },
  });
  // Likewise the rows scored: a plain number per request, added to the counter when it is read.
  const scoredRows = { count: 0 };
  const rows = new Counter({
    name: 'modelfleet_rows_total', help: 'Rows scored.', registers: [registry],
    collect() {
      if (scoredRows.count === 0) return;
      this.inc(scoredRows.count);
      scoredRows.count = 0;
    },
  });
  const latency = new FastHistogram({
    name: 'modelfleet_request_duration_seconds', help: 'Time from request headers to response, scoring routes.',
    labelNames: ['route'] as const, registers: [registry],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
  });
  const batchRows = new FastHistogram({
    name: 'modelfleet_batch_size_rows', help: 'Rows per inference call.', registers: [registry],
    buckets: [...BATCH_ROWS_BUCKETS],
  });
  const batchRequests = new FastHistogram({
    name: 'modelfleet_batch_size_requests', help: 'Requests merged into one inference call.', registers: [registry],
    buckets: [1, 2, 3, 4, 6, 8, 12, 16, 32, 64, 128],
  });
  const inference = new FastHistogram({
    name: 'modelfleet_inference_duration_seconds', help: 'onnxruntime time per inference call.', registers: [registry],
    buckets: [...INFERENCE_SECONDS_BUCKETS],
  });
  const queueWait = new FastHistogram({
    name: 'modelfleet_batch_queue_wait_seconds', help: 'How long the oldest request of a batch waited before inference.', registers: [registry],
    buckets: [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1],
  });
  const errors = new Counter({
    name: 'modelfleet_request_errors_total', help: 'Rejected or failed requests, by reason.',
    labelNames: ['reason'] as const, registers: [registry],
  });
  const ready = new Gauge({ name: 'modelfleet_model_ready', help: '1 once the model loaded and answered its warm-up call.', registers: [registry] });
  return { registry, requests, scored, scoredRows, rows, latency, batchRows, batchRequests, inference, queueWait, errors, ready };
}

export type ServerMetrics = ReturnType<typeof createServerMetrics>;
