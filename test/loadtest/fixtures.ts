import type { LoadResult } from '../../pipeline/loadtest/drive-load.js';
import type { RunRecord } from '../../pipeline/loadtest/measure-run.js';
import { MiB } from '../../pipeline/sizing/sizing-policy.js';

/** A load result of `seconds` clean seconds at 100 req/s, p99 8 ms; override what a test is about. */
export function loadResult(overrides: Partial<LoadResult> = {}, seconds = 3): LoadResult {
  return {
    durationSeconds: seconds,
    connections: 4,
    requests: 100 * seconds,
    ok: 100 * seconds,
    non2xx: 0,
    errors: 0,
    timeouts: 0,
    unanswered: 0,
    requestsPerSecond: 100,
    latencyMs: { p50: 2, p90: 5, p99: 8, max: 12, mean: 2.5 },
    statusCodes: {},
    errorSamples: [],
    timeline: Array.from({ length: seconds }, (_, i) => ({ second: i + 1, requests: 100, errors: 0, p50Ms: 2, p99Ms: 8 })),
    ...overrides,
  };
}

/** A run whose working set climbs from 80 MiB by 2 MiB every half second. */
export function runRecord(overrides: Partial<RunRecord> = {}, load: Partial<LoadResult> = {}): RunRecord {
  const samples = Array.from({ length: 7 }, (_, i) => ({ atSeconds: i / 2, workingSetBytes: (80 + 2 * i) * MiB, cpuCores: 0.5 }));
  return {
    target: 'container 0123456789ab (modelfleet/m:abc)',
    memoryCapBytes: undefined,
    load: loadResult(load),
    samples,
    state: { running: true, oomKilled: false, exitCode: undefined, restartCount: 0 },
    peakWorkingSetBytes: 92 * MiB,
    ...overrides,
  };
}
