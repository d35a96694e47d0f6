/**
 * The pipeline as GitLab runs it, not only as gitlab-ci-local does, in a team's repository set
 * up by `modelfleet init` (not this one), with the packed CLI installed where the jobs find it
 * on PATH, as the CI image holds it:
 * - every job runs in its own copy of the repository (`--shell-isolation`), so nothing crosses
 *   jobs through a shared work tree;
 * - build jobs use one Docker engine and test/deploy jobs another, empty one (a per-job
 *   runner): images cross only through the real registry on 127.0.0.1:5000;
 * - each child job is then run alone in a fresh clone with no artifact of any other job and
 *   an engine that no longer holds its images, after GitLab's rule for expired artifacts is
 *   applied to its definition (gitlab-ci-local does not apply it).
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { load } from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRegistry, parseImageReference } from '../../pipeline/registry/registry-client.js';
import { requireDockerWithBaseImage, baseImage } from '../support/docker.js';
import { refuseIfArtifactsExpired } from '../support/gitlab-artifact-rule.js';
import { registryAddress, requireRegistry } from '../support/registry.js';
import { requireSecondEngine } from '../support/second-engine.js';
import { installedCliBin, packModelfleet } from '../support/installed-package.js';
import { freshClone, initTeamRepository, jobOutput, readJobResults, requireTools, run, runPipeline, writeCiVariables, type JobResult } from './gitlab-ci-local.js';

const DEPLOYABLES = ['e2e-2-taxi-trafficaware-v1', 'e2e-2-taxi-trafficaware-v2', 'e2e-7-moto-baseline'];
/** The one environment the run deploys to, without a gate (models.yaml's `environments:` below). */
const ENVIRONMENT = 'e2e';
const deployJob = (name: string) => `${name}:deploy:${ENVIRONMENT}`;
const CHILD_JOBS = [...DEPLOYABLES.flatMap((d) => [`${d}:build`, `${d}:test`, deployJob(d)]), 'gateway:build', deployJob('gateway')];
const BODY = JSON.stringify({ dataframe_split: { columns: ['route_decision_score', 'farevalueinminor', 'offer_throughput_rate', 'eventtime', 'backtoback'], data: [[0.73, 1250, 0.42, 1767225600, 1], [0.18, 3900, 0.91, 1767229200, 0]] } });

/**
 * The example fleet, cut to what the end-to-end run needs (the A/B-tested model and one plain
 * model, short load tests, names of their own so that no other test shares their images), on
 * a shell runner whose build jobs and test/deploy jobs talk to different Docker engines,
 * deploying onto the runner itself, into one environment that needs no manual start. The p99 budget is loose: three test jobs share two cores
 * with the rest of the suite, and latency is not what this run checks.
 */
function fleetYaml(buildEngine: string, jobEngine: string): string {
  return `ci:
  deployTarget: local
  jobs:
    build: { variables: { DOCKER_HOST: "unix://${buildEngine}" } }
    test: { variables: { DOCKER_HOST: "unix://${jobEngine}" } }
    deploy: { variables: { DOCKER_HOST: "unix://${jobEngine}" } }
environments:
  - { name: ${ENVIRONMENT}, gate: auto }
defaults:
  endpoint: probability
  batching: { enabled: true, maxBatchSize: 32, maxLatencyMs: 5 }
  scaling: { minReplicas: 1, maxReplicas: 3, targetCpuUtilization: 70 }
  loadtest: { durationSeconds: 3, connections: 2, rowsPerRequest: 1, p99BudgetMs: 5000 }
models:
  - name: e2e-2-taxi-trafficaware
    parameters: [2, TAXI, trafficaware]
    path: examples/models/match-logreg-v1
    ab:
      stickyHeader: x-user-id
      variants:
        - { name: v1, weight: 80 }
        - { name: v2, weight: 20, path: examples/models/match-logreg-v2 }
  - name: e2e-7-moto-baseline
    parameters: [7, MOTO, baseline]
    path: examples/models/match-logreg-v1
`;
}

let dir: string;
/** Holds `modelfleet`: the packed CLI, installed once. */
let cliBin: string;
let jobEngine: Docker;
/** Job variables as written to .gitlab-ci-local-variables.yml. */
let fileVariables: Record<string, string>;
/** The same plus path-like values, which go through the environment only. */
let variables: Record<string, string>;
let results: Map<string, JobResult>;
let log: string;
let childPipelineYaml: string;
/** What each test job measured (its sizing.json artifact), by deployable. */
const measured = new Map<string, number>();
/** The memory cap of each model's container right after its lone deploy job. */
const capsAfterLoneDeploy = new Map<string, number | undefined>();
/** Output of each job run alone in a fresh clone. */
const alone = new Map<string, { passed: boolean; output: string }>();

interface LocalState {
  models: Record<string, { port: number; runtime: string; containerName?: string; containerId?: string }>;
  gateway?: { port: number };
}

async function readState(): Promise<LocalState> {
  return JSON.parse(await readFile(join(dir, '.modelfleet', 'local', 'state.json'), 'utf8')) as LocalState;
}

/** The memory cap the engine enforces on a model's running container. */
async function engineMemoryCap(name: string): Promise<number | undefined> {
  const instance = (await readState()).models[name];
  const container = instance?.containerId ?? instance?.containerName;
  if (!container) return undefined;
  return (await jobEngine.getContainer(container).inspect()).HostConfig.Memory;
}

async function post(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: { predictions?: number[] }; deployName: string | null; variant: string | null }> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: BODY, signal: AbortSignal.timeout(10_000) });
  return { status: response.status, body: (await response.json()) as { predictions?: number[] }, deployName: response.headers.get('x-modelfleet-deploy-name'), variant: response.headers.get('x-modelfleet-variant') };
}

function describeFailures(jobs: readonly string[]): string {
  const bad = jobs.filter((j) => !results.get(j)?.passed);
  const summary = bad.map((j) => `${j}: ${results.has(j) ? `FAIL ${results.get(j)?.exitCode ?? ''}` : 'did not run'}`).join('; ');
  const failedOutput = bad.filter((j) => results.has(j)).map((j) => `--- ${j}\n${jobOutput(log, j)}`).join('\n');
  return `${summary}\n${failedOutput}\n(full log: ${join(dir, 'e2e.log')})`;
}

/**
 * Empties the per-job engine, as a fresh runner's is: no container, no image, no layer. The
 * local target's model containers go too; each deploy job starts its model's again.
 */
async function emptyJobEngine(): Promise<void> {
  for (const container of await jobEngine.listContainers({ all: true })) {
    await jobEngine.getContainer(container.Id).remove({ force: true }).catch(() => undefined);
  }
  for (const image of await jobEngine.listImages({ all: true })) {
    await jobEngine.getImage(image.Id).remove({ force: true }).catch(() => undefined);
  }
  expect(await jobEngine.listImages({ all: true })).toEqual([]);
}

/** One child job alone, as a GitLab retry runs it: a fresh clone, the kept pipeline definition, no artifacts. */
async function runAlone(job: string, extra: Record<string, string> = {}): Promise<{ passed: boolean; output: string }> {
  refuseIfArtifactsExpired(load(childPipelineYaml) as Record<string, unknown>, job);
  const clone = await freshClone(dir, await mkdtemp(join(tmpdir(), 'modelfleet-e2e-job-')));
  try {
    await writeFile(join(clone, 'child-pipeline.yml'), childPipelineYaml);
    await writeCiVariables(clone, { ...fileVariables, ...extra });
    const result = await runPipeline(clone, { ...variables, ...extra }, ['--file', 'child-pipeline.yml', '--shell-isolation', job], 6 * 60_000);
    return { passed: readJobResults(result.output).get(job)?.passed === true, output: result.output };
  } finally {
    await rm(clone, { recursive: true, force: true });
  }
}

beforeAll(async () => {
  requireTools();
  await requireDockerWithBaseImage();
  const registry = await requireRegistry();
  const jobSocket = await requireSecondEngine();
  jobEngine = new Docker({ socketPath: jobSocket });
  await emptyJobEngine();

  cliBin = await installedCliBin(await packModelfleet());
  dir = await mkdtemp(join(tmpdir(), 'modelfleet-e2e-'));
  await initTeamRepository(dir, cliBin, { yaml: fleetYaml('/var/run/docker.sock', jobSocket), folders: ['examples/models/match-logreg-v1', 'examples/models/match-logreg-v2'] });
  fileVariables = {
    MODELFLEET_BASE_IMAGE: baseImage,
    MODELFLEET_GATEWAY_PORT: '0',
    MODELFLEET_ENV: 'e2e',
    // A repository of its own per run, so nothing an earlier run pushed is found.
    MODELFLEET_REGISTRY_IMAGE: `${registry}/e2e-${randomBytes(4).toString('hex')}/fleet`,
    // gitlab-ci-local predefines CI_REGISTRY (local-registry.gitlab.com), where nothing listens.
    CI_REGISTRY: '',
    // gitlab-ci-local says GITLAB_CI=false; GitLab says true, and deploy behaves accordingly.
    GITLAB_CI: 'true',
  };
  await writeCiVariables(dir, fileVariables);
  // Path-like values go through the environment only: gitlab-ci-local turns a variables-file
  // value that names an existing path into a file variable.
  variables = { ...fileVariables, MODELFLEET_STATE_DIR: join(dir, '.modelfleet'), PATH: `${cliBin}:${process.env.PATH ?? ''}` };
  const started = Date.now();
  const result = await runPipeline(dir, variables, ['--shell-isolation'], 12 * 60_000);
  log = result.output;
  await writeFile(join(dir, 'e2e.log'), log);
  results = readJobResults(log);
  console.log(`end-to-end pipeline: ${((Date.now() - started) / 1000).toFixed(0)}s, ${results.size} jobs; log ${join(dir, 'e2e.log')}`);
  // GitLab keeps a pipeline's definition after its artifacts expire; a retried job runs from it.
  childPipelineYaml = await readFile(join(dir, '.gitlab-ci-local', 'artifacts', 'create-model-folders', 'build', 'child-pipeline.yml'), 'utf8');
  // gitlab-ci-local keeps each job's exported artifacts in a folder named after the job.
  const artifacts = join(dir, '.gitlab-ci-local', 'artifacts');
  for (const folder of await readdir(artifacts)) {
    for (const name of DEPLOYABLES) {
      const file = join(artifacts, folder, 'build', 'models', name, 'sizing.json');
      if (!existsSync(file)) continue;
      const record = JSON.parse(await readFile(file, 'utf8')) as { sizing: { memoryLimitBytes: number } };
      measured.set(name, record.sizing.memoryLimitBytes);
    }
  }
}, 20 * 60_000);

afterAll(async () => {
  if (!dir) return;
  await run(join(cliBin, 'modelfleet'), ['down'], { cwd: dir, env: { ...variables, DOCKER_HOST: `unix://${await requireSecondEngine()}` }, timeoutMs: 60_000 }).catch(() => undefined);
  if (process.env.MODELFLEET_KEEP_E2E !== '1') await rm(dir, { recursive: true, force: true });
}, 120_000);

describe('an init-ed repository under gitlab-ci-local, one work tree per job, two engines and a registry', () => {
  it('runs the parent pipeline from the component and every child job of the generated child pipeline successfully', () => {
    expect(results.get('create-model-folders')?.passed).toBe(true);
    const ran = CHILD_JOBS.filter((j) => results.get(j)?.child === true);
    expect(ran, describeFailures(CHILD_JOBS)).toEqual(CHILD_JOBS);
    expect(CHILD_JOBS.filter((j) => !results.get(j)?.passed), describeFailures(CHILD_JOBS)).toEqual([]);
  });

  it('runs no job that installs or compiles anything: the CLI comes from PATH', () => {
    // The fallback line itself is echoed (`$ command -v modelfleet ... || { npm ci ...`); what
    // npm and the build print when it runs is not.
    expect(log).toMatch(/\$ command -v modelfleet/);
    expect(log).not.toMatch(/added \d+ packages|npm (ERR|error)|> modelfleet@[\d.]+ (prepare|build)/);
    expect(log).toMatch(/\$ modelfleet generate --file models.yaml --out build --model e2e-7-moto-baseline/);
  });

  it('passes images from the build engine to the test engine only through the registry', () => {
    for (const name of DEPLOYABLES) {
      expect(log, name).toMatch(new RegExp(`${name}:test.*is not in this Docker engine; pulling ${registryAddress.replace('.', '\\.')}/e2e-[0-9a-f]+/fleet/${name}:[0-9a-f]{12}`));
    }
  });

  it('deployed every model in a container whose engine-enforced memory cap is the limit its test measured', async () => {
    expect([...measured.keys()].sort()).toEqual([...DEPLOYABLES].sort());
    for (const name of DEPLOYABLES) expect(await engineMemoryCap(name), name).toBe(measured.get(name));
  });

  it('answers on every route through the gateway with the prediction the model itself gives', async () => {
    const state = await readState();
    const gateway = `http://127.0.0.1:${state.gateway?.port}`;
    const moto = await post(`${gateway}/probability/7/MOTO/baseline`);
    const direct = await post(`http://127.0.0.1:${state.models['e2e-7-moto-baseline']?.port}/invocations`);
    expect(moto.status).toBe(200);
    expect(moto.deployName).toBe('e2e-7-moto-baseline');
    expect(moto.body.predictions).toHaveLength(2);
    expect(moto.body).toEqual(direct.body);
    for (const p of moto.body.predictions ?? []) {
      expect(p).toBeGreaterThan(0);
      expect(p).toBeLessThan(1);
    }

    const v1 = await post(`http://127.0.0.1:${state.models['e2e-2-taxi-trafficaware-v1']?.port}/invocations`);
    const v2 = await post(`http://127.0.0.1:${state.models['e2e-2-taxi-trafficaware-v2']?.port}/invocations`);
    expect(v1.body).not.toEqual(v2.body);
    for (const user of ['alice', 'bob', 'carol', 'dave']) {
      const answer = await post(`${gateway}/probability/2/TAXI/trafficaware`, { 'x-user-id': user });
      expect(answer.status).toBe(200);
      expect(answer.body).toEqual(answer.deployName === 'e2e-2-taxi-trafficaware-v1' ? v1.body : v2.body);
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
});

describe('every child job re-run alone, as GitLab retries it after its artifacts expired', () => {
  beforeAll(async () => {
    // Both engines lose their copies of the model images; only the registry keeps them. (The
    // gateway image stays in the build engine: other tests build the same content there.)
    const buildEngine = await requireDockerWithBaseImage();
    for (const name of DEPLOYABLES) await buildEngine.removeImagesWithLabel('io.modelfleet.deploy-name', name);
    for (const job of CHILD_JOBS) {
      await emptyJobEngine();
      alone.set(job, await runAlone(job));
      const deployed = new RegExp(`^(.+):deploy:${ENVIRONMENT}$`).exec(job)?.[1];
      if (deployed && deployed !== 'gateway') capsAfterLoneDeploy.set(deployed, await engineMemoryCap(deployed));
    }
  }, 20 * 60_000);

  it('passes every build, test and deploy job in a fresh clone, with no artifact and an engine that never saw its images', () => {
    const failed = CHILD_JOBS.filter((job) => !alone.get(job)?.passed);
    expect(failed, failed.map((job) => `${job}:\n${alone.get(job)?.output.slice(-2500) ?? ''}`).join('\n')).toEqual([]);
  });

  it('deploys with the memory limit that was measured, read from the registry, without measuring again', async () => {
    for (const name of DEPLOYABLES) {
      const output = alone.get(deployJob(name))?.output ?? '';
      // The image the parent's generate pinned on the job, taken as it is: nothing downloaded or recomputed.
      expect(output, name).toMatch(new RegExp(`${name}: deploying modelfleet/${name}:[0-9a-f]{12}, the image \`generate\` pinned for this pipeline \\(MODELFLEET_IMAGE_CONTENT\\)`));
      expect(output, name).toMatch(new RegExp(`${name}: sizing measured \\S+ read from \\S+ \\(memory limit \\d+Mi\\); not measuring again`));
      expect(output, name).not.toMatch(/re-measuring/);
    }
    // The lone test job before it measured again and stored its record under the same key, so
    // the limit is the one the deploy read (on a busy machine a new measurement may differ from
    // the pipeline's). Read from the engine right after each lone deploy, before the next job emptied it.
    for (const name of DEPLOYABLES) {
      const readMiB = Number(/\(memory limit (\d+)Mi\); not measuring again/.exec(alone.get(deployJob(name))?.output ?? '')?.[1]);
      expect(capsAfterLoneDeploy.get(name), name).toBe(readMiB * 1024 * 1024);
    }
  });

  it('re-measures, and says why, when the registry no longer has the sizing record', async () => {
    const name = 'e2e-7-moto-baseline';
    const reference = /read from (\S+) \(memory limit/.exec(alone.get(deployJob(name))?.output ?? '')?.[1] ?? '';
    const { repository, tag } = parseImageReference(reference);
    expect(await openRegistry({ host: registryAddress }).deleteTag(repository, tag)).toBe(true);
    await emptyJobEngine();
    const rerun = await runAlone(deployJob(name));
    expect(rerun.passed, rerun.output.slice(-3000)).toBe(true);
    expect(rerun.output).toMatch(/the registry has no sizing record \S+ for this image and load .*; re-measuring/);
    // The new measurement is stored again, for the next re-run.
    expect(await openRegistry({ host: registryAddress }).hasManifest(repository, tag)).toBe(true);
    const state = await readState();
    const answer = await post(`http://127.0.0.1:${state.gateway?.port}/probability/7/MOTO/baseline`);
    expect(answer.status).toBe(200);
    expect(await engineMemoryCap(name)).toBeGreaterThan(0);
  }, 8 * 60_000);

  it('refuses a deploy to Kubernetes without cluster credentials, naming what to set', async () => {
    const refused = await runAlone(deployJob('e2e-7-moto-baseline'), { MODELFLEET_DEPLOY_TARGET: 'kube', KUBECONFIG: '' });
    expect(refused.passed).toBe(false);
    expect(refused.output).toMatch(/error\[DEPLOY_NO_CLUSTER\]: .*KUBECONFIG/);
    expect(refused.output).not.toMatch(/\n\s+at /);
  }, 3 * 60_000);
});
