import { describe, expect, it } from 'vitest';
import { evaluateChecks, type CheckInput } from '../../pipeline/loadtest/checks.js';
import { MiB } from '../../pipeline/sizing/sizing-policy.js';
import { runRecord } from './fixtures.js';

function input(overrides: Partial<CheckInput> = {}): CheckInput {
  return {
    measurement: runRecord(),
    p99BudgetMs: 50,
    badRequests: [{ name: 'malformed-json', status: 400, answered4xx: true }],
    proof: { enforced: true, memoryLimitBytes: 128 * MiB, run: runRecord({ memoryCapBytes: 128 * MiB }), note: 'Docker memory cap 128Mi' },
    ...overrides,
  };
}

const statusOf = (checks: ReturnType<typeof evaluateChecks>, id: string) => checks.find((c) => c.id === id);

describe('load-test checks', () => {
  it('pass a clean run with one case per check', () => {
    const checks = evaluateChecks(input());
    expect(checks.map((c) => [c.id, c.status])).toEqual([
      ['no-request-errors', 'passed'],
      ['p99-within-budget', 'passed'],
      ['bad-requests-get-4xx', 'passed'],
      ['server-stayed-up', 'passed'],
      ['limit-proof', 'passed'],
    ]);
  });

  it('fail on non-2xx answers and socket errors, counting each and naming the status codes', () => {
    const measurement = runRecord({}, { non2xx: 3, statusCodes: { '500': 2, '503': 1 }, errors: 2, timeouts: 1, errorSamples: ['ECONNRESET: socket hang up'], requests: 300 });
    const check = statusOf(evaluateChecks(input({ measurement })), 'no-request-errors');
    expect(check?.status).toBe('failed');
    expect(check?.detail).toContain('3 of 300 requests got a non-2xx answer (2× 500, 1× 503)');
    expect(check?.detail).toContain('2 requests failed on the socket (1 timeouts): ECONNRESET: socket hang up');
  });

  it('fail when the server closed connections on requests without answering', () => {
    const measurement = runRecord({}, { unanswered: 7 });
    const check = statusOf(evaluateChecks(input({ measurement })), 'no-request-errors');
    expect(check).toMatchObject({ status: 'failed', detail: '7 requests got no answer: the server closed the connection on them' });
  });

  it('fail when p99 is over the budget, stating both', () => {
    const measurement = runRecord({}, { latencyMs: { p50: 10, p90: 40, p99: 75.5, max: 90, mean: 15 } });
    const check = statusOf(evaluateChecks(input({ measurement })), 'p99-within-budget');
    expect(check?.status).toBe('failed');
    expect(check?.detail).toBe('p99 75.5 ms (p50 10 ms, max 90 ms), budget 50 ms');
  });

  it('fail when a malformed request gets a 5xx, a 2xx or no answer', () => {
    const badRequests = [
      { name: 'malformed-json', status: 400, answered4xx: true },
      { name: 'string-in-numeric-column', status: 500, answered4xx: false },
      { name: 'body-too-large', status: undefined, answered4xx: false, error: 'ECONNRESET' },
    ];
    const check = statusOf(evaluateChecks(input({ badRequests })), 'bad-requests-get-4xx');
    expect(check?.status).toBe('failed');
    expect(check?.detail).toBe('2 of 3 malformed requests did not get a 4xx: string-in-numeric-column → 500; body-too-large → ECONNRESET');
  });

  it('fail with the reason when the server was OOM-killed, exited or restarted', () => {
    const oom = runRecord({ state: { running: false, oomKilled: true, exitCode: 137, restartCount: 0 }, memoryCapBytes: 256 * MiB });
    expect(statusOf(evaluateChecks(input({ measurement: oom })), 'server-stayed-up')?.detail).toMatch(/OOM-killed at its 256Mi memory cap/);
    const exited = runRecord({ state: { running: false, oomKilled: false, exitCode: 1, restartCount: 0 } });
    expect(statusOf(evaluateChecks(input({ measurement: exited })), 'server-stayed-up')?.detail).toBe('the server exited with code 1 during the load');
    const restarted = runRecord({ state: { running: true, oomKilled: false, exitCode: undefined, restartCount: 2 } });
    expect(statusOf(evaluateChecks(input({ measurement: restarted })), 'server-stayed-up')?.detail).toBe('the server restarted 2 time(s) during the load');
  });

  it('fail the limit proof when the capped run was OOM-killed or had errors', () => {
    const killed = runRecord({ state: { running: false, oomKilled: true, exitCode: 137, restartCount: 0 }, memoryCapBytes: 128 * MiB });
    const check = statusOf(evaluateChecks(input({ proof: { enforced: true, memoryLimitBytes: 128 * MiB, run: killed, note: '' } })), 'limit-proof');
    expect(check?.status).toBe('failed');
    expect(check?.detail).toMatch(/^in a container capped at 128Mi: the server was OOM-killed/);
  });

  it('fail the process-mode proof when the peak went over the limit, and say the cap was only a watchdog', () => {
    const run = runRecord({ peakWorkingSetBytes: 130 * MiB });
    const check = statusOf(evaluateChecks(input({ proof: { enforced: false, memoryLimitBytes: 128 * MiB, run, note: 'no cgroup cap' } })), 'limit-proof');
    expect(check?.status).toBe('failed');
    expect(check?.detail).toContain('under an RSS watchdog at 128Mi (no cgroup cap)');
    expect(check?.detail).toContain('peak RSS 130.0 MiB went over the 128Mi limit');
  });

  it('skip the limit proof when the first run already failed', () => {
    const check = statusOf(evaluateChecks(input({ proof: undefined })), 'limit-proof');
    expect(check).toMatchObject({ status: 'skipped', detail: 'not run: the first run failed, so no limit was computed' });
  });

  it('fail the limit proof, with the reason, when the capped server could not even start', () => {
    const note = 'the server did not start under the 64Mi limit: model m: the server was OOM-killed before it became ready';
    const check = statusOf(evaluateChecks(input({ proof: { enforced: true, memoryLimitBytes: 64 * MiB, run: undefined, note } })), 'limit-proof');
    expect(check).toMatchObject({ status: 'failed', detail: note });
  });
});
