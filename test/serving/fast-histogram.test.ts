import fc from 'fast-check';
import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { FastHistogram } from '../../serving/model-server/fast-histogram.js';

const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/** The sample lines of one metric, its name cut off so that two metrics' lines compare directly. */
function samples(text: string, name: string): string[] {
  return text.split('\n').filter((line) => line.startsWith(name)).map((line) => line.slice(name.length));
}

describe('the fast histogram', () => {
  it('prints exactly the series prom-client\'s Histogram prints for the same observations', async () => {
    await fc.assert(fc.asyncProperty(
      fc.array(fc.tuple(fc.constantFrom('invocations', 'v2_infer'), fc.oneof(fc.double({ min: 0, max: 5, noNaN: true }), fc.constantFrom(...BUCKETS))), { maxLength: 60 }),
      async (observations) => {
        const registry = new Registry();
        registry.setDefaultLabels({ model: 'm', version: 'v1' });
        const reference = new Histogram({ name: 'ref_seconds', help: 'h', labelNames: ['route'] as const, buckets: BUCKETS, registers: [registry] });
        const fast = new FastHistogram({ name: 'fast_seconds', help: 'h', labelNames: ['route'] as const, buckets: BUCKETS, registers: [registry] });
        const plainReference = new Histogram({ name: 'plainref_rows', help: 'h', buckets: [1, 2, 4], registers: [registry] });
        const plainFast = new FastHistogram({ name: 'plainfast_rows', help: 'h', buckets: [1, 2, 4], registers: [registry] });
        const series = { invocations: fast.labels('invocations'), v2_infer: fast.labels('v2_infer') };
        for (const [route, value] of observations) {
          reference.labels(route).observe(value);
          series[route].observe(value);
          plainReference.observe(value * 2);
          plainFast.observe(value * 2);
        }
        const text = await registry.metrics();
        expect(samples(text, 'fast_seconds')).toEqual(samples(text, 'ref_seconds'));
        expect(samples(text, 'plainfast_rows')).toEqual(samples(text, 'plainref_rows'));
        expect(text).toContain('# TYPE fast_seconds histogram');
        const json = await registry.getMetricsAsJSON();
        const values = (name: string) => json.find((m) => m.name === name)?.values.map((v) => ({ labels: v.labels, value: v.value, series: (v as { metricName?: string }).metricName?.replace(/^\w+?_(seconds|rows)/, '') }));
        expect(values('fast_seconds')).toEqual(values('ref_seconds'));
      },
    ), { numRuns: 100 });
  });

  it('refuses values that are not finite, as prom-client does', () => {
    const histogram = new FastHistogram({ name: 'x_seconds', help: 'h', buckets: BUCKETS, registers: [new Registry()] });
    expect(() => histogram.observe(Number.NaN)).toThrow(/finite/);
  });
});
