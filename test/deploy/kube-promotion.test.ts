/**
 * Promotion and rollback on the Kubernetes path (fake API server): v1 to staging and then
 * production, v2 the same way, `rollback --env production` back to v1, and `promote` of
 * staging's v2, with the production Service watched all along: at no moment may it have no
 * ready endpoint, which is what a request stream would see as a failure.
 */
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeKubeApi, type FakeKubeApi } from '../support/fake-kube-api.js';
import { requireRegistry, uniqueRepository } from '../support/registry.js';
import { runModelfleet } from '../support/run-cli.js';
import { publishStandInModel } from './registry-stand-ins.js';

const repo = resolve(import.meta.dirname, '../..');
const NAME = 'promo-2-taxi';
const STAGING = 'modelfleet-staging';
const PRODUCTION = 'modelfleet-production';

function fleetYaml(modelFolder: string): string {
  return `models:
  - name: ${NAME}
    endpoint: probability
    parameters: [2, TAXI, promo]
    path: ${modelFolder}
`;
}

/** Samples which images serve behind a Service, remembering every change and every moment nothing served. */
class ServiceWatch {
  readonly served: string[][] = [];
  gaps = 0;
  samples = 0;
  readonly #timer: NodeJS.Timeout;

  constructor(fake: FakeKubeApi, namespace: string, service: string) {
    this.#timer = setInterval(() => {
      const now = fake.servedImages(namespace, service).sort();
      this.samples += 1;
      if (now.length === 0) {
        if (this.served.length > 0) this.gaps += 1;
        return;
      }
      if (JSON.stringify(this.served.at(-1)) !== JSON.stringify(now)) this.served.push(now);
    }, 5);
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}

let dir: string;
let fake: FakeKubeApi;
let env: NodeJS.ProcessEnv;
let v1: string;
let v2: string;
const limits = new Map<string, string>();
let watch: ServiceWatch;
const steps = new Map<string, { code: number; output: string }>();
const podsBefore = new Map<string, string[]>();
const podsAfter = new Map<string, string[]>();
const deploymentsBefore = new Map<string, string[]>();

type Named = { metadata: { name: string; uid: string; labels?: Record<string, string> } };

/** The Deployment the model's Service selects: the version that serves. */
function servingDeployment(namespace: string): string | undefined {
  const service = fake.objects('Service', namespace).find((s) => (s as Named).metadata.name === NAME) as { spec: { selector: Record<string, string> } } | undefined;
  const slot = service?.spec.selector['modelfleet.io/version-slot'];
  return slot === undefined ? undefined : `${NAME}-${slot}`;
}

function memoryLimitIn(namespace: string): string | undefined {
  const name = servingDeployment(namespace);
  const deployment = fake.objects('Deployment', namespace).find((d) => (d as Named).metadata.name === name) as { spec: { template: { spec: { containers: { resources: { limits: { memory: string } } }[] } } } } | undefined;
  return deployment?.spec.template.spec.containers[0]?.resources.limits.memory;
}

function podUids(namespace: string): string[] {
  return fake.objects('Pod', namespace).map((p) => (p as Named).metadata.uid).sort();
}

function deploymentNames(namespace: string): string[] {
  return fake.objects('Deployment', namespace).map((d) => (d as Named).metadata.name).sort();
}

const cli = (args: readonly string[]) => runModelfleet(args, { cwd: dir, env });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'modelfleet-kube-promotion-'));
  await cp(join(repo, 'examples'), join(dir, 'examples'), { recursive: true });
  await writeFile(join(dir, 'v1.yaml'), fleetYaml('examples/models/match-logreg-v1'));
  await writeFile(join(dir, 'v2.yaml'), fleetYaml('examples/models/match-logreg-v2'));
  fake = await startFakeKubeApi({ tickMs: 20, readyAfterMs: 60, namespaces: [STAGING, PRODUCTION] });
  env = { ...process.env, KUBECONFIG: await fake.writeKubeconfig(dir), MODELFLEET_REGISTRY_IMAGE: `${await requireRegistry()}/${uniqueRepository('kube-promotion')}` };
  delete env.KUBERNETES_SERVICE_HOST;
  delete env.MODELFLEET_ENV;
  // What each push's build and test jobs leave in the registry.
  const published = [await publishStandInModel(dir, 'v1.yaml', NAME, env, 90), await publishStandInModel(dir, 'v2.yaml', NAME, env, 160)];
  [v1, v2] = published.map((p) => p.reference) as [string, string];
  for (const p of published) limits.set(p.reference, p.memoryLimit);

  const deploy = (file: string, environment: string) => cli(['deploy', '--model', NAME, '--env', environment, '--target', 'kube', '--file', file]);
  steps.set('v1 staging', await deploy('v1.yaml', 'staging'));
  steps.set('v1 production', await deploy('v1.yaml', 'production'));
  watch = new ServiceWatch(fake, PRODUCTION, NAME);
  steps.set('v2 staging', await deploy('v2.yaml', 'staging'));
  steps.set('v2 production', await deploy('v2.yaml', 'production'));
  podsBefore.set('rollback', podUids(PRODUCTION));
  deploymentsBefore.set('rollback', deploymentNames(PRODUCTION));
  steps.set('rollback', await cli(['rollback', '--model', NAME, '--env', 'production', '--target', 'kube', '--file', 'v2.yaml']));
  podsAfter.set('rollback', podUids(PRODUCTION));
  steps.set('served after rollback', { code: 0, output: JSON.stringify({ images: fake.servedImages(PRODUCTION, NAME), limit: memoryLimitIn(PRODUCTION) }) });
  podsBefore.set('promote', podUids(PRODUCTION));
  steps.set('promote', await cli(['promote', '--model', NAME, '--from', 'staging', '--to', 'production', '--target', 'kube', '--file', 'v2.yaml']));
  podsAfter.set('promote', podUids(PRODUCTION));
  steps.set('status', await cli(['status', '--env', 'production', '--target', 'kube', '--file', 'v2.yaml']));
  await new Promise((r) => setTimeout(r, 200));
  watch.stop();
}, 180_000);

afterAll(async () => {
  watch?.stop();
  await fake?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('v1 then v2 through staging and production on Kubernetes, then rollback and promote', () => {
  it('deploys each version to each environment', () => {
    for (const [step, result] of steps) expect(result.code, `${step}:\n${result.output}`).toBe(0);
    expect(v1).not.toBe(v2);
    expect(fake.servedImages(STAGING, NAME)).toEqual([v2]);
  });

  it('serves v1 in production again after `rollback --env production`, with v1\'s measured limit', async () => {
    expect(steps.get('rollback')?.output).toMatch(/rolling production back to revision 1 .*nothing is built or measured/);
    expect(limits.get(v1)).not.toBe(limits.get(v2));
    expect(JSON.parse(steps.get('served after rollback')?.output ?? '{}')).toEqual({ images: [v1], limit: limits.get(v1) });
    const history = await cli(['history', '--model', NAME, '--env', 'production', '--target', 'kube', '--file', 'v2.yaml']);
    expect(history.output).toMatch(/^3\s.*deployed, rolled back to revision 1\s/m);
    expect(history.output).toMatch(/^4\s.*deployed, promoted from staging revision 2\s/m);
  });

  it('promotes the image staging runs, with staging\'s measured limit, building nothing', () => {
    expect(steps.get('promote')?.output).not.toMatch(/re-measuring|modelfleet (build|loadtest)|building/i);
    expect(fake.servedImages(PRODUCTION, NAME)).toEqual([v2]);
    expect(memoryLimitIn(PRODUCTION)).toBe(limits.get(v2));
    expect(memoryLimitIn(STAGING)).toBe(limits.get(v2));
  });

  it('kept production serving throughout, switching between versions at once: v1, v2, v1, v2, never nothing and never both', () => {
    expect(watch.samples).toBeGreaterThan(20);
    expect(watch.gaps).toBe(0);
    expect(watch.served).toEqual([[v1], [v2], [v1], [v2]]);
  });

  it('keeps v1 running beside v2 (keepVersions 1), so rollback and promote switch the Service and start no pod', () => {
    expect(deploymentsBefore.get('rollback')).toEqual([expect.stringMatching(/^promo-2-taxi-local-[0-9a-f]{12}$/), expect.stringMatching(/^promo-2-taxi-local-[0-9a-f]{12}$/)]);
    for (const step of ['rollback', 'promote']) {
      expect(steps.get(step)?.output, step).toMatch(/is kept and running .*: switching to it starts no pod/);
      expect(podsAfter.get(step)?.filter((uid) => !podsBefore.get(step)?.includes(uid)), step).toEqual([]);
    }
    expect(deploymentNames(PRODUCTION)).toEqual(deploymentsBefore.get('rollback'));
  });

  it('shows the serving version and the kept one in `status`', () => {
    expect(steps.get('status')?.output).toMatch(new RegExp(`production\\s+${NAME}\\s+.*\\s1/1 ready; kept local-[0-9a-f]{12} \\(1/1 ready\\)`));
  });
});

