import type { Pool } from 'undici';
import type { Counter } from 'prom-client';
import type { GatewayMetrics, VariantLabels } from './gateway-metrics.js';
import { bucketOwners } from './pick-variant.js';
import type { RouteEntry, RouteTable, RouteVariant } from './route-table.js';
import type { UpstreamPools } from './upstream-pools.js';
import type { VariantStats } from './variant-stats.js';

/** One variant, ready for the hot path: its pool, request path and pre-bound metric children. */
export interface LiveVariant {
  readonly spec: RouteVariant;
  readonly origin: string;
  readonly pool: Pool;
  /** Upstream base path + predict path, e.g. `/invocations`. */
  readonly path: string;
  readonly labels: VariantLabels;
  /** Request counts and latency (shared with earlier tables that had the same variant). */
  readonly stats: VariantStats;
  readonly timeouts: Counter.Internal;
  /** When this variant's last upstream failure was logged, to keep logs readable when a model is down. */
  lastErrorLoggedAt: number;
}

export interface LiveRoute {
  readonly entry: RouteEntry;
  readonly serving: readonly LiveVariant[];
  readonly shadows: readonly LiveVariant[];
  /** Bucket (0..99) → index into `serving`. */
  readonly owners: Uint8Array;
}

/**
 * A route table compiled for serving. Immutable once built; the gateway swaps whole tables, and a
 * request keeps the table it started on until it finishes (`inFlight`), then the old table lets go
 * of its pools.
 */
export class LiveTable {
  readonly routes = new Map<string, LiveRoute>();
  inFlight = 0;
  #retired = false;
  #released = false;

  constructor(
    readonly table: RouteTable,
    private readonly pools: UpstreamPools,
    metrics: GatewayMetrics,
  ) {
    for (const entry of table.routes) {
      const live = entry.variants.map((spec) => liveVariant(entry, spec, pools, metrics));
      const serving = live.filter((v) => !v.spec.shadow);
      this.routes.set(entry.route, {
        entry,
        serving,
        shadows: live.filter((v) => v.spec.shadow),
        owners: bucketOwners(serving.map((v) => v.spec.weight)),
      });
    }
  }

  /** Marks the table replaced; its pools are let go once its last request finished. */
  retire(): void {
    this.#retired = true;
    this.releaseIfDone();
  }

  finish(): void {
    this.inFlight -= 1;
    if (this.#retired) this.releaseIfDone();
  }

  private releaseIfDone(): void {
    if (this.inFlight > 0 || this.#released) return;
    this.#released = true;
    for (const route of this.routes.values()) {
      for (const v of [...route.serving, ...route.shadows]) this.pools.release(v.origin);
    }
  }
}

function liveVariant(entry: RouteEntry, spec: RouteVariant, pools: UpstreamPools, metrics: GatewayMetrics): LiveVariant {
  const url = new URL(spec.upstream);
  const labels: VariantLabels = { route: entry.route, model: entry.model, variant: spec.id, deploy_name: spec.deployName };
  return {
    spec,
    origin: url.origin,
    pool: pools.acquire(url.origin),
    path: `${url.pathname.replace(/\/+$/, '')}${spec.predictPath}`,
    labels,
    stats: metrics.statsFor(labels),
    timeouts: metrics.timeouts.labels(labels),
    lastErrorLoggedAt: 0,
  };
}
