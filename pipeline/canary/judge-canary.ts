import type { CanarySettings } from '../../generator/fleet/types.js';
import { histogramQuantile, type MetricsSnapshot } from './gateway-metrics-snapshot.js';

/** What a window of a model's traffic showed, and whether it meets the canary settings. */
export interface CanaryVerdict {
  readonly requests: number;
  /** Percent of requests answered without a 5xx (Flagger's request-success-rate); undefined without requests. */
  readonly successRate: number | undefined;
  /** 99th percentile latency in ms; undefined without requests. */
  readonly p99Ms: number | undefined;
  readonly passed: boolean;
  /** One reason per target missed, in words. */
  readonly misses: readonly string[];
}

/** Judges one window's difference of snapshots against the settings. Pure. */
export function judgeCanary(window: MetricsSnapshot, settings: CanarySettings): CanaryVerdict {
  let requests = 0;
  let failed = 0;
  for (const [code, n] of window.codes) {
    requests += n;
    if (code >= 500) failed += n;
  }
  const successRate = requests > 0 ? (100 * (requests - failed)) / requests : undefined;
  const p99Seconds = histogramQuantile(0.99, window.buckets);
  const p99Ms = p99Seconds === undefined ? undefined : p99Seconds * 1000;
  const misses: string[] = [];
  if (requests < settings.minRequests) misses.push(`${requests} request(s), fewer than the ${settings.minRequests} the check needs`);
  if (successRate !== undefined && successRate < settings.minSuccessRate) misses.push(`success rate ${formatPercent(successRate)} is below ${settings.minSuccessRate}% (${failed} of ${requests} answered 5xx)`);
  if (p99Ms !== undefined && p99Ms > settings.maxP99Ms) misses.push(`p99 ${Math.round(p99Ms)} ms is above ${settings.maxP99Ms} ms`);
  return { requests, successRate, p99Ms, passed: misses.length === 0, misses };
}

export function formatPercent(value: number): string {
  return `${value >= 99.95 && value < 100 ? value.toFixed(2) : value.toFixed(1)}%`;
}
