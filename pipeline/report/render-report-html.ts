import { MiB } from '../sizing/sizing-policy.js';
import type { LoadtestReport } from './loadtest-report.js';
import { escapeXml, renderLineChart, type ChartSeries } from './svg-chart.js';

/** The reviewer's page: verdict, checks, sizing with the policy, and the memory/latency chart inline. Pure. */
export function renderReportHtml(report: LoadtestReport): string {
  const e = escapeXml;
  const { measurement, sizing, limitProof } = report;
  const verdict = report.passed ? 'PASSED' : 'FAILED';
  const rows = report.checks
    .map((c) => `<tr class="${c.status}"><td>${c.status === 'passed' ? '✔' : c.status === 'failed' ? '✘' : '–'} ${e(c.status)}</td><td>${e(c.name)}</td><td>${e(c.detail)}</td></tr>`)
    .join('\n');
  const sizingRows = sizing
    ? [
        ['Samples under load', String(sizing.measured.samples)],
        ['Working set P90', mib(sizing.measured.memoryP90Bytes)],
        ['Working set peak', mib(sizing.measured.memoryPeakBytes)],
        ['CPU P90 / peak', `${sizing.measured.cpuP90Cores.toFixed(2)} / ${sizing.measured.cpuPeakCores.toFixed(2)} cores`],
        ['VPA-style request (P90 × 1.15)', mib(sizing.compared.vpaMemoryRequestBytes)],
        ['KRR-style request = limit (peak × 1.15)', mib(sizing.compared.krrMemoryBytes)],
        ['Memory request (chosen)', `${sizing.resources.requests.memory} = roundUp(P90 × ${sizing.policy.memoryRequestFactor}, ${mib(sizing.policy.memoryStepBytes)})`],
        ['Memory limit (chosen)', `${sizing.resources.limits.memory} = roundUp(peak × ${sizing.policy.memoryLimitFactor} + ${mib(sizing.policy.memoryLimitHeadroomBytes)}, ${mib(sizing.policy.memoryStepBytes)})`],
        ['CPU request', `${sizing.resources.requests.cpu} = roundUp(P90 CPU × ${sizing.policy.cpuRequestFactor}, ${sizing.policy.cpuStepMillicores}m), no CPU limit`],
        ['Limit ÷ measured peak', sizing.limitToPeakRatio.toFixed(2)],
      ]
        .map(([k, v]) => `<tr><th>${e(k ?? '')}</th><td>${e(v ?? '')}</td></tr>`)
        .join('\n')
    : '<tr><td>No size was computed: the first run failed.</td></tr>';
  const proofText = limitProof
    ? !limitProof.run
      ? `The limit proof could not run: ${limitProof.note}.`
      : limitProof.enforced
      ? `The same load ran again in a container capped at ${mib(limitProof.memoryLimitBytes)} (Docker Memory = MemorySwap, so no swap).`
      : `Process mode: ${limitProof.note}`
    : 'The limit proof did not run: the first run failed, so no limit was computed.';
  const chart = renderLineChart(
    [
      {
        title: `Memory: ${report.memoryMetric}`,
        unit: 'MiB',
        series: memorySeries(report),
      },
      {
        title: 'Latency per second (first run)',
        unit: 'ms',
        series: [
          { label: 'p50', color: '#2b7bb9', points: measurement.load.timeline.map((s) => [s.second, s.p50Ms] as const) },
          { label: 'p99', color: '#d9822b', points: measurement.load.timeline.map((s) => [s.second, s.p99Ms] as const) },
          { label: `budget ${report.settings.p99BudgetMs} ms`, color: '#c23030', dashed: true, points: flat(report.settings.p99BudgetMs, measurement.load.timeline.length) },
        ],
      },
    ],
    { xLabel: 'seconds since the load started' },
  );
  const load = measurement.load;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${e(`${verdict}: load test of ${report.model.deployName}`)}</title>
<style>
body { font-family: sans-serif; margin: 2em; max-width: 960px; color: #222; }
h1 .PASSED { color: #1e7b34; } h1 .FAILED { color: #b3261e; }
table { border-collapse: collapse; margin: 1em 0; } td, th { border: 1px solid #ddd; padding: 4px 8px; text-align: left; vertical-align: top; }
tr.failed td { background: #fdecea; } tr.passed td:first-child { color: #1e7b34; } tr.skipped td { color: #777; }
code { background: #f4f4f4; padding: 1px 3px; }
</style>
</head>
<body>
<h1><span class="${verdict}">${verdict}</span>: load test of <code>${e(report.model.deployName)}</code></h1>
<p>Route <code>${e(report.model.route)}</code>, variant <code>${e(report.model.variant)}</code>, image <code>${e(report.image)}</code>, ${e(report.mode)} mode.
${e(String(report.settings.connections))} connections for ${e(String(report.settings.durationSeconds))} s, ${e(String(report.settings.rowsPerRequest))} rows per request,
${e(String(report.settings.distinctBodies))} distinct random bodies (seed ${e(String(report.settings.seed))}). Started ${e(report.startedAt)}; the server was ready after ${e(String(report.readyAfterMs))} ms.</p>
<h2>Checks</h2>
<table>
<tr><th>Result</th><th>Check</th><th>What was measured</th></tr>
${rows}
</table>
<h2>Load</h2>
<table>
<tr><th>Requests</th><td>${load.requests} (${load.requestsPerSecond} req/s), ${load.non2xx} non-2xx, ${load.errors} socket errors, ${load.timeouts} timeouts</td></tr>
<tr><th>Latency</th><td>p50 ${load.latencyMs.p50} ms, p90 ${load.latencyMs.p90} ms, p99 ${load.latencyMs.p99} ms, max ${load.latencyMs.max} ms</td></tr>
<tr><th>Bad requests</th><td>${report.badRequests.filter((b) => b.answered4xx).length} of ${report.badRequests.length} answered 4xx</td></tr>
</table>
<h2>Sizing</h2>
<table>
${sizingRows}
</table>
<h2>Limit proof</h2>
<p>${e(proofText)}${limitProof?.run ? ` Peak under the cap: ${e(mib(limitProof.run.peakWorkingSetBytes))} (${Math.round((limitProof.run.peakWorkingSetBytes / limitProof.memoryLimitBytes) * 100)}% of the limit), ${limitProof.run.load.requests} requests, p99 ${limitProof.run.load.latencyMs.p99} ms.` : ''}</p>
<h2>Memory and latency over time</h2>
${chart}
</body>
</html>
`;
}

function memorySeries(report: LoadtestReport): ChartSeries[] {
  const toMiB = (bytes: number): number => Math.round((bytes / MiB) * 100) / 100;
  const series: ChartSeries[] = [
    { label: 'first run', color: '#2b7bb9', points: report.measurement.samples.map((s) => [s.atSeconds, toMiB(s.workingSetBytes)] as const) },
  ];
  const proof = report.limitProof?.run;
  if (proof) series.push({ label: 'limit proof run', color: '#7a4fb3', points: proof.samples.map((s) => [s.atSeconds, toMiB(s.workingSetBytes)] as const) });
  const end = Math.max(1, ...report.measurement.samples.map((s) => s.atSeconds), ...(proof?.samples.map((s) => s.atSeconds) ?? []));
  if (report.sizing) {
    series.push({ label: `limit ${report.sizing.resources.limits.memory}`, color: '#c23030', dashed: true, points: [[0, toMiB(report.sizing.memoryLimitBytes)], [end, toMiB(report.sizing.memoryLimitBytes)]] });
    series.push({ label: `request ${report.sizing.resources.requests.memory}`, color: '#888888', dashed: true, points: [[0, toMiB(report.sizing.memoryRequestBytes)], [end, toMiB(report.sizing.memoryRequestBytes)]] });
  }
  return series;
}

function flat(value: number, seconds: number): (readonly [number, number])[] {
  return [[0, value], [Math.max(1, seconds), value]];
}

function mib(bytes: number): string {
  return `${(bytes / MiB).toFixed(1)} MiB`;
}
