import { spawn } from 'node:child_process';
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import autocannon from 'autocannon';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadFleet } from '../../generator/fleet/load-fleet.js';
import type { FleetSpec } from '../../generator/fleet/types.js';
import { isUserError } from '../../lib/errors/user-error.js';
import { deployLocal } from '../../pipeline/local-target/deploy-local.js';
import { deployLocalGateway } from '../../pipeline/local-target/local-gateway.js';
import { readLocalState } from '../../pipeline/local-target/local-state.js';
import type { DockerSeam } from '../../pipeline/seams/docker.js';
import { runDown } from '../../pipeline/up/run-up.js';
import { baseImage, requireDockerWithBaseImage } from '../support/docker.js';

const repo = resolve(import.meta.dirname, '../..');
const NAME = 'match-7-moto-baseline';
const ROUTE = '/probability/7/MOTO/baseline';
const MiB = 1024 * 1024;
let docker: DockerSeam;
let dir: string;
let root: string;
let fleet: FleetSpec;
let image: string;
let gatewayUrl: string;
const body = JSON.stringify({ dataframe_split: { columns: ['route_decision_score', 'farevalueinminor', 'offer_throughput_rate', 'eventtime', 'backtoback'], data: [[0.73, 1250, 0.42, 1767225600, 1]] } });

function cli(args: readonly string[]): Promise<{ code: number; output: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [join(repo, 'bin', 'modelfleet.js'), ...args], { cwd: dir, env: { ...process.env, MODELFLEET_BASE_IMAGE: baseImage, CI_REGISTRY: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    child.once('close', (code) => done({ code: code ?? 1, output }));
  });
}

beforeAll(async () => {
  docker = await requireDockerWithBaseImage();
  // dist/ is checked to be current before any test runs (test/support/current-build.ts).
  dir = await mkdtemp(join(tmpdir(), 'modelfleet-local-docker-'));
  root = join(dir, '.modelfleet');
  process.env.MODELFLEET_STATE_DIR = root;
  process.env.MODELFLEET_GATEWAY_PORT = '0';
  await cp(join(repo, 'models.yaml'), join(dir, 'models.yaml'));
  await cp(join(repo, 'examples'), join(dir, 'examples'), { recursive: true });
  for (const step of [['generate', '--model', NAME], ['build', '--model', NAME]]) {
    const result = await cli(step);
    if (result.code !== 0) throw new Error(`modelfleet ${step.join(' ')} failed:\n${result.output}`);
  }
  image = (JSON.parse(await readFile(join(dir, 'build', 'models', NAME, 'image.json'), 'utf8')) as { tag: string }).tag;
  fleet = loadFleet(join(dir, 'models.yaml'));
  await deployLocal({ fleet, deployName: NAME, runtime: { kind: 'docker', image, memoryLimitBytes: 160 * MiB }, docker, env: { MODEL_NAME: NAME }, root });
  gatewayUrl = (await deployLocalGateway(fleet, docker, () => undefined, root)).url;
}, 300_000);

afterAll(async () => {
  await runDown(() => undefined);
  if (dir) await rm(dir, { recursive: true, force: true });
}, 60_000);

describe('local target with Docker', () => {
  it('runs the model in a container the engine caps at the given memory limit', async () => {
    const instance = (await readLocalState(root)).models[NAME];
    expect(instance?.runtime).toBe('docker');
    // Ask the engine, not our own state file: HostConfig is what the kernel's cgroup enforces.
    const inspected = await new Docker().getContainer(instance?.containerId ?? '').inspect();
    expect(inspected.HostConfig.Memory).toBe(160 * MiB);
    // Swap equal to memory means no swap on top: the cap is the whole budget, as in Kubernetes.
    expect(inspected.HostConfig.MemorySwap).toBe(160 * MiB);
    expect(inspected.State.Running).toBe(true);
    const response = await fetch(`${gatewayUrl}${ROUTE}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    expect(response.status).toBe(200);
  });

  it('keeps the old container answering every request under load while a version capped below its needs is OOM-killed, and fails with the reason', async () => {
    const before = (await readLocalState(root)).models[NAME];
    const running = autocannon({ url: `${gatewayUrl}${ROUTE}`, method: 'POST', headers: { 'content-type': 'application/json' }, body, connections: 4, duration: 8, timeout: 5 });
    await new Promise((r) => setTimeout(r, 500));
    let failure: unknown;
    try {
      // 12 MiB cannot hold Node.js and onnxruntime: the engine's cap kills it before it gets ready.
      await deployLocal({ fleet, deployName: NAME, runtime: { kind: 'docker', image, memoryLimitBytes: 12 * MiB }, docker, env: { MODEL_NAME: NAME }, root, readyTimeoutMs: 20_000 });
    } catch (err) {
      failure = err;
    }
    const result = await running;

    expect(isUserError(failure) && failure.code).toBe('DEPLOY_LOCAL_NOT_READY');
    expect((failure as Error).message).toMatch(/out-of-memory killer \(memory cap 12 MiB\)|exited with code 137|not ready after/);
    expect(result.requests.total).toBeGreaterThan(100);
    expect(result.non2xx).toBe(0);
    expect(result.errors).toBe(0);
    expect((await readLocalState(root)).models[NAME]).toEqual(before);
    const containers = await docker.container(before?.containerId ?? '').inspect();
    expect(containers.running).toBe(true);
  }, 120_000);
});
