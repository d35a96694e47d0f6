import { formatMemoryQuantity, MiB } from '../sizing/sizing-policy.js';
import type { BadRequestOutcome } from './fire-bad-requests.js';
import type { RunRecord } from './measure-run.js';

/**
 * The checks a load test passes or fails, one JUnit test case each. Pure: they read what was
 * measured and say, in words a reviewer can act on, what they saw.
 */

export type CheckId = 'no-request-errors' | 'p99-within-budget' | 'bad-requests-get-4xx' | 'server-stayed-up' | 'limit-proof';

export interface Check {
  readonly id: CheckId;
  readonly name: string;
  readonly status: 'passed' | 'failed' | 'skipped';
  readonly detail: string;
}

export interface LimitProof {
  /** True when a cgroup cap enforced the limit (Docker); false in process mode. */
  readonly enforced: boolean;
  readonly memoryLimitBytes: number;
  /** The second run; undefined when it could not run. */
  readonly run: RunRecord | undefined;
  readonly note: string;
}

export interface CheckInput {
  readonly measurement: RunRecord;
  readonly p99BudgetMs: number;
  readonly badRequests: readonly BadRequestOutcome[];
  readonly proof: LimitProof | undefined;
}

export function evaluateChecks(input: CheckInput): Check[] {
  return [
    checkNoErrors(input.measurement),
    checkP99(input.measurement, input.p99BudgetMs),
    checkBadRequests(input.badRequests, input.measurement),
    checkStayedUp(input.measurement),
    checkLimitProof(input.proof),
  ];
}

export function describeRequestErrors(run: RunRecord): string | undefined {
  const { load } = run;
  if (load.non2xx === 0 && load.errors === 0 && load.unanswered === 0) return undefined;
  const parts: string[] = [];
  if (load.non2xx > 0) {
    const codes = Object.entries(load.statusCodes).map(([code, n]) => `${n}× ${code}`).join(', ');
    parts.push(`${load.non2xx} of ${load.requests} requests got a non-2xx answer (${codes})`);
  }
  if (load.errors > 0) {
    const samples = load.errorSamples.length > 0 ? `: ${load.errorSamples.join('; ')}` : '';
    parts.push(`${load.errors} requests failed on the socket (${load.timeouts} timeouts)${samples}`);
  }
  if (load.unanswered > 0) parts.push(`${load.unanswered} requests got no answer: the server closed the connection on them`);
  return parts.join('; ');
}

/** A check that fails with `problem` when there is one and passes with `passedDetail` otherwise. */
function checkFrom(id: CheckId, name: string, problem: string | undefined, passedDetail: () => string): Check {
  return { id, name, status: problem ? 'failed' : 'passed', detail: problem ?? passedDetail() };
}

function checkNoErrors(run: RunRecord): Check {
  return checkFrom('no-request-errors', 'every request under load succeeded', describeRequestErrors(run),
    () => `${run.load.requests} requests, all 2xx, no socket errors or timeouts (${run.load.requestsPerSecond} req/s)`);
}

function checkP99(run: RunRecord, budgetMs: number): Check {
  const p99 = run.load.latencyMs.p99;
  const passed = run.load.requests > 0 && p99 <= budgetMs;
  return {
    id: 'p99-within-budget',
    name: `p99 latency within the ${budgetMs} ms budget`,
    status: passed ? 'passed' : 'failed',
    detail: run.load.requests === 0 ? 'no request was answered, so there is no latency to compare' : `p99 ${p99} ms (p50 ${run.load.latencyMs.p50} ms, max ${run.load.latencyMs.max} ms), budget ${budgetMs} ms`,
  };
}

function checkBadRequests(outcomes: readonly BadRequestOutcome[], run: RunRecord): Check {
  const wrong = outcomes.filter((o) => !o.answered4xx);
  const shown = wrong.slice(0, 5).map((o) => `${o.name} → ${o.status ?? o.error ?? 'no answer'}`).join('; ');
  const more = wrong.length > 5 ? `; and ${wrong.length - 5} more` : '';
  return {
    id: 'bad-requests-get-4xx',
    name: 'every malformed request gets a 4xx',
    status: outcomes.length === 0 ? 'skipped' : wrong.length === 0 ? 'passed' : 'failed',
    detail: outcomes.length === 0
      ? run.state.running ? 'no bad-request corpus applies to this model' : 'not sent: the server was no longer running after the load'
      : wrong.length === 0
        ? `${outcomes.length} malformed requests, each answered 4xx`
        : `${wrong.length} of ${outcomes.length} malformed requests did not get a 4xx: ${shown}${more}`,
  };
}

export function describeServerFate(run: RunRecord): string | undefined {
  const { state } = run;
  if (state.oomKilled) {
    const cap = run.memoryCapBytes !== undefined ? ` at its ${formatMemoryQuantity(run.memoryCapBytes)} memory cap` : '';
    return `the server was OOM-killed${cap} (peak working set ${mib(run.peakWorkingSetBytes)})`;
  }
  if (!state.running) return `the server exited with code ${state.exitCode ?? 'unknown'} during the load`;
  if (state.restartCount > 0) return `the server restarted ${state.restartCount} time(s) during the load`;
  return undefined;
}

function checkStayedUp(run: RunRecord): Check {
  return checkFrom('server-stayed-up', 'the server did not crash, restart or get OOM-killed', describeServerFate(run),
    () => `still running after the load; peak ${mib(run.peakWorkingSetBytes)}`);
}

function checkLimitProof(proof: LimitProof | undefined): Check {
  const name = 'the same load passes under the computed memory limit';
  if (!proof) {
    return { id: 'limit-proof', name, status: 'skipped', detail: 'not run: the first run failed, so no limit was computed' };
  }
  if (!proof.run) return { id: 'limit-proof', name, status: 'failed', detail: proof.note };
  const problems = [describeServerFate(proof.run), describeRequestErrors(proof.run)].filter((p): p is string => p !== undefined);
  const peak = proof.run.peakWorkingSetBytes;
  if (!proof.enforced && peak > proof.memoryLimitBytes) {
    problems.push(`peak RSS ${mib(peak)} went over the ${formatMemoryQuantity(proof.memoryLimitBytes)} limit`);
  }
  const how = proof.enforced
    ? `in a container capped at ${formatMemoryQuantity(proof.memoryLimitBytes)}`
    : `under an RSS watchdog at ${formatMemoryQuantity(proof.memoryLimitBytes)} (${proof.note})`;
  return {
    id: 'limit-proof',
    name,
    status: problems.length > 0 ? 'failed' : 'passed',
    detail: problems.length > 0
      ? `${how}: ${problems.join('; ')}`
      : `${how}: ${proof.run.load.requests} requests, no error, peak ${mib(peak)} (${Math.round((peak / proof.memoryLimitBytes) * 100)}% of the limit)`,
  };
}

function mib(bytes: number): string {
  return `${(bytes / MiB).toFixed(1)} MiB`;
}
