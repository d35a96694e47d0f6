import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findDeployable } from '../../generator/fleet/find-deployable.js';
import { loadFleet } from '../../generator/fleet/load-fleet.js';
import { UserError } from '../../lib/errors/user-error.js';
import { runLoadtest, type LoadtestJob } from '../../pipeline/loadtest/run-loadtest.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
let dir: string;

// The p99 budget is the schema's maximum: this test is about the pipeline, not this machine's
// speed under whatever else runs on it (checks.test.ts covers the budget check itself).
const FLEET = `
defaults:
  endpoint: probability
  loadtest: { durationSeconds: 2, connections: 2, rowsPerRequest: 3, p99BudgetMs: 60000 }
models:
  - name: match-9-trees-test
    parameters: [9, TAXI, test]
    path: models/match-trees
  - name: match-9-broken-test
    parameters: [9, TAXI, broken]
    path: models/broken
`;

function job(name: string, overrides: Partial<LoadtestJob> = {}): LoadtestJob & { lines: string[] } {
  const fleet = loadFleet(join(dir, 'models.yaml'));
  const lines: string[] = [];
  return {
    fleet,
    deployable: findDeployable(fleet, name),
    outDir: join(dir, 'build'),
    mode: 'process',
    openDocker: async () => undefined,
    log: (line) => lines.push(line),
    lines,
    ...overrides,
  };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'modelfleet-loadtest-process-'));
  cpSync(join(root, 'examples', 'models', 'match-trees'), join(dir, 'models', 'match-trees'), { recursive: true });
  // A model whose files look right but whose ONNX graph is garbage: the server cannot start.
  cpSync(join(root, 'examples', 'models', 'match-trees'), join(dir, 'models', 'broken'), { recursive: true });
  writeFileSync(join(dir, 'models', 'broken', 'model.onnx'), 'not an onnx graph');
  writeFileSync(join(dir, 'models.yaml'), FLEET);
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('modelfleet loadtest in process mode', () => {
  it('load-tests a real server process, sizes it and writes the report and the sizing record', async () => {
    const j = job('match-9-trees-test');
    const { report, written } = await runLoadtest(j);

    expect(report.passed).toBe(true);
    expect(report.mode).toBe('process');
    expect(report.checks.map((c) => [c.id, c.status])).toEqual([
      ['no-request-errors', 'passed'],
      ['p99-within-budget', 'passed'],
      ['bad-requests-get-4xx', 'passed'],
      ['server-stayed-up', 'passed'],
      ['limit-proof', 'passed'],
    ]);
    expect(report.measurement.load.requests).toBeGreaterThan(0);
    expect(report.measurement.load.ok).toBe(report.measurement.load.requests);
    expect(report.measurement.samples.length).toBeGreaterThan(2);
    expect(report.badRequests.length).toBeGreaterThanOrEqual(30);
    // Process mode cannot cap memory with a cgroup, and says so.
    expect(report.limitProof?.enforced).toBe(false);
    expect(report.limitProof?.note).toMatch(/no cgroup cap/);
    expect(report.limitProof?.run?.memoryCapBytes).toBe(report.sizing?.memoryLimitBytes);

    const modelDir = join(dir, 'build', 'models', 'match-9-trees-test');
    expect(JSON.parse(readFileSync(join(written.reportDir, 'report.json'), 'utf8'))).toEqual(JSON.parse(JSON.stringify(report)));
    expect(readFileSync(join(written.reportDir, 'junit.xml'), 'utf8').match(/<testcase /g)).toHaveLength(5);
    expect(readFileSync(join(written.reportDir, 'report.html'), 'utf8')).toContain('<svg');
    const sizing = JSON.parse(readFileSync(join(modelDir, 'sizing.json'), 'utf8')) as { mode: string; key: string; sizing: { memoryLimitBytes: number } };
    expect(sizing.mode).toBe('process');
    expect(sizing.key).toMatch(/^[0-9a-f]{64}$/);
    expect(sizing.sizing.memoryLimitBytes).toBe(report.sizing?.memoryLimitBytes);
    // Manifests are the deploy job's: the load test leaves none that could go stale.
    expect(existsSync(join(modelDir, 'k8s'))).toBe(false);

    // Progress: one line per second of load in each run (2 s each), not one per request, however
    // long a busy machine makes the run take.
    const secondsOf = (step: string) => j.lines.filter((l) => l.includes(`[${step}]`) && l.includes('req/s')).map((l) => Number(/\]\s+(\d+)\/2 s/.exec(l)?.[1]));
    expect(secondsOf('1/2')).toEqual([1, 2]);
    expect(secondsOf('2/2')).toEqual([1, 2]);
  }, 120_000); // two load runs of 2 s plus start-ups; seconds more on a busy machine

  it('fails with the server\'s last output when the server cannot start', async () => {
    const error = await runLoadtest(job('match-9-broken-test')).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(UserError);
    expect((error as UserError).code).toBe('LOADTEST_SERVER_NOT_READY');
    expect((error as UserError).message).toMatch(/match-9-broken-test: the server exited with code \d+ before it became ready/);
    expect((error as UserError).message).toMatch(/Last lines of the server's output/);
  });

  it('fails clearly when Docker mode is asked for and no engine answers', async () => {
    const error = await runLoadtest(job('match-9-trees-test', { mode: 'docker' })).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(UserError);
    expect((error as UserError).code).toBe('LOADTEST_DOCKER_UNAVAILABLE');
  });
});
