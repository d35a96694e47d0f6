/**
 * Scale to zero on the local target with Docker.
 *   node --import tsx bench/scale-to-zero/run.ts [--wakeups 20] [--models 20] [--active 2]
 *
 * Builds one model image (`modelfleet generate` + `build` of the example model match-7-moto-baseline,
 * base image MODELFLEET_BASE_IMAGE or modelfleet/base:local) and deploys it as N models on the local
 * target, each its own container capped at its memory limit, behind the local gateway (which stops
 * idle models and starts them on demand). `active` models keep replicas (minReplicas 1); the others
 * scale to zero after idleSeconds: 20.
 *
 * Fleet idle memory: the working set of every model container (Docker's stats, as `docker stats`
 * and the kubelet count it) plus the gateway's RSS, with all N running, then after the idle ones
 * were put to sleep by the gateway while the active ones kept getting requests.
 * Cold start: the first request to a sleeping model, timed from the caller's side, over `wakeups`
 * wake-ups (the model is put to sleep before each as the gateway's idle sweep does, by stopping its
 * container; the gateway holds the request, starts the container again, on its port with its memory
 * cap, and releases the request once /readyz answers).
 */
import { spawn } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadFleet } from '../../generator/fleet/load-fleet.js';
import { percentile } from '../../lib/percentile.js';
import { isInstanceAlive } from '../../pipeline/instance-runtime/recorded-instance.js';
import { instanceUrl } from '../../pipeline/instance-runtime/server-instance.js';
import { deployLocal } from '../../pipeline/local-target/deploy-local.js';
import { deployLocalGateway } from '../../pipeline/local-target/local-gateway.js';
import { readLocalState } from '../../pipeline/local-target/local-state.js';
import { createLocalWaker } from '../../pipeline/local-target/local-waker.js';
import { openDocker, type DockerSeam } from '../../pipeline/seams/docker.js';
import { runDown } from '../../pipeline/up/run-up.js';
import { COLD_START_HEADER } from '../../serving/gateway/proxy-request.js';
import { rssBytes } from '../serving/proc-stats.js';

const { values } = parseArgs({ options: { wakeups: { type: 'string', default: '20' }, models: { type: 'string', default: '20' }, active: { type: 'string', default: '2' } } });
const WAKEUPS = Number(values.wakeups);
const MODELS = Number(values.models);
const ACTIVE = Number(values.active);
const repo = resolve(import.meta.dirname, '../..');
const SOURCE = 'match-7-moto-baseline';
const MiB = 1024 * 1024;
const CAP = 160 * MiB;
/** Long enough to measure the whole fleet running after the gateway started (its idle clocks start then). */
const IDLE_SECONDS = 20;
const body = JSON.stringify({ dataframe_split: { columns: ['route_decision_score', 'farevalueinminor', 'offer_throughput_rate', 'eventtime', 'backtoback'], data: [[0.73, 1250, 0.42, 1767225600, 1]] } });
const name = (i: number): string => `bench-${String(i).padStart(2, '0')}`;
const route = (i: number): string => `/probability/${i}/BENCH/zero`;

function cli(dir: string, args: readonly string[]): Promise<void> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [join(repo, 'bin', 'modelfleet.js'), ...args], { cwd: dir, env: { ...process.env, MODELFLEET_BASE_IMAGE: process.env.MODELFLEET_BASE_IMAGE ?? 'modelfleet/base:local', CI_REGISTRY: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    child.once('close', (code) => (code === 0 ? done() : fail(new Error(`modelfleet ${args.join(' ')} failed:\n${output}`))));
  });
}

/** One stats sample of a container: its working set. */
async function workingSet(docker: DockerSeam, id: string): Promise<number> {
  const abort = new AbortController();
  for await (const sample of docker.container(id).stats(abort.signal)) {
    abort.abort();
    return sample.workingSetBytes;
  }
  return 0;
}

async function fleetMemory(docker: DockerSeam, root: string): Promise<{ containers: number; running: number; modelsBytes: number; gatewayBytes: number }> {
  const state = await readLocalState(root);
  // In parallel: the engine's first stats sample of a container takes about a second.
  const sets = await Promise.all(Object.values(state.models).map(async (record) => (record.containerId && (await isInstanceAlive(record, docker)) ? workingSet(docker, record.containerId) : undefined)));
  const alive = sets.filter((bytes): bytes is number => bytes !== undefined);
  const running = alive.length;
  const modelsBytes = alive.reduce((sum, bytes) => sum + bytes, 0);
  const gatewayBytes = state.gateway?.pid ? await rssBytes(state.gateway.pid) : 0;
  return { containers: Object.keys(state.models).length, running, modelsBytes, gatewayBytes };
}

async function post(url: string): Promise<{ status: number; cold: string | null; ms: number }> {
  const started = performance.now();
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal: AbortSignal.timeout(30_000) });
  await res.arrayBuffer();
  return { status: res.status, cold: res.headers.get(COLD_START_HEADER), ms: performance.now() - started };
}

const mib = (bytes: number): string => `${(bytes / MiB).toFixed(0)} MiB`;

async function main(): Promise<void> {
  const docker = await openDocker();
  if (!docker) throw new Error('no Docker engine answers: start one with `bash scripts/setup-docker.sh`');
  const dir = await mkdtemp(join(tmpdir(), 'modelfleet-bench-zero-'));
  const root = join(dir, '.modelfleet');
  process.env.MODELFLEET_STATE_DIR = root;
  process.env.MODELFLEET_GATEWAY_PORT = '0';
  try {
    await cp(join(repo, 'models.yaml'), join(dir, 'models.yaml'));
    await cp(join(repo, 'examples'), join(dir, 'examples'), { recursive: true });
    for (const step of [['generate', '--model', SOURCE], ['build', '--model', SOURCE]]) await cli(dir, step);
    const image = (JSON.parse(await readFile(join(dir, 'build', 'models', SOURCE, 'image.json'), 'utf8')) as { tag: string }).tag;

    // The fleet: N models served by the same image, the first ACTIVE keep a replica.
    const entries = Array.from({ length: MODELS }, (_, i) => `  - name: ${name(i)}\n    parameters: [${i}, BENCH, zero]\n    path: examples/models/match-logreg-v1\n`
      + (i < ACTIVE ? '' : `    scaling: { minReplicas: 0 }\n    scaleToZero: { idleSeconds: ${IDLE_SECONDS} }\n`));
    await writeFile(join(dir, 'models.yaml'), `defaults:\n  endpoint: probability\nmodels:\n${entries.join('')}`);
    const fleet = loadFleet(join(dir, 'models.yaml'));
    for (let i = 0; i < MODELS; i++) {
      await deployLocal({ fleet, deployName: name(i), runtime: { kind: 'docker', image, memoryLimitBytes: CAP }, docker, env: { MODEL_NAME: name(i) }, root });
    }
    const gateway = (await deployLocalGateway(fleet, docker, () => undefined, root)).url;
    for (let i = 0; i < MODELS; i++) if ((await post(`${gateway}${route(i)}`)).status !== 200) throw new Error(`${name(i)} does not answer`);

    const before = await fleetMemory(docker, root);
    console.log(`all ${MODELS} running: ${before.running} containers ${mib(before.modelsBytes)} + gateway ${mib(before.gatewayBytes)} = ${mib(before.modelsBytes + before.gatewayBytes)}`);

    // The active models keep getting requests while the gateway puts the idle ones to sleep.
    const deadline = Date.now() + 60_000;
    let after = before;
    while (Date.now() < deadline) {
      for (let i = 0; i < ACTIVE; i++) await post(`${gateway}${route(i)}`);
      await new Promise((r) => setTimeout(r, 1_000));
      const state = await readLocalState(root);
      let alive = 0;
      for (const record of Object.values(state.models)) if (await isInstanceAlive(record, docker)) alive += 1;
      if (alive === ACTIVE) {
        after = await fleetMemory(docker, root);
        break;
      }
    }
    console.log(`${MODELS - ACTIVE} idle asleep: ${after.running} containers ${mib(after.modelsBytes)} + gateway ${mib(after.gatewayBytes)} = ${mib(after.modelsBytes + after.gatewayBytes)}`);

    // Cold starts: put the model to sleep, then call it.
    const target = ACTIVE;
    const sleeper = createLocalWaker({ root, docker: () => Promise.resolve(docker) });
    const times: number[] = [];
    for (let round = 0; round < WAKEUPS; round++) {
      // The gateway records a woken container just after releasing its requests: wait for that record.
      let record = (await readLocalState(root)).models[name(target)];
      for (let i = 0; round > 0 && i < 100 && !(record && (await isInstanceAlive(record, docker))); i++) {
        await new Promise((r) => setTimeout(r, 50));
        record = (await readLocalState(root)).models[name(target)];
      }
      // Put to sleep as the gateway's idle sweep does (the container is stopped, kept for a quick start).
      if (record && (await isInstanceAlive(record, docker))) await sleeper.sleep?.({ deployName: name(target), upstream: instanceUrl(record), readyPath: '/readyz', deadline: 0 });
      const answer = await post(`${gateway}${route(target)}`);
      if (answer.status !== 200 || answer.cold === null) throw new Error(`wake-up ${round + 1}: status ${answer.status}, cold-start header ${answer.cold ?? 'missing'}`);
      times.push(answer.ms);
    }
    const sorted = [...times].sort((a, b) => a - b);
    console.log(`cold start over ${WAKEUPS} wake-ups (container start + model load + first answer): p50 ${percentile(sorted, 50).toFixed(0)} ms, p99 ${percentile(sorted, 99).toFixed(0)} ms, max ${(sorted.at(-1) ?? 0).toFixed(0)} ms`);
  } finally {
    await runDown(() => undefined).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
