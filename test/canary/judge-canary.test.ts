import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CANARY_DEFAULTS } from '../../generator/fleet/resolve-environments.js';
import { difference, histogramQuantile, readSnapshot } from '../../pipeline/canary/gateway-metrics-snapshot.js';
import { judgeCanary } from '../../pipeline/canary/judge-canary.js';
import { DURATION_BUCKETS, renderVariantStats, VariantStats } from '../../serving/gateway/variant-stats.js';

const labels = (deployName: string) => ({ route: '/probability/2/TAXI/x', model: 'm', variant: 'main', deploy_name: deployName });

/** /metrics text as the gateway renders it, after `answers` ([status, seconds]) for `deployName` and some for another model. */
function metricsAfter(answers: readonly (readonly [number, number])[], deployName = 'match-2-taxi'): string {
  const ours = new VariantStats(labels(deployName));
  const other = new VariantStats(labels('other-model'));
  for (const [code, seconds] of answers) ours.record(code, seconds);
  for (let i = 0; i < 50; i += 1) other.record(503, 9);
  return renderVariantStats([ours, other]);
}

describe('reading one model out of the gateway\'s /metrics', () => {
  it('counts its requests by code and its latency buckets, leaving other models out', () => {
    const snapshot = readSnapshot(metricsAfter([[200, 0.003], [200, 0.02], [503, 0.001]]), 'match-2-taxi');
    expect(Object.fromEntries(snapshot.codes)).toEqual({ 200: 2, 503: 1 });
    expect(snapshot.buckets.get(Number.POSITIVE_INFINITY)).toBe(3);
    expect(snapshot.buckets.get(0.005)).toBe(2);
    expect([...snapshot.buckets.keys()]).toEqual([...DURATION_BUCKETS, Number.POSITIVE_INFINITY]);
  });

  it('gives what happened in a window as the difference of two snapshots', () => {
    const before = readSnapshot(metricsAfter([[200, 0.003]]), 'match-2-taxi');
    const after = readSnapshot(metricsAfter([[200, 0.003], [200, 0.3], [500, 0.004]]), 'match-2-taxi');
    const window = difference(before, after);
    expect(Object.fromEntries(window.codes)).toEqual({ 200: 1, 500: 1 });
    expect(window.buckets.get(Number.POSITIVE_INFINITY)).toBe(2);
  });

  it('reads nothing for a model the gateway has not counted, and ignores lines it does not know', () => {
    const snapshot = readSnapshot(`# HELP x\nmodelfleet_gateway_requests_total{deploy_name="a\\"b",code="200"} 4\ngarbage{\n${metricsAfter([[200, 0.01]])}`, 'absent');
    expect(snapshot.codes.size).toBe(0);
    expect(readSnapshot('modelfleet_gateway_requests_total{deploy_name="a\\"b",code="200"} 4', 'a"b').codes.get(200)).toBe(4);
  });
});

describe('the 99th percentile of a histogram', () => {
  it('interpolates within the bucket as Prometheus\' histogram_quantile does', () => {
    // 100 observations: 90 up to 10 ms, 10 between 10 and 25 ms: the 99th is the 9th of those 10.
    const buckets = new Map([[0.01, 90], [0.025, 100], [Number.POSITIVE_INFINITY, 100]]);
    expect(histogramQuantile(0.99, buckets)).toBeCloseTo(0.01 + 0.015 * 0.9, 10);
    expect(histogramQuantile(0.99, new Map([[0.01, 0], [Number.POSITIVE_INFINITY, 0]]))).toBeUndefined();
    // In the +Inf bucket: the highest finite bound, as Prometheus answers.
    expect(histogramQuantile(0.99, new Map([[0.5, 1], [Number.POSITIVE_INFINITY, 100]]))).toBe(0.5);
  });

  it('lies within the bounds of the bucket holding the ranked observation, for any recorded latencies', () => {
    fc.assert(fc.property(fc.array(fc.double({ min: 0, max: 20, noNaN: true }), { minLength: 1, maxLength: 300 }), (latencies) => {
      const stats = new VariantStats(labels('m'));
      for (const s of latencies) stats.record(200, s);
      const snapshot = readSnapshot(renderVariantStats([stats]), 'm');
      const p99 = histogramQuantile(0.99, snapshot.buckets) as number;
      const sorted = [...latencies].sort((a, b) => a - b);
      const ranked = sorted[Math.ceil(0.99 * sorted.length) - 1] as number;
      const upper = DURATION_BUCKETS.find((b) => ranked <= b) ?? DURATION_BUCKETS.at(-1) as number;
      const lower = [...DURATION_BUCKETS].reverse().find((b) => b < ranked) ?? 0;
      expect(p99).toBeGreaterThanOrEqual(Math.min(lower, upper) - 1e-12);
      expect(p99).toBeLessThanOrEqual(upper + 1e-12);
    }));
  });
});

describe('judging a window against the canary settings (Flagger\'s defaults)', () => {
  const window = (answers: readonly (readonly [number, number])[]) => difference(readSnapshot('', 'm'), readSnapshot(metricsAfter(answers, 'm'), 'm'));
  const many = (n: number, code: number, seconds: number) => Array.from({ length: n }, () => [code, seconds] as const);

  it('passes healthy traffic', () => {
    const verdict = judgeCanary(window(many(500, 200, 0.004)), CANARY_DEFAULTS);
    expect(verdict).toMatchObject({ passed: true, requests: 500, successRate: 100, misses: [] });
    expect(verdict.p99Ms).toBeLessThanOrEqual(5);
  });

  it('counts 4xx as answered and 5xx as failed: 2% of 5xx misses 99%', () => {
    expect(judgeCanary(window([...many(490, 200, 0.004), ...many(10, 400, 0.001)]), CANARY_DEFAULTS).passed).toBe(true);
    const verdict = judgeCanary(window([...many(490, 200, 0.004), ...many(10, 503, 0.001)]), CANARY_DEFAULTS);
    expect(verdict.passed).toBe(false);
    expect(verdict.misses).toEqual(['success rate 98.0% is below 99% (10 of 500 answered 5xx)']);
  });

  it('fails a slow p99 and too little traffic, each in words', () => {
    expect(judgeCanary(window([...many(95, 200, 0.004), ...many(5, 200, 2)]), CANARY_DEFAULTS).misses).toEqual([expect.stringMatching(/^p99 \d+ ms is above 500 ms$/)]);
    expect(judgeCanary(window(many(3, 200, 0.004)), CANARY_DEFAULTS).misses).toEqual(['3 request(s), fewer than the 20 the check needs']);
    expect(judgeCanary(window([]), CANARY_DEFAULTS)).toMatchObject({ passed: false, requests: 0, successRate: undefined, p99Ms: undefined });
  });
});
