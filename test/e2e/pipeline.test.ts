import { existsSync } from 'node:fs';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireDockerWithBaseImage, baseImage } from '../support/docker.js';
import { buildCli, cloneWorkingTree, readJobResults, requireTools, runPipeline, writeCiVariables, type JobResult } from './gitlab-ci-local.js';

/**
 * The example fleet, cut to what the end-to-end run needs: the A/B-tested model (two variants)
 * and one plain model, with short load tests, so the whole pipeline stays within minutes.
 */
const FLEET = `defaults:
  endpoint: probability
  batching: { enabled: true, maxBatchSize: 32, maxLatencyMs: 5 }
  scaling: { minReplicas: 1, maxReplicas: 3, targetCpuUtilization: 70 }
  loadtest: { durationSeconds: 3, connections: 2, rowsPerRequest: 1, p99BudgetMs: 1000 }
models:
  - name: match-2-taxi-trafficaware
    parameters: [2, TAXI, trafficaware]
    path: examples/models/match-logreg-v1
    ab:
      stickyHeader: x-user-id
      variants:
        - { name: v1, weight: 80 }
        - { name: v2, weight: 20, path: examples/models/match-logreg-v2 }
  - name: match-7-moto-baseline
    parameters: [7, MOTO, baseline]
    path: examples/models/match-logreg-v1
`;
const DEPLOYABLES = ['match-2-taxi-trafficaware-v1', 'match-2-taxi-trafficaware-v2', 'match-7-moto-baseline'];
const CHILD_JOBS = [...DEPLOYABLES.flatMap((d) => [`${d}:build`, `${d}:test`, `${d}:deploy`]), 'gateway:build', 'gateway:deploy'];
const BODY = JSON.stringify({ dataframe_split: { columns: ['route_decision_score', 'farevalueinminor', 'offer_throughput_rate', 'eventtime', 'backtoback'], data: [[0.73, 1250, 0.42, 1767225600, 1], [0.18, 3900, 0.91, 1767229200, 0]] } });

let dir: string;
let variables: Record<string, string>;
let results: Map<string, JobResult>;
let log: string;

interface LocalState {
  models: Record<string, { port: number; runtime: string; memoryLimitBytes?: number }>;
  gateway?: { port: number };
}

async function readState(): Promise<LocalState> {
  return JSON.parse(await readFile(join(dir, '.modelfleet', 'local', 'state.json'), 'utf8')) as LocalState;
}

async function post(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: { predictions?: number[] }; deployName: string | null; variant: string | null }> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: BODY, signal: AbortSignal.timeout(10_000) });
  return { status: response.status, body: (await response.json()) as { predictions?: number[] }, deployName: response.headers.get('x-modelfleet-deploy-name'), variant: response.headers.get('x-modelfleet-variant') };
}

function describeFailures(jobs: readonly string[]): string {
  const bad = jobs.filter((j) => !results.get(j)?.passed);
  return bad.map((j) => `${j}: ${results.has(j) ? `FAIL ${results.get(j)?.exitCode ?? ''}` : 'did not run'}`).join('; ') + `\n(full log: ${join(dir, 'e2e.log')})`;
}

beforeAll(async () => {
  requireTools();
  await requireDockerWithBaseImage();
  dir = await mkdtemp(join(tmpdir(), 'modelfleet-e2e-'));
  await cloneWorkingTree(dir);
  await writeFile(join(dir, 'models.yaml'), FLEET);
  const { run } = await import('./gitlab-ci-local.js');
  await run('git', ['-c', 'user.email=e2e@modelfleet.invalid', '-c', 'user.name=modelfleet e2e', 'commit', '-q', '-am', 'e2e fleet'], { cwd: dir, timeoutMs: 30_000 });
  await buildCli(dir);
  const jobVariables = {
    MODELFLEET_BASE_IMAGE: baseImage,
    MODELFLEET_GATEWAY_PORT: '0',
    MODELFLEET_ENV: 'e2e',
    // gitlab-ci-local predefines CI_REGISTRY (local-registry.gitlab.com); no registry is reachable here.
    CI_REGISTRY: '',
  };
  await writeCiVariables(dir, jobVariables);
  // Path-like values go through the environment only: gitlab-ci-local turns a variables-file
  // value that names an existing path into a file variable. Shell jobs run in the clone itself,
  // so `.modelfleet` there is shared by every job anyway.
  variables = { ...jobVariables, MODELFLEET_STATE_DIR: join(dir, '.modelfleet') };
  const started = Date.now();
  const result = await runPipeline(dir, variables, [], 9 * 60_000);
  log = result.output;
  await writeFile(join(dir, 'e2e.log'), log);
  results = readJobResults(log);
  console.log(`end-to-end pipeline: ${((Date.now() - started) / 1000).toFixed(0)}s, ${results.size} jobs; log ${join(dir, 'e2e.log')}`);
}, 12 * 60_000);

afterAll(async () => {
  if (!dir) return;
  const { run } = await import('./gitlab-ci-local.js');
  await run(process.execPath, [join(dir, 'bin', 'modelfleet.js'), 'down'], { cwd: dir, env: variables, timeoutMs: 60_000 }).catch(() => undefined);
  if (process.env.MODELFLEET_KEEP_E2E !== '1') await rm(dir, { recursive: true, force: true });
}, 120_000);

describe('the real .gitlab-ci.yml under gitlab-ci-local', () => {
  it('runs the parent pipeline and every child job of the generated child pipeline successfully', () => {
    expect(results.get('create-model-folders')?.passed).toBe(true);
    const ran = CHILD_JOBS.filter((j) => results.get(j)?.child === true);
    expect(ran, describeFailures(CHILD_JOBS)).toEqual(CHILD_JOBS);
    expect(CHILD_JOBS.filter((j) => !results.get(j)?.passed), describeFailures(CHILD_JOBS)).toEqual([]);
  });

  it('deployed every model to the local target in a container capped at its measured memory limit', async () => {
    const state = await readState();
    expect(Object.keys(state.models).sort()).toEqual([...DEPLOYABLES].sort());
    for (const name of DEPLOYABLES) {
      const instance = state.models[name];
      expect(instance?.runtime).toBe('docker');
      const sizing = JSON.parse(await readFile(join(dir, 'build', 'models', name, 'sizing.json'), 'utf8')) as { memoryLimitBytes: number };
      expect(instance?.memoryLimitBytes).toBe(sizing.memoryLimitBytes);
    }
  });

  it('answers on every route through the gateway with the prediction the model itself gives', async () => {
    const state = await readState();
    const gateway = `http://127.0.0.1:${state.gateway?.port}`;
    const moto = await post(`${gateway}/probability/7/MOTO/baseline`);
    const direct = await post(`http://127.0.0.1:${state.models['match-7-moto-baseline']?.port}/invocations`);
    expect(moto.status).toBe(200);
    expect(moto.deployName).toBe('match-7-moto-baseline');
    expect(moto.body.predictions).toHaveLength(2);
    expect(moto.body).toEqual(direct.body);
    for (const p of moto.body.predictions ?? []) {
      expect(p).toBeGreaterThan(0);
      expect(p).toBeLessThan(1);
    }

    const v1 = await post(`http://127.0.0.1:${state.models['match-2-taxi-trafficaware-v1']?.port}/invocations`);
    const v2 = await post(`http://127.0.0.1:${state.models['match-2-taxi-trafficaware-v2']?.port}/invocations`);
    expect(v1.body).not.toEqual(v2.body);
    for (const user of ['alice', 'bob', 'carol', 'dave']) {
      const answer = await post(`${gateway}/probability/2/TAXI/trafficaware`, { 'x-user-id': user });
      expect(answer.status).toBe(200);
      expect(answer.body).toEqual(answer.deployName === 'match-2-taxi-trafficaware-v1' ? v1.body : v2.body);
    }
  });

  it('splits the A/B route 80/20 within tolerance and keeps each caller on one variant', async () => {
    const state = await readState();
    const url = `http://127.0.0.1:${state.gateway?.port}/probability/2/TAXI/trafficaware`;
    const callers = 400;
    const seen = new Map<string, string | null>();
    for (let i = 0; i < callers; i += 1) seen.set(`user-${i}`, (await post(url, { 'x-user-id': `user-${i}` })).variant);
    const v2Share = [...seen.values()].filter((v) => v === 'v2').length / callers;
    expect(v2Share).toBeGreaterThan(0.13);
    expect(v2Share).toBeLessThan(0.27);
    expect([...seen.values()].every((v) => v === 'v1' || v === 'v2')).toBe(true);
    for (let i = 0; i < 40; i += 1) expect((await post(url, { 'x-user-id': `user-${i}` })).variant).toBe(seen.get(`user-${i}`));
  }, 120_000);

  it('re-runs one model\'s deploy job alone after every artifact was deleted, and it works', async () => {
    // GitLab keeps the child pipeline's definition; the artifacts of its jobs expire.
    const child = join(dir, 'child-pipeline.saved.yml');
    await copyFile(join(dir, 'build', 'child-pipeline.yml'), child);
    await rm(join(dir, 'build'), { recursive: true, force: true });
    await rm(join(dir, '.gitlab-ci-local', 'artifacts'), { recursive: true, force: true });
    expect(existsSync(join(dir, 'build'))).toBe(false);

    const rerun = await runPipeline(dir, variables, ['--file', 'child-pipeline.saved.yml', 'match-7-moto-baseline:deploy'], 6 * 60_000);
    await writeFile(join(dir, 'e2e-rerun.log'), rerun.output);
    const job = readJobResults(rerun.output).get('match-7-moto-baseline:deploy');
    expect(job?.passed, `${rerun.output.slice(-3000)}`).toBe(true);
    // The job's own `generate --model` recreated the folder; deploy found the image by its tag and re-measured.
    expect(rerun.output).toMatch(/image\.json is missing; finding the image by its content tag/);
    expect(rerun.output).toMatch(/sizing\.json is missing; re-measuring/);
    expect(existsSync(join(dir, 'build', 'models', 'match-7-moto-baseline', 'sizing.json'))).toBe(true);
    const state = await readState();
    const answer = await post(`http://127.0.0.1:${state.gateway?.port}/probability/7/MOTO/baseline`);
    expect(answer.status).toBe(200);
    expect(answer.deployName).toBe('match-7-moto-baseline');
  }, 7 * 60_000);
});
