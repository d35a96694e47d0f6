import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { SHADOW_OUTCOMES, UPSTREAM_ERROR_REASONS, VariantStats, renderVariantStats } from './variant-stats.js';

/** Labels that name one variant of one route in every per-variant metric. */
export const VARIANT_LABELS = ['route', 'model', 'variant', 'deploy_name'] as const;

export interface VariantLabels {
  readonly route: string;
  readonly model: string;
  readonly variant: string;
  readonly deploy_name: string;
}

/** Why an upstream call failed, as the `reason` label of modelfleet_gateway_upstream_errors_total. */
export type UpstreamErrorReason = 'unreachable' | 'reset' | 'timeout' | 'status_5xx' | 'other';

/**
 * The gateway's Prometheus metrics, in their own registry (several gateways can share a process in tests).
 * Every per-variant number lives in a VariantStats, bound to the variant when a route table is
 * compiled: a request adds to plain fields and never reaches prom-client. The per-variant counters
 * below are copied from those objects when /metrics is scraped (`collect`); requests and latency
 * are rendered directly (renderVariantStats). Only gateway-wide events without labels on the
 * request path (unknown routes) call prom-client per request.
 */
export class GatewayMetrics {
  readonly registry = new Registry();
  /** Per-variant counts, kept across reloads (counters must never go back). */
  readonly #stats = new Map<string, VariantStats>();

  readonly upstreamErrors: Counter = new Counter({
    name: 'modelfleet_gateway_upstream_errors_total',
    help: 'Upstream calls that failed (unreachable, reset, timeout, 5xx answer), by route, variant and reason.',
    labelNames: [...VARIANT_LABELS, 'reason'],
    registers: [this.registry],
    collect: (): void => this.#copy(this.upstreamErrors, (s, add) => UPSTREAM_ERROR_REASONS.forEach((reason, i) => add({ reason }, s.upstreamErrors[i] as number))),
  });
  readonly timeouts: Counter = new Counter({
    name: 'modelfleet_gateway_upstream_timeouts_total',
    help: 'Upstream calls that did not answer within UPSTREAM_TIMEOUT_MS, by route and variant.',
    labelNames: [...VARIANT_LABELS],
    registers: [this.registry],
    collect: (): void => this.#copy(this.timeouts, (s, add) => add({}, s.timeouts)),
  });
  readonly shadowRequests: Counter = new Counter({
    name: 'modelfleet_gateway_shadow_requests_total',
    help: 'Mirrored requests to shadow variants, by outcome (ok, error, dropped when too many were in flight).',
    labelNames: [...VARIANT_LABELS, 'outcome'],
    registers: [this.registry],
    collect: (): void => this.#copy(this.shadowRequests, (s, add) => SHADOW_OUTCOMES.forEach((outcome, i) => add({ outcome }, s.shadowOutcomes[i] as number))),
  });
  readonly unknownRoutes = new Counter({
    name: 'modelfleet_gateway_unknown_route_requests_total',
    help: 'Requests to paths that are no model route (answered 404).',
    registers: [this.registry],
  });
  readonly reloads = new Counter({
    name: 'modelfleet_gateway_route_table_reloads_total',
    help: 'Route table reloads, by result (ok, error).',
    labelNames: ['result'],
    registers: [this.registry],
  });
  readonly routes = new Gauge({
    name: 'modelfleet_gateway_routes',
    help: 'Model routes in the active route table.',
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'modelfleet_gateway_' });
  }

  /** The stats of one route's variant; the same labels give the same object, so a reload keeps counting. Called when a table is compiled, never per request. */
  statsFor(labels: VariantLabels): VariantStats {
    const key = `${labels.route}\u0000${labels.model}\u0000${labels.variant}\u0000${labels.deploy_name}`;
    let stats = this.#stats.get(key);
    if (!stats) {
      stats = new VariantStats(labels);
      this.#stats.set(key, stats);
    }
    return stats;
  }

  /** Refills a per-variant counter from the stats (scrape time only); series that never counted stay out. */
  #copy(counter: Counter, each: (stats: VariantStats, add: (extra: Record<string, string>, value: number) => void) => void): void {
    counter.reset();
    for (const stats of this.#stats.values()) {
      each(stats, (extra, value) => {
        if (value > 0) counter.inc({ ...stats.labels, ...extra }, value);
      });
    }
  }

  /** More plain-field metrics rendered at scrape time (the cold start gates' counts). */
  readonly #extraText: (() => string)[] = [];

  addText(render: () => string): void {
    this.#extraText.push(render);
  }

  /** Everything /metrics shows. */
  async render(): Promise<string> {
    const extra = this.#extraText.map((render) => render()).filter((text) => text !== '').map((text) => `${text}\n`).join('');
    return `${renderVariantStats(this.#stats.values())}\n${extra}${await this.registry.metrics()}`;
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
