import type { UpstreamErrorReason, VariantLabels } from './gateway-metrics.js';

/** Upper bounds (seconds) of the latency histogram: small models answer in milliseconds; the tail catches queuing and timeouts. */
export const DURATION_BUCKETS: readonly number[] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export const UPSTREAM_ERROR_REASONS: readonly UpstreamErrorReason[] = ['unreachable', 'reset', 'timeout', 'status_5xx', 'other'];
export type ShadowOutcome = 'ok' | 'error' | 'dropped';
export const SHADOW_OUTCOMES: readonly ShadowOutcome[] = ['ok', 'error', 'dropped'];

/**
 * Everything counted about one variant of one route, as plain numbers: requests by status code,
 * the latency histogram, upstream errors by reason, timeouts and shadow outcomes. A request only
 * adds to fields of the object its variant was compiled with; the Prometheus text is made when
 * /metrics is scraped. (prom-client hashes the label set on every `inc`, bound child or not, which
 * measured as a large share of the gateway's CPU time per request.)
 */
export class VariantStats {
  readonly codes = new Map<number, number>();
  /** Count per bucket (not cumulative); the last slot is +Inf. */
  readonly buckets = new Float64Array(DURATION_BUCKETS.length + 1);
  sum = 0;
  count = 0;
  /** By UPSTREAM_ERROR_REASONS index. */
  readonly upstreamErrors = new Float64Array(UPSTREAM_ERROR_REASONS.length);
  timeouts = 0;
  /** By SHADOW_OUTCOMES index. */
  readonly shadowOutcomes = new Float64Array(SHADOW_OUTCOMES.length);

  constructor(readonly labels: VariantLabels) {}

  record(code: number, seconds: number): void {
    this.codes.set(code, (this.codes.get(code) ?? 0) + 1);
    let i = 0;
    while (i < DURATION_BUCKETS.length && seconds > (DURATION_BUCKETS[i] as number)) i++;
    this.buckets[i] = (this.buckets[i] as number) + 1;
    this.sum += seconds;
    this.count += 1;
  }

  upstreamError(reason: UpstreamErrorReason): void {
    const i = UPSTREAM_ERROR_REASONS.indexOf(reason);
    this.upstreamErrors[i] = (this.upstreamErrors[i] as number) + 1;
    if (reason === 'timeout') this.timeouts += 1;
  }

  shadow(outcome: ShadowOutcome): void {
    const i = SHADOW_OUTCOMES.indexOf(outcome);
    this.shadowOutcomes[i] = (this.shadowOutcomes[i] as number) + 1;
  }
}

const REQUESTS = 'modelfleet_gateway_requests_total';
const DURATION = 'modelfleet_gateway_request_duration_seconds';

/** Prometheus text exposition (https://prometheus.io/docs/instrumenting/exposition_formats/) of every variant's requests and latency. */
export function renderVariantStats(all: Iterable<VariantStats>): string {
  const stats = [...all];
  const lines = [
    `# HELP ${REQUESTS} Requests the gateway answered on a model route (shadow copies under the shadow's variant), by HTTP status code (499: the caller hung up).`,
    `# TYPE ${REQUESTS} counter`,
  ];
  for (const s of stats) {
    const base = formatLabels(s.labels);
    for (const [code, n] of [...s.codes].sort((a, b) => a[0] - b[0])) lines.push(`${REQUESTS}{${base},code="${code}"} ${n}`);
  }
  lines.push('', `# HELP ${DURATION} Time from a request arriving to its answer being written, by route and variant.`, `# TYPE ${DURATION} histogram`);
  for (const s of stats) {
    const base = formatLabels(s.labels);
    let cumulative = 0;
    DURATION_BUCKETS.forEach((le, i) => {
      cumulative += s.buckets[i] as number;
      lines.push(`${DURATION}_bucket{${base},le="${le}"} ${cumulative}`);
    });
    lines.push(`${DURATION}_bucket{${base},le="+Inf"} ${s.count}`, `${DURATION}_sum{${base}} ${s.sum}`, `${DURATION}_count{${base}} ${s.count}`);
  }
  return `${lines.join('\n')}\n`;
}

function formatLabels(labels: VariantLabels): string {
  return Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',');
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}
