import { describe, expect, it } from 'vitest';
import { evaluateChecks } from '../../pipeline/loadtest/checks.js';
import type { LoadtestReport } from '../../pipeline/report/loadtest-report.js';
import { renderJunit } from '../../pipeline/report/render-junit.js';
import { renderReportHtml } from '../../pipeline/report/render-report-html.js';
import { niceScale, renderLineChart } from '../../pipeline/report/svg-chart.js';
import { computeSizing, MiB } from '../../pipeline/sizing/sizing-policy.js';
import { runRecord } from './fixtures.js';

function report(overrides: Partial<LoadtestReport> = {}): LoadtestReport {
  const measurement = runRecord();
  const sizing = computeSizing(measurement.samples);
  const limitProof = { enforced: true, memoryLimitBytes: sizing.memoryLimitBytes, run: runRecord({ memoryCapBytes: sizing.memoryLimitBytes }), note: 'Docker memory cap' };
  const badRequests = [{ name: 'malformed-json', status: 400, answered4xx: true }];
  const checks = evaluateChecks({ measurement, p99BudgetMs: 50, badRequests, proof: limitProof });
  return {
    schemaVersion: 1,
    model: { name: 'match-2-taxi', deployName: 'match-2-taxi-v1', variant: 'v1', route: '/probability/2/TAXI/trafficaware' },
    mode: 'docker',
    image: 'modelfleet/match-2-taxi-v1:0123456789ab',
    memoryMetric: 'working set (usage - inactive_file)',
    settings: { durationSeconds: 3, connections: 4, rowsPerRequest: 1, p99BudgetMs: 50, seed: 42, distinctBodies: 64 },
    startedAt: '2026-01-15T09:00:00.000Z',
    finishedAt: '2026-01-15T09:00:10.000Z',
    readyAfterMs: 420,
    measurement,
    badRequests,
    sizing,
    limitProof,
    checks,
    passed: checks.every((c) => c.status !== 'failed'),
    ...overrides,
  };
}

/** The XML as nested tags, parsed loosely: enough to check its shape without an XML library. */
function testcases(xml: string): { name: string; body: string }[] {
  return [...xml.matchAll(/<testcase [^>]*name="([^"]*)"[^>]*>([\s\S]*?)<\/testcase>/g)].map((m) => ({ name: m[1] ?? '', body: m[2] ?? '' }));
}

describe('JUnit report', () => {
  it('has one test case per check, in GitLab\'s testsuites/testsuite/testcase shape', () => {
    const xml = renderJunit(report());
    expect(xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<testsuites ')).toBe(true);
    expect(xml).toMatch(/<testsuite name="loadtest match-2-taxi-v1" tests="5" failures="0" errors="0" skipped="0"/);
    expect(testcases(xml).map((t) => t.name)).toEqual([
      'every request under load succeeded',
      'p99 latency within the 50 ms budget',
      'every malformed request gets a 4xx',
      'the server did not crash, restart or get OOM-killed',
      'the same load passes under the computed memory limit',
    ]);
  });

  it('puts a failed check\'s detail in a <failure> element, escaped', () => {
    const measurement = runRecord({}, { latencyMs: { p50: 1, p90: 2, p99: 99, max: 120, mean: 3 } });
    const failing = report({ measurement, checks: evaluateChecks({ measurement, p99BudgetMs: 50, badRequests: [{ name: 'a<b>&"c"', status: 500, answered4xx: false }], proof: undefined }) });
    const xml = renderJunit(failing);
    expect(xml).toMatch(/failures="2"/);
    expect(xml).toMatch(/skipped="1"/);
    const p99 = testcases(xml).find((t) => t.name.startsWith('p99'));
    expect(p99?.body).toContain('<failure message="p99 99 ms (p50 1 ms, max 120 ms), budget 50 ms" type="p99-within-budget">');
    expect(xml).toContain('a&lt;b&gt;&amp;&quot;c&quot; → 500');
    expect(xml).not.toContain('a<b>');
  });
});

describe('HTML report', () => {
  it('shows the verdict, every check, the sizing policy and an inline SVG chart', () => {
    const html = renderReportHtml(report());
    expect(html).toContain('<span class="PASSED">PASSED</span>');
    for (const check of report().checks) expect(html).toContain(check.name);
    expect(html).toMatch(/Memory limit \(chosen\)<\/th><td>\d+Mi = roundUp\(peak × 1\.15 \+ 16\.0 MiB, 8\.0 MiB\)/);
    expect(html).toContain('Limit ÷ measured peak');
    expect(html).toMatch(/<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"[\s\S]*<\/svg>/);
    expect(html).toContain('limit proof run');
  });

  it('is the same bytes for the same report', () => {
    expect(renderReportHtml(report())).toBe(renderReportHtml(report()));
  });

  it('escapes text that comes from the model entry', () => {
    const html = renderReportHtml(report({ model: { name: 'x', deployName: '<script>alert(1)</script>', variant: 'main', route: '/a' } }));
    expect(html).not.toContain('<script>');
    expect(html).toContain('&lt;script&gt;');
  });
});

describe('SVG chart', () => {
  it('draws one path per series and a legend entry for each, scaled into the plot', () => {
    const svg = renderLineChart([
      { title: 'Memory', unit: 'MiB', series: [{ label: 'run', color: '#000', points: [[0, 10], [1, 20], [2, 15]] }, { label: 'limit', color: '#f00', dashed: true, points: [[0, 30], [2, 30]] }] },
    ]);
    expect(svg.match(/<path /g)).toHaveLength(2);
    expect(svg).toContain('>run</text>');
    expect(svg).toContain('stroke-dasharray="6 4"');
    const coords = [...svg.matchAll(/[ML](\d+\.\d),(\d+\.\d)/g)].map((m) => [Number(m[1]), Number(m[2])]);
    for (const [x, y] of coords) {
      expect(x).toBeGreaterThanOrEqual(64);
      expect(x).toBeLessThanOrEqual(744);
      expect(y).toBeGreaterThanOrEqual(28);
      expect(y).toBeLessThanOrEqual(220 - 34);
    }
    expect(svg.match(/<g>/g)?.length).toBe(svg.match(/<\/g>/g)?.length);
  });

  it('puts about five ticks on each axis, 1, 2 or 5 times a power of ten apart', () => {
    expect(niceScale(5.2)).toEqual({ max: 6, step: 2 });
    expect(niceScale(23)).toEqual({ max: 25, step: 5 });
    expect(niceScale(84)).toEqual({ max: 100, step: 20 });
    expect(niceScale(0.7)).toEqual({ max: 0.8, step: 0.2 });
    expect(niceScale(134.4)).toEqual({ max: 150, step: 50 });
  });

  it('plots memory in MiB, with the axis reaching above the limit line', () => {
    const r = report();
    const html = renderReportHtml(r);
    // Fixture peak 92 MiB → limit 128 MiB; the axis tops out at the next tick above it, 150.
    expect(r.sizing?.memoryLimitBytes).toBe(128 * MiB);
    expect(html).toContain('>150</text>');
    expect(html).toContain('>limit 128Mi</text>');
    expect(html).not.toContain(String(92 * MiB));
  });
});
