/**
 * Promotion and rollback as a team lives them, under a steady stream of requests that must
 * never see a failure:
 * 1. a push of v1 runs its child pipeline: staging deploys, then production once someone
 *    starts the manual gate (`--manual`, as a click in GitLab);
 * 2. a push of v2 does the same;
 * 3. `modelfleet rollback --env production` serves v1 again;
 * 4. `modelfleet promote --from staging --to production` serves staging's v2, building nothing;
 * 5. GitLab's Rollback: the first pipeline's production deploy job re-runs from that pipeline's
 *    definition, in a fresh clone of its commit, after every artifact is gone (GitLab's rule
 *    for expired artifacts applied first), with the CI's base image moved on since, and v1
 *    serves again from the image the first pipeline pinned on the job.
 * The parent pipeline (component → generate → trigger) is covered by pipeline.test.ts; here the
 * child pipeline is generated the way the parent's generate job does it and run directly.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { load } from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseImage, requireDockerWithBaseImage } from '../support/docker.js';
import { refuseIfArtifactsExpired } from '../support/gitlab-artifact-rule.js';
import { installedCliBin, packModelfleet } from '../support/installed-package.js';
import { requireRegistry } from '../support/registry.js';
import { commitAll, freshClone, initTeamRepository, jobOutput, readJobResults, requireTools, run, runPipeline, writeCiVariables } from './gitlab-ci-local.js';

const MODEL = 'e2e-promo-5-taxi';
const ROUTE = '/probability/5/TAXI/promo';
const STAGING_JOB = `${MODEL}:deploy:staging`;
const PRODUCTION_JOB = `${MODEL}:deploy:production`;
const PIPELINE_JOBS = [`${MODEL}:build`, `${MODEL}:test`, STAGING_JOB, 'gateway:build', 'gateway:deploy:staging', PRODUCTION_JOB, 'gateway:deploy:production'];
const BODY = JSON.stringify({ dataframe_split: { columns: ['route_decision_score', 'farevalueinminor', 'offer_throughput_rate', 'eventtime', 'backtoback'], data: [[0.73, 1250, 0.42, 1767225600, 1]] } });

/** models.yaml of the test repository: one model, the default environments (staging, then production behind a manual gate). */
function fleetYaml(modelFolder: string): string {
  return `ci:
  deployTarget: local
defaults:
  endpoint: probability
  loadtest: { durationSeconds: 3, connections: 2, rowsPerRequest: 1, p99BudgetMs: 5000 }
models:
  - name: ${MODEL}
    parameters: [5, TAXI, promo]
    path: ${modelFolder}
`;
}

/**
 * Requests sent one after another on a few connections for as long as it runs, remembering
 * every answer's model version (the model server's x-model-version header, relayed by the
 * gateway) and every failure.
 */
class SteadyStream {
  readonly failures: string[] = [];
  /** Versions in the order answers carried them, each run of equal versions once. */
  readonly versions: string[] = [];
  answered = 0;
  #running = true;
  readonly #loops: Promise<void>[];

  constructor(readonly url: string, connections = 2) {
    this.#loops = Array.from({ length: connections }, () => this.#loop());
  }

  get latest(): string | undefined {
    return this.versions.at(-1);
  }

  async #loop(): Promise<void> {
    while (this.#running) {
      try {
        const response = await fetch(this.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: BODY, signal: AbortSignal.timeout(15_000) });
        const text = await response.text();
        if (response.status !== 200) this.failures.push(`${new Date().toISOString()} ${response.status}: ${text.slice(0, 300)}`);
        else {
          this.answered += 1;
          const version = response.headers.get('x-model-version') ?? '?';
          if (this.latest !== version) this.versions.push(version);
        }
      } catch (err) {
        this.failures.push(`${new Date().toISOString()} ${(err as Error).message}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  async firstAnswer(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.answered === 0) {
      if (Date.now() > deadline) throw new Error(`${this.url} answered nothing within ${timeoutMs / 1000}s: ${this.failures.slice(-3).join('; ')}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** Resolves once the latest answer came from `wanted`. */
  async waitFor(wanted: string, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.latest !== wanted) {
      if (Date.now() > deadline) throw new Error(`${this.url} still answers from ${this.latest ?? 'nothing'} after ${timeoutMs / 1000}s, not ${wanted} (seen: ${this.versions.join(' → ')})`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  async stop(): Promise<void> {
    this.#running = false;
    await Promise.all(this.#loops);
  }
}

let dir: string;
let cliBin: string;
let variables: Record<string, string>;
let fileVariables: Record<string, string>;
const pipelineYaml = new Map<number, string>();
const commits = new Map<number, string>();
let staging: SteadyStream | undefined;
let production: SteadyStream | undefined;
let v1 = '';
let v2 = '';
const steps = new Map<string, { code: number; output: string }>();

async function modelfleet(args: readonly string[], cwd = dir): Promise<{ code: number; output: string }> {
  return run(join(cliBin, 'modelfleet'), args, { cwd, env: variables, timeoutMs: 5 * 60_000 });
}

async function gatewayUrl(stateFolder: string): Promise<string> {
  const state = JSON.parse(await readFile(join(stateFolder, 'local', 'state.json'), 'utf8')) as { gateway?: { port: number } };
  if (!state.gateway) throw new Error(`no gateway is recorded in ${stateFolder}`);
  return `http://127.0.0.1:${state.gateway.port}${ROUTE}`;
}

/** What the parent's generate job does, then the child pipeline it writes, with the production gate opened. */
async function pushAndRunPipeline(push: number, modelFolder: string): Promise<void> {
  await writeFile(join(dir, 'models.yaml'), fleetYaml(modelFolder));
  if (push > 1) commits.set(push, await commitAll(dir, `serve ${modelFolder}`));
  const generated = await modelfleet(['generate', '--file', 'models.yaml', '--out', 'build', '--pin-images']);
  if (generated.code !== 0) throw new Error(`generate failed:\n${generated.output}`);
  const yaml = await readFile(join(dir, 'build', 'child-pipeline.yml'), 'utf8');
  pipelineYaml.set(push, yaml);
  const result = await runPipeline(dir, variables, ['--file', 'build/child-pipeline.yml', '--shell-isolation', '--manual', PRODUCTION_JOB], 12 * 60_000);
  await writeFile(join(dir, `pipeline-${push}.log`), result.output);
  const results = readJobResults(result.output);
  const failed = PIPELINE_JOBS.filter((job) => !results.get(job)?.passed);
  if (failed.length > 0) {
    throw new Error(`pipeline ${push}: ${failed.map((job) => `${job}: ${results.has(job) ? 'FAIL' : 'did not run'}`).join('; ')}\n${failed.filter((job) => results.has(job)).map((job) => `--- ${job}\n${jobOutput(result.output, job)}`).join('\n')}`);
  }
}

beforeAll(async () => {
  requireTools();
  await requireDockerWithBaseImage();
  const registry = await requireRegistry();
  cliBin = await installedCliBin(await packModelfleet());
  dir = await mkdtemp(join(tmpdir(), 'modelfleet-promotion-'));
  await initTeamRepository(dir, cliBin, { yaml: fleetYaml('examples/models/match-logreg-v1'), folders: ['examples/models/match-logreg-v1', 'examples/models/match-logreg-v2'] });
  commits.set(1, (await run('git', ['rev-parse', 'HEAD'], { cwd: dir, timeoutMs: 10_000 })).output.trim());
  // What gitlab-ci-local writes next to the repository is nobody's commit.
  await mkdir(join(dir, '.git', 'info'), { recursive: true });
  await writeFile(join(dir, '.git', 'info', 'exclude'), '.gitlab-ci-local/\n.gitlab-ci-local-variables.yml\n*.log\n');
  fileVariables = {
    MODELFLEET_BASE_IMAGE: baseImage,
    MODELFLEET_GATEWAY_PORT: '0',
    MODELFLEET_REGISTRY_IMAGE: `${registry}/e2e-promotion-${randomBytes(4).toString('hex')}/fleet`,
    CI_REGISTRY: '',
    GITLAB_CI: 'true',
  };
  await writeCiVariables(dir, fileVariables);
  variables = { ...fileVariables, MODELFLEET_STATE_DIR: join(dir, '.modelfleet'), PATH: `${cliBin}:${process.env.PATH ?? ''}` };

  await pushAndRunPipeline(1, 'examples/models/match-logreg-v1');
  staging = new SteadyStream(await gatewayUrl(join(dir, '.modelfleet')));
  production = new SteadyStream(await gatewayUrl(join(dir, '.modelfleet', 'environments', 'production')));
  await Promise.all([staging.firstAnswer(), production.firstAnswer()]);
  v1 = production.latest ?? '';

  await pushAndRunPipeline(2, 'examples/models/match-logreg-v2');
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  v2 = production.latest ?? '';

  steps.set('rollback', await modelfleet(['rollback', '--model', MODEL, '--env', 'production', '--target', 'local']));
  await production.waitFor(v1).catch(() => undefined);
  const imagesBefore = await listImages();
  steps.set('promote', await modelfleet(['promote', '--model', MODEL, '--from', 'staging', '--to', 'production', '--target', 'local']));
  steps.set('images after promote', { code: 0, output: JSON.stringify({ before: imagesBefore, after: await listImages() }) });
  await production.waitFor(v2).catch(() => undefined);

  steps.set('gitlab rollback', await rerunFirstProductionDeploy());
  await production.waitFor(v1).catch(() => undefined);
  await new Promise((resolve) => setTimeout(resolve, 1_000));
}, 30 * 60_000);

afterAll(async () => {
  await staging?.stop();
  await production?.stop();
  if (!dir) return;
  await modelfleet(['down']).catch(() => undefined);
  if (process.env.MODELFLEET_KEEP_E2E !== '1') await rm(dir, { recursive: true, force: true });
}, 120_000);

/** Image ids with their tags in the engine the jobs build into: a build adds one. */
async function listImages(): Promise<string[]> {
  const listed = await run('docker', ['image', 'ls', '--no-trunc', '--format', '{{.ID}} {{.Repository}}:{{.Tag}}'], { cwd: dir, timeoutMs: 60_000 });
  return listed.output.split('\n').filter((line) => line.includes(`modelfleet/${MODEL}`)).sort();
}

/**
 * GitLab's Rollback button on the first pipeline's production deployment: its deploy job runs
 * again from that pipeline's kept definition, on the commit it ran on, with no artifact of any
 * earlier job (every one expired or erased). The project's base image has moved on since (an
 * image nobody built): recomputed, the job's image tag would name an image that does not exist.
 */
async function rerunFirstProductionDeploy(): Promise<{ code: number; output: string }> {
  const definition = pipelineYaml.get(1) ?? '';
  refuseIfArtifactsExpired(load(definition) as Record<string, unknown>, PRODUCTION_JOB);
  await rm(join(dir, '.gitlab-ci-local'), { recursive: true, force: true });
  const clone = await freshClone(dir, await mkdtemp(join(tmpdir(), 'modelfleet-rollback-')));
  try {
    const checkout = await run('git', ['checkout', '-q', commits.get(1) ?? 'HEAD'], { cwd: clone, timeoutMs: 30_000 });
    if (checkout.code !== 0) throw new Error(`git checkout failed: ${checkout.output}`);
    await writeFile(join(clone, 'child-pipeline.yml'), definition);
    const moved = { MODELFLEET_BASE_IMAGE: 'modelfleet/base:moved-on' };
    await writeCiVariables(clone, { ...fileVariables, ...moved });
    return await runPipeline(clone, { ...variables, ...moved }, ['--file', 'child-pipeline.yml', '--shell-isolation', '--manual', PRODUCTION_JOB, PRODUCTION_JOB], 6 * 60_000);
  } finally {
    await rm(clone, { recursive: true, force: true });
  }
}

describe('v1 then v2 through staging and a manual production gate, then rollback, promote and GitLab Rollback, under steady load', () => {
  it('served v1 from production after the first pipeline and v2 after the second, each a different version', () => {
    expect(v1).toMatch(/^local-[0-9a-f]{12}$/);
    expect(v2).toMatch(/^local-[0-9a-f]{12}$/);
    expect(v2).not.toBe(v1);
    expect(staging?.latest).toBe(v2);
  });

  it('rolls production back to v1 with `modelfleet rollback`, building and measuring nothing', () => {
    const step = steps.get('rollback');
    expect(step?.code, step?.output).toBe(0);
    expect(step?.output).toMatch(/rolling production back to revision \d+ .*nothing is built or measured/);
  });

  it('promotes staging\'s v2 to production with the image staging runs, building none', () => {
    const step = steps.get('promote');
    expect(step?.code, step?.output).toBe(0);
    expect(step?.output).toMatch(/promoting staging revision \d+ .*nothing is built or measured/);
    const images = JSON.parse(steps.get('images after promote')?.output ?? '{}') as { before: string[]; after: string[] };
    expect(images.after).toEqual(images.before);
  });

  it('serves v1 again from the pinned image after the first pipeline\'s production deploy job re-ran with every artifact gone and the base image moved on', () => {
    const step = steps.get('gitlab rollback');
    expect(readJobResults(step?.output ?? '').get(PRODUCTION_JOB)?.passed, step?.output.slice(-3000)).toBe(true);
    expect(jobOutput(step?.output ?? '', PRODUCTION_JOB)).toMatch(/not measuring again/);
    // The image the first pipeline pinned, whatever the base image says now.
    const pinned = /MODELFLEET_IMAGE_CONTENT: (\S+)=sha256:([0-9a-f]{12})/.exec(pipelineYaml.get(1) ?? '');
    expect(pinned?.[1]).toBe(MODEL);
    expect(jobOutput(step?.output ?? '', PRODUCTION_JOB)).toContain(`deploying modelfleet/${MODEL}:${pinned?.[2] ?? ''}, the image \`generate\` pinned for this pipeline`);
    expect(production?.latest).toBe(v1);
  });

  it('production answered v1, v2, v1 (rollback), v2 (promote) and v1 (GitLab Rollback), in that order, and staging v1 then v2', () => {
    expect(production?.versions).toEqual([v1, v2, v1, v2, v1]);
    expect(staging?.versions).toEqual([v1, v2]);
  });

  it('switched between the running versions for rollback, promote and GitLab Rollback, starting no new instance (keepVersions: 1)', () => {
    expect(steps.get('rollback')?.output).toMatch(new RegExp(`${MODEL}: switched to the kept version ${v1} .*\\(no new instance started\\)`));
    expect(steps.get('promote')?.output).toMatch(new RegExp(`${MODEL}: switched to the kept version ${v2} `));
    expect(jobOutput(steps.get('gitlab rollback')?.output ?? '', PRODUCTION_JOB)).toMatch(new RegExp(`switched to the kept version ${v1} `));
  });

  it('answers each kept version at <route>/versions/<version>, and lists them for an unknown one', async () => {
    const url = production?.url ?? '';
    for (const version of [v1, v2]) {
      const response = await fetch(`${url}/versions/${version}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: BODY, signal: AbortSignal.timeout(10_000) });
      expect(response.status).toBe(200);
      expect(response.headers.get('x-model-version')).toBe(version);
      await response.arrayBuffer();
    }
    const unknown = await fetch(`${url}/versions/local-000000000000`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: BODY, signal: AbortSignal.timeout(10_000) });
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { versions: string[] }).versions.sort()).toEqual([v1, v2].sort());
  });

  it('answered every request of the steady streams on both environments, through every deploy and switch', async () => {
    await staging?.stop();
    await production?.stop();
    console.log(`steady streams: production answered ${production?.answered ?? 0} requests, staging ${staging?.answered ?? 0}; failures: ${(production?.failures.length ?? 0) + (staging?.failures.length ?? 0)}`);
    expect(production?.answered).toBeGreaterThan(500);
    expect(staging?.answered).toBeGreaterThan(500);
    expect([...(production?.failures ?? []), ...(staging?.failures ?? [])]).toEqual([]);
  });

  it('keeps the history of every production deployment, each saying how it got there', async () => {
    const history = await modelfleet(['history', '--model', MODEL, '--env', 'production', '--target', 'local']);
    expect(history.code, history.output).toBe(0);
    expect(history.output).toMatch(/rolled back to revision 1/);
    expect(history.output).toMatch(/promoted from staging revision 2/);
    expect(history.output.split('\n').filter((line) => /^\s*\d+\s/.test(line))).toHaveLength(5);
  });
});
