import type { ColdStartGate } from './cold-start-gate.js';
import type { GatewayMetrics, VariantLabels } from './gateway-metrics.js';
import type { UpstreamPool } from './http1/upstream-pool.js';
import { splitThresholds } from './pick-variant.js';
import { versionPath, type KeptVersion, type RouteEntry, type RouteTable, type RouteVariant } from './route-table.js';
import type { UpstreamPools } from './upstream-pools.js';
import type { VariantStats } from './variant-stats.js';

/** Response headers naming who answered. */
export const MODEL_HEADER = 'x-modelfleet-model';
export const VARIANT_HEADER = 'x-modelfleet-variant';
export const DEPLOY_NAME_HEADER = 'x-modelfleet-deploy-name';
/** The model version that answered, when the route table knows it. */
export const VERSION_HEADER = 'x-modelfleet-version';

/** One variant, ready for the hot path: its pool, the fixed parts of its request and answer heads, and its counters. */
export interface LiveVariant {
  readonly spec: RouteVariant;
  readonly origin: string;
  readonly pool: UpstreamPool;
  /** Upstream base path + predict path, e.g. `/invocations`. */
  readonly path: string;
  /** `POST <path> HTTP/1.1` and the host line: the start of every request to this variant. */
  readonly requestLine: string;
  /** The x-modelfleet-* lines added to every answer from this variant. */
  readonly answerLines: string;
  readonly labels: VariantLabels;
  /** Every count about this variant (shared with earlier tables that had the same variant). */
  readonly stats: VariantStats;
  /** When this variant's last upstream failure was logged, to keep logs readable when a model is down. */
  lastErrorLoggedAt: number;
  /** Present when the variant may sleep (`scaleToZero` in the route table): holds requests while it wakes. */
  readonly gate: ColdStartGate | undefined;
}

/** The gate of a variant that may sleep (shared with earlier tables that had the same variant); undefined for the others. */
export type GateFor = (entry: RouteEntry, spec: RouteVariant, labels: VariantLabels) => ColdStartGate | undefined;

export interface LiveRoute {
  readonly entry: RouteEntry;
  /** Set on `<route>/versions/<version>` paths: the one version this path reaches. */
  readonly version?: string;
  readonly serving: readonly LiveVariant[];
  readonly shadows: readonly LiveVariant[];
  /** Exclusive upper bound of each serving variant's share of the 32-bit hash space (see pick-variant.ts). */
  readonly thresholds: Float64Array;
}

/**
 * A route table compiled for serving. Immutable once built; the gateway swaps whole tables, and a
 * request keeps the table it started on until it finishes (`inFlight`), then the old table lets go
 * of its pools.
 */
export class LiveTable {
  /** Model routes and their version paths (`<route>/versions/<version>`), so a request costs one lookup either way. */
  readonly routes = new Map<string, LiveRoute>();
  /** Each route's reachable versions, current first: what a miss on `<route>/versions/<unknown>` lists. */
  readonly versions = new Map<string, readonly string[]>();
  /** Every compiled variant, each holding one reference on its origin's pool. */
  readonly #variants: LiveVariant[] = [];
  inFlight = 0;
  #retired = false;
  #released = false;

  constructor(
    readonly table: RouteTable,
    private readonly pools: UpstreamPools,
    metrics: GatewayMetrics,
    gateFor: GateFor = () => undefined,
  ) {
    for (const entry of table.routes) {
      const live = entry.variants.map((spec) => liveVariant(entry, spec, pools, metrics, gateFor));
      this.#variants.push(...live);
      const serving = live.filter((v) => !v.spec.shadow);
      this.routes.set(entry.route, {
        entry,
        serving,
        shadows: live.filter((v) => v.spec.shadow),
        thresholds: splitThresholds(serving.map((v) => v.spec.weight)),
      });
      this.#compileVersions(entry, live, pools, metrics);
    }
  }

  /** One single-variant route per version: the current instance that serves it, else the kept one. */
  #compileVersions(entry: RouteEntry, live: readonly LiveVariant[], pools: UpstreamPools, metrics: GatewayMetrics): void {
    const byVersion = new Map<string, LiveVariant>();
    for (const variant of live) {
      const version = variant.spec.version;
      if (version !== undefined && !byVersion.has(version)) byVersion.set(version, variant);
    }
    for (const kept of entry.kept ?? []) {
      if (byVersion.has(kept.version)) continue;
      const variant = liveVariant(entry, keptSpec(kept), pools, metrics, () => undefined, `${kept.id}@${kept.version}`);
      this.#variants.push(variant);
      byVersion.set(kept.version, variant);
    }
    for (const [version, variant] of byVersion) {
      this.routes.set(versionPath(entry.route, version), { entry, version, serving: [variant], shadows: [], thresholds: SINGLE });
    }
    this.versions.set(entry.route, [...byVersion.keys()]);
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
    for (const v of this.#variants) this.pools.release(v.origin);
  }
}

const SINGLE = splitThresholds([100]);

/** A kept version compiled like a variant that takes all of its path's traffic; it never sleeps (its wake-ups would start the current instance). */
function keptSpec(kept: KeptVersion): RouteVariant {
  return { id: kept.id, deployName: kept.deployName, upstream: kept.upstream, predictPath: kept.predictPath, weight: 100, shadow: false, source: kept.source, version: kept.version };
}

/** `metricVariant`: the variant label of its counters (a kept version counts apart from the current one). */
function liveVariant(entry: RouteEntry, spec: RouteVariant, pools: UpstreamPools, metrics: GatewayMetrics, gateFor: GateFor, metricVariant = spec.id): LiveVariant {
  const url = new URL(spec.upstream);
  const labels: VariantLabels = { route: entry.route, model: entry.model, variant: metricVariant, deploy_name: spec.deployName };
  const pool = pools.acquire(url.origin);
  const path = `${url.pathname.replace(/\/+$/, '')}${spec.predictPath}`;
  return {
    spec,
    origin: url.origin,
    pool,
    path,
    requestLine: `POST ${path} HTTP/1.1\r\nhost: ${pool.target.hostHeader}\r\n`,
    answerLines: `${MODEL_HEADER}: ${entry.model}\r\n${VARIANT_HEADER}: ${spec.id}\r\n${DEPLOY_NAME_HEADER}: ${spec.deployName}\r\n${spec.version === undefined ? '' : `${VERSION_HEADER}: ${spec.version}\r\n`}`,
    labels,
    stats: metrics.statsFor(labels),
    lastErrorLoggedAt: 0,
    gate: spec.scaleToZero === undefined ? undefined : gateFor(entry, spec, labels),
  };
}
