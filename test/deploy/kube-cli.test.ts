import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findDeployable } from '../../generator/fleet/find-deployable.js';
import { loadFleet } from '../../generator/fleet/load-fleet.js';
import { deployToKube } from '../../pipeline/deploy/kube/deploy-to-kube.js';
import { renderModelManifests } from '../../pipeline/manifests/render-model-manifests.js';
import { openKube } from '../../pipeline/seams/kube.js';
import { computeSizing, MiB } from '../../pipeline/sizing/sizing-policy.js';
import { startFakeKubeApi, type FakeKubeApi } from '../support/fake-kube-api.js';
import { modelManifests } from './kube-fixtures.js';

const repo = resolve(import.meta.dirname, '../..');
const NAME = 'match-7-moto-baseline';
const NAMESPACE = 'modelfleet-staging';
let dir: string;
let fake: FakeKubeApi;
let env: NodeJS.ProcessEnv;

function cli(args: readonly string[]): Promise<{ code: number; output: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [join(repo, 'bin', 'modelfleet.js'), ...args], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    child.once('close', (code) => done({ code: code ?? 1, output }));
  });
}

function names(kind: string): string[] {
  return fake.objects(kind, NAMESPACE).map((o) => (o.metadata as { name: string }).name).sort();
}

beforeAll(async () => {
  if (!existsSync(join(repo, 'dist', 'cli', 'entry.js'))) throw new Error('This test runs the compiled CLI: run `npm run build` first.');
  dir = await mkdtemp(join(tmpdir(), 'modelfleet-kube-cli-'));
  await cp(join(repo, 'models.yaml'), join(dir, 'models.yaml'));
  await cp(join(repo, 'examples'), join(dir, 'examples'), { recursive: true });
  fake = await startFakeKubeApi({ tickMs: 20, readyAfterMs: 50 });
  env = { ...process.env, KUBECONFIG: await fake.writeKubeconfig(dir), MODELFLEET_ENV: 'staging' };
  delete env.KUBERNETES_SERVICE_HOST;

  // What the `<model>:test` job leaves: manifests rendered from the measured sizing.
  const fleet = loadFleet(join(dir, 'models.yaml'));
  const deployable = findDeployable(fleet, NAME);
  const sizing = computeSizing([0, 1, 2, 3].map((i) => ({ atMs: i * 1000, workingSetBytes: (90 + i) * MiB, cpuCores: 0.3 })));
  const manifests = renderModelManifests(deployable, sizing, { namespace: 'modelfleet', image: `modelfleet/${NAME}:0123456789ab` });
  await mkdir(join(dir, 'build', 'models', NAME, 'k8s'), { recursive: true });
  for (const m of manifests) await writeFile(join(dir, 'build', 'models', NAME, 'k8s', m.file), m.yaml);
  await writeFile(join(dir, 'build', 'models', NAME, 'sizing.json'), JSON.stringify(sizing));
  await writeFile(join(dir, 'build', 'models', NAME, 'image.json'), JSON.stringify({ deployName: NAME, tag: `modelfleet/${NAME}:0123456789ab`, registryReference: `registry.example.test/fleet/${NAME}:0123456789ab` }));
  await mkdir(join(dir, 'build', 'gateway'), { recursive: true });
  await writeFile(join(dir, 'build', 'gateway', 'image.json'), JSON.stringify({ tag: 'modelfleet/gateway:fedcba987654' }));
}, 60_000);

afterAll(async () => {
  await fake.close();
  await rm(dir, { recursive: true, force: true });
});

describe('modelfleet deploy with a kubeconfig (fake API server)', () => {
  it('deploys the rendered manifests of one model into the environment namespace, pulling the pushed image, then reports "unchanged"', async () => {
    const first = await cli(['deploy', '--model', NAME]);
    expect(first.code, first.output).toBe(0);
    expect(first.output).toMatch(new RegExp(`target: Kubernetes http://127\\.0\\.0\\.1:\\d+, namespace ${NAMESPACE}`));
    expect(first.output).toMatch(new RegExp(`${NAME}: deployed to ${NAMESPACE}`));
    expect(names('Deployment')).toEqual([NAME]);
    expect(names('HorizontalPodAutoscaler')).toEqual([NAME]);
    expect(fake.servedImages(NAMESPACE, NAME)).toEqual([`registry.example.test/fleet/${NAME}:0123456789ab`]);

    const second = await cli(['deploy', '--model', NAME]);
    expect(second.code, second.output).toBe(0);
    expect(second.output).toMatch(new RegExp(`${NAME}: unchanged`));
  }, 60_000);

  it('deploys the gateway with a route to every model Service, and prunes models no longer in models.yaml', async () => {
    const kube = await openKube({ kubeconfig: env.KUBECONFIG as string });
    await deployToKube({ kube, deployName: 'match-retired', environment: 'staging', namespace: NAMESPACE, manifests: modelManifests('match-retired', 'modelfleet/match-retired:000000000000'), pollMs: 25, timeoutMs: 5_000 });
    expect(names('Deployment')).toContain('match-retired');

    const result = await cli(['deploy', '--gateway']);
    expect(result.code, result.output).toBe(0);
    expect(names('Deployment')).toEqual(['match-7-moto-baseline', 'modelfleet-gateway']);
    const [configMap] = fake.objects('ConfigMap', NAMESPACE);
    const routes = JSON.parse((configMap?.data as Record<string, string>)['routes.json'] ?? '{}') as { routes: Array<{ route: string; variants: Array<{ upstream: string }> }> };
    const moto = routes.routes.find((r) => r.route === '/probability/7/MOTO/baseline');
    expect(moto?.variants[0]?.upstream).toBe(`http://${NAME}.${NAMESPACE}.svc.cluster.local:80`);
    expect(result.output).toMatch(/match-retired: no longer in models\.yaml/);
  }, 60_000);

  it('removes every object of a model with --remove', async () => {
    const result = await cli(['deploy', '--remove', NAME]);
    expect(result.code, result.output).toBe(0);
    expect(names('Deployment')).toEqual(['modelfleet-gateway']);
    expect(names('Service')).toEqual(['modelfleet-gateway']);
    expect(names('PodDisruptionBudget')).toEqual(['modelfleet-gateway']);
  }, 60_000);
});
