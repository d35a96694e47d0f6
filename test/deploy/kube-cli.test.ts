import { existsSync } from 'node:fs';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deployToKube } from '../../pipeline/deploy/kube/deploy-to-kube.js';
import { prepareGatewayImageInputs } from '../../pipeline/build/prepare-gateway-image-inputs.js';
import { recordKubeDeploy } from '../../pipeline/history/kube-history.js';
import { openKube } from '../../pipeline/seams/kube.js';
import { startFakeKubeApi, type FakeKubeApi } from '../support/fake-kube-api.js';
import { requireRegistry, uniqueRepository } from '../support/registry.js';
import { runModelfleet } from '../support/run-cli.js';
import { modelManifests } from './kube-fixtures.js';
import { publishStandInModel, standInImage } from './registry-stand-ins.js';

const repo = resolve(import.meta.dirname, '../..');
const NAME = 'match-7-moto-baseline';
const NAMESPACE = 'modelfleet-staging';
/** The production environment of fleet-environments.yaml: its own namespace, the kubeconfig's context, its own scaling. */
const PRODUCTION_NAMESPACE = 'ml-production';
/** The model's version unit: its Deployment, autoscaler, budget and own Service, named after the version it serves (`local-<digest>`). */
const UNIT = new RegExp(`^${NAME}-local-[0-9a-f]{12}$`);
let dir: string;
let fake: FakeKubeApi;
let env: NodeJS.ProcessEnv;
let imageReference: string;
let measuredLimit: string;

function cli(args: readonly string[]): Promise<{ code: number; output: string }> {
  return runModelfleet(args, { cwd: dir, env });
}

function names(kind: string): string[] {
  return fake.objects(kind, NAMESPACE).map((o) => (o.metadata as { name: string }).name).sort();
}

beforeAll(async () => {
  // dist/ is checked to be current before any test runs (test/support/current-build.ts).
  dir = await mkdtemp(join(tmpdir(), 'modelfleet-kube-cli-'));
  await cp(join(repo, 'models.yaml'), join(dir, 'models.yaml'));
  await cp(join(repo, 'examples'), join(dir, 'examples'), { recursive: true });
  // The environment's namespace exists, as a cluster admin made it: deploy does not create it by default.
  fake = await startFakeKubeApi({ tickMs: 20, readyAfterMs: 50, namespaces: [NAMESPACE, PRODUCTION_NAMESPACE] });
  // The same models with environments of their own (the image and sizing stay the same: neither depends on them).
  await writeFile(join(dir, 'fleet-environments.yaml'), [
    'environments:',
    '  - name: staging',
    `  - { name: production, namespace: ${PRODUCTION_NAMESPACE}, context: fake, scaling: { minReplicas: 2, maxReplicas: 5 } }`,
    '  - { name: elsewhere, tier: production, context: other-cluster }',
    (await readFile(join(dir, 'models.yaml'), 'utf8')).replace(`  - name: ${NAME}\n`, `  - name: ${NAME}\n    environments:\n      production: { scaling: { maxReplicas: 7 } }\n`),
  ].join('\n'));
  env = { ...process.env, KUBECONFIG: await fake.writeKubeconfig(dir), MODELFLEET_ENV: 'staging' };
  delete env.KUBERNETES_SERVICE_HOST;

  // What the build and test jobs leave in the registry (and nothing on disk: their artifacts
  // expired). The fake cluster never pulls, so a small manifest under each image's content tag
  // stands in for the pushed image; the sizing record is the real one, stored as the test job does.
  const registryImage = `${await requireRegistry()}/${uniqueRepository('kube-cli')}`;
  env.MODELFLEET_REGISTRY_IMAGE = registryImage;
  const published = await publishStandInModel(dir, 'models.yaml', NAME, env);
  imageReference = published.reference;
  measuredLimit = published.memoryLimit;
  const gatewayTag = (await prepareGatewayImageInputs({ env })).tag;
  await standInImage(`${registryImage}/gateway:${gatewayTag.split(':').at(-1) ?? ''}`);
}, 60_000);

afterAll(async () => {
  await fake.close();
  await rm(dir, { recursive: true, force: true });
});

describe('modelfleet deploy with a kubeconfig (fake API server)', () => {
  it('deploys one model with the sizing and image found in the registry alone, then reports "unchanged"', async () => {
    const first = await cli(['deploy', '--model', NAME]);
    expect(first.code, first.output).toBe(0);
    expect(first.output).toMatch(new RegExp(`target: Kubernetes http://127\\.0\\.0\\.1:\\d+, namespace ${NAMESPACE}`));
    expect(first.output).toMatch(new RegExp(`${NAME}: deployed to ${NAMESPACE}`));
    expect(names('Deployment')).toEqual([expect.stringMatching(UNIT)]);
    expect(names('HorizontalPodAutoscaler')).toEqual([expect.stringMatching(UNIT)]);
    // The model's Service, which the gateway routes to, and the version's own.
    expect(names('Service')).toEqual([NAME, expect.stringMatching(UNIT)]);
    expect(fake.servedImages(NAMESPACE, NAME)).toEqual([imageReference]);
    expect(first.output).toMatch(/sizing measured 2026-11-02T10:00:00\.000Z read from .*; not measuring again/);
    const [deployment] = fake.objects('Deployment', NAMESPACE);
    const containers = (deployment?.spec as { template: { spec: { containers: Array<{ resources: { limits: { memory: string } } }> } } }).template.spec.containers;
    expect(containers[0]?.resources.limits.memory).toBe(measuredLimit);
    // The manifests applied are the job's artifact for people.
    expect(existsSync(join(dir, 'build', 'models', NAME, 'k8s', 'deployment.yaml'))).toBe(true);

    const second = await cli(['deploy', '--model', NAME]);
    expect(second.code, second.output).toBe(0);
    expect(second.output).toMatch(new RegExp(`${NAME}: unchanged`));

    // Both deploys are recorded beside the model, with the measured limit, and read back from the cluster.
    expect(second.output).toMatch(new RegExp(`${NAME}: revision 2 in staging`));
    const history = await cli(['history', '--model', NAME, '--target', 'kube']);
    expect(history.code, history.output).toBe(0);
    const [, newest, oldest] = history.output.trim().split('\n');
    expect(newest).toMatch(new RegExp(`^2\\s.*${measuredLimit}\\s.*\\sunchanged\\s`));
    expect(oldest).toMatch(/^1\s.*\sdeployed\s/);
    const status = await cli(['status', '--env', 'staging', '--target', 'kube']);
    expect(status.output).toMatch(new RegExp(`staging\\s+${NAME}\\s+\\S+\\s+\\S+\\s+${measuredLimit}\\s+1/1 ready\\s+\\S+ \\S+ \\(rev 2\\)`));
  }, 60_000);

  it('deploys to the environment --env names: its namespace, its kube context, its scaling over the model\'s', async () => {
    const deployed = await cli(['deploy', '--model', NAME, '--file', 'fleet-environments.yaml', '--env', 'production']);
    expect(deployed.code, deployed.output).toBe(0);
    expect(deployed.output).toMatch(new RegExp(`target: Kubernetes http://127\\.0\\.0\\.1:\\d+ \\(context fake\\), namespace ${PRODUCTION_NAMESPACE} \\(environment production\\)`));
    const hpa = fake.objects('HorizontalPodAutoscaler', PRODUCTION_NAMESPACE).find((o) => UNIT.test((o.metadata as { name: string }).name));
    // minReplicas from the environment, maxReplicas from the model's own production settings.
    expect(hpa?.spec).toMatchObject({ minReplicas: 2, maxReplicas: 7 });
    expect(fake.servedImages(PRODUCTION_NAMESPACE, NAME)).toEqual([imageReference]);

    const missingContext = await cli(['deploy', '--model', NAME, '--file', 'fleet-environments.yaml', '--env', 'elsewhere']);
    expect(missingContext.code).not.toBe(0);
    expect(missingContext.output).toMatch(/the environment's `context:` in models\.yaml names the context "other-cluster", which the kubeconfig does not have \(it has: fake\)/);
    const unknown = await cli(['deploy', '--model', NAME, '--file', 'fleet-environments.yaml', '--env', 'prodution']);
    expect(unknown.code).not.toBe(0);
    expect(unknown.output).toMatch(/error\[UNKNOWN_ENVIRONMENT\]: --env prodution: fleet-environments\.yaml has no environment "prodution" \(its environments: staging, production, elsewhere\)/);
    expect(unknown.output).toMatch(/Did you mean "production"\?/);
  }, 60_000);

  it('promotes staging\'s deployment to production and refuses a rollback to a revision whose image left the registry', async () => {
    const files = ['--file', 'fleet-environments.yaml', '--target', 'kube'];
    const promoted = await cli(['promote', '--model', NAME, '--from', 'staging', '--to', 'production', ...files]);
    expect(promoted.code, promoted.output).toBe(0);
    expect(promoted.output).toMatch(new RegExp(`${NAME}: promoting staging revision 2 \\(${imageReference.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}, `));
    expect(promoted.output).not.toMatch(/re-measuring|modelfleet (build|loadtest)/);
    expect(fake.servedImages(PRODUCTION_NAMESPACE, NAME)).toEqual([imageReference]);
    expect((await cli(['history', '--model', NAME, '--env', 'production', ...files])).output).toMatch(/^2\s.*, promoted from staging revision 2\s/m);

    const nothingEarlier = await cli(['rollback', '--model', NAME, '--env', 'production', ...files]);
    expect(nothingEarlier.code).not.toBe(0);
    expect(nothingEarlier.output).toMatch(/error\[ROLLBACK_NO_REVISION\]: .*no earlier revision runs another image than revision 2/);

    // A revision whose image is no longer in the registry: nothing changes, and the command says which.
    const kube = await openKube({ kubeconfig: env.KUBECONFIG as string });
    const gone = `${env.MODELFLEET_REGISTRY_IMAGE ?? ''}/${NAME}:0000deadbeef`;
    await recordKubeDeploy(kube, PRODUCTION_NAMESPACE, { deployName: NAME, environment: 'production', image: gone, content: 'sha256:gone', version: 'old', memoryLimitBytes: 2 ** 27, memoryRequestBytes: 2 ** 26, cpuRequest: '100m', outcome: 'deployed' }, {});
    const refused = await cli(['rollback', '--model', NAME, '--env', 'production', '--to', 'old', ...files]);
    expect(refused.code).not.toBe(0);
    expect(refused.output).toMatch(new RegExp(`error\\[ROLLBACK_IMAGE_GONE\\]: ${NAME}: revision 3's image .*:0000deadbeef is gone from the registry`));
    expect(refused.output).not.toMatch(/\n\s+at /);
    expect(fake.servedImages(PRODUCTION_NAMESPACE, NAME)).toEqual([imageReference]);
  }, 60_000);

  it('deploys the gateway with a route to every model Service, and prunes models no longer in models.yaml', async () => {
    const kube = await openKube({ kubeconfig: env.KUBECONFIG as string });
    await deployToKube({ kube, deployName: 'match-retired', environment: 'staging', namespace: NAMESPACE, manifests: modelManifests('match-retired', 'modelfleet/match-retired:000000000000'), pollMs: 25, timeoutMs: 5_000 });
    expect(names('Deployment')).toContain('match-retired');

    const result = await cli(['deploy', '--gateway']);
    expect(result.code, result.output).toBe(0);
    expect(names('Deployment')).toEqual([expect.stringMatching(UNIT), 'modelfleet-gateway']);
    // Beside the gateway's routes, each deployed model's history ConfigMap.
    const configMap = fake.objects('ConfigMap', NAMESPACE).find((c) => (c.metadata as { name: string }).name === 'modelfleet-gateway-routes');
    const routes = JSON.parse((configMap?.data as Record<string, string>)['routes.json'] ?? '{}') as { routes: Array<{ route: string; variants: Array<{ upstream: string }>; kept?: Array<{ version: string; upstream: string }> }> };
    const moto = routes.routes.find((r) => r.route === '/probability/7/MOTO/baseline');
    expect(moto?.variants[0]?.upstream).toBe(`http://${NAME}.${NAMESPACE}.svc.cluster.local:80`);
    // The running version at <route>/versions/<version>, through its own Service.
    const unit = names('Deployment').find((n) => UNIT.test(n)) ?? '';
    expect(moto?.kept).toEqual([expect.objectContaining({ version: unit.slice(NAME.length + 1), upstream: `http://${unit}.${NAMESPACE}.svc.cluster.local:80` })]);
    expect(result.output).toMatch(/match-retired: no longer in models\.yaml/);
  }, 60_000);

  it('refuses to remove a model the live gateway still routes to, and removes nothing', async () => {
    const refused = await cli(['deploy', '--remove', NAME]);
    expect(refused.code).toBe(1);
    expect(refused.output).toMatch(new RegExp(`^error\\[DEPLOY_STILL_ROUTED\\]: ${NAME} left models\\.yaml, but the live gateway in ${NAMESPACE} still routes /probability/7/MOTO/baseline to it`, 'm'));
    expect(refused.output).not.toMatch(/\n\s+at /);
    expect(names('Deployment')).toEqual([expect.stringMatching(UNIT), 'modelfleet-gateway']);
  }, 60_000);

  it('removes a model once the gateway no longer routes to it', async () => {
    const fleet = await readFile(join(dir, 'models.yaml'), 'utf8');
    await writeFile(join(dir, 'models.yaml'), fleet.replace(/\n {2}- name: match-7-moto-baseline\n(?: {4}.*\n)+/, '\n'));
    const gateway = await cli(['deploy', '--gateway']);
    expect(gateway.code, gateway.output).toBe(0);
    const result = await cli(['deploy', '--remove', NAME]);
    expect(result.code, result.output).toBe(0);
    expect(names('Deployment')).toEqual(['modelfleet-gateway']);
    expect(names('Service')).toEqual(['modelfleet-gateway']);
    expect(names('PodDisruptionBudget')).toEqual(['modelfleet-gateway']);
  }, 60_000);
});
