/**
 * The deploys run as the identity `modelfleet rbac` sets up, and as nothing more: a cluster admin
 * applies its ServiceAccount, Role and RoleBinding to the fake API server, which then authorizes
 * every request of that service account's token by them (RBAC, test/support/fake-kube-api.ts).
 * Same functions `modelfleet deploy` calls, as in kube-deploy.test.ts and gateway-partial-failure.test.ts.
 */
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findDeployable } from '../../generator/fleet/find-deployable.js';
import { loadFleet } from '../../generator/fleet/load-fleet.js';
import { isUserError } from '../../lib/errors/user-error.js';
import { deployGatewayToKube } from '../../pipeline/deploy/deploy-gateway-to-kube.js';
import { markDeployedConfig } from '../../pipeline/deploy/deployed-config.js';
import { deployToKube, pruneRemovedDeployables, removeFromKube } from '../../pipeline/deploy/kube/deploy-to-kube.js';
import { CREATE_NAMESPACE_PERMISSION, DEPLOY_PERMISSIONS, type DeployPermission } from '../../pipeline/deploy/rbac/deploy-permissions.js';
import { DEFAULT_SERVICE_ACCOUNT, renderRbac } from '../../pipeline/deploy/rbac/render-rbac.js';
import { renderModelManifests } from '../../pipeline/manifests/render-model-manifests.js';
import { openKube, type KubeClient, type KubeObject } from '../../pipeline/seams/kube.js';
import { startFakeKubeApi, type FakeKubeApi, type RecordedRequest } from '../support/fake-kube-api.js';
import { modelManifests } from './kube-fixtures.js';

const repo = resolve(import.meta.dirname, '../..');
const NAMESPACE = 'modelfleet-least';
const SIZING = { resources: { requests: { cpu: '50m', memory: '96Mi' }, limits: { memory: '128Mi' } } };
const fast = { pollMs: 25, timeoutMs: 5_000 };
const SA_USER = (namespace: string) => `system:serviceaccount:${namespace}:${DEFAULT_SERVICE_ACCOUNT}`;

let dir: string;
let fake: FakeKubeApi;
/** The cluster admin: applies what `modelfleet rbac` prints, creates namespaces. */
let admin: KubeClient;
/** The deploy job's identity: the ServiceAccount bound to exactly the printed Role. */
let deployer: KubeClient;
let fleetFile: string;
let gatewayEnv: NodeJS.ProcessEnv;

/** What a cluster admin does with `modelfleet rbac ... | kubectl apply -f -`; `edit` changes the Role first. */
async function grant(namespace: string, options: { createNamespace?: boolean; edit?: (rules: DeployPermission[]) => DeployPermission[]; only?: 'cluster' } = {}): Promise<KubeClient> {
  const { objects } = renderRbac({ namespace, serviceAccount: DEFAULT_SERVICE_ACCOUNT, createNamespace: options.createNamespace ?? false });
  for (const object of objects) {
    if (options.only === 'cluster' && object.metadata.namespace !== undefined) continue;
    const applied = object.kind === 'Role' && options.edit
      ? { ...object, rules: options.edit([...DEPLOY_PERMISSIONS]).map((p) => ({ apiGroups: [p.apiGroup], resources: [p.resource], verbs: [...p.verbs] })) }
      : object;
    await admin.apply(applied);
  }
  return openKube({ kubeconfig: await fake.writeKubeconfig(dir, { token: fake.serviceAccountToken(namespace, DEFAULT_SERVICE_ACCOUNT) }) });
}

function by(user: string): RecordedRequest[] {
  return fake.requests.filter((r) => r.user === user);
}

async function captureError(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a failure');
}

/** `modelfleet deploy --model` once the image and sizing are found: render, mark, deploy. */
async function deployModel(kube: KubeClient, namespace: string, deployName: string, image: string, env: readonly { name: string; value: string }[] = []): Promise<string> {
  const fleet = loadFleet(fleetFile);
  const deployable = findDeployable(fleet, deployName);
  const rendered = renderModelManifests(deployable, SIZING, { namespace, image }).map((m) => m.object as KubeObject);
  for (const object of rendered) {
    if (object.kind !== 'Deployment') continue;
    const container = (object.spec as { template: { spec: { containers: Array<{ env?: unknown[] }> } } }).template.spec.containers[0];
    if (container && env.length > 0) container.env = [...(container.env ?? []), ...env];
  }
  const manifests = await markDeployedConfig(fleet, deployable, rendered);
  const lines: string[] = [];
  try {
    const result = await deployToKube({ kube, deployName, environment: 'least', namespace, manifests, ...fast, report: (l) => lines.push(l) });
    return result.outcome;
  } catch (err) {
    throw Object.assign(err as Error, { lines });
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'modelfleet-least-privilege-'));
  for (const model of ['match-logreg-v1', 'match-trees']) await cp(join(repo, 'examples', 'models', model), join(dir, 'models', model), { recursive: true });
  fleetFile = join(dir, 'models.yaml');
  await writeFile(fleetFile, [
    'defaults:', '  endpoint: probability', 'models:',
    '  - name: match-1-taxi', '    parameters: [1, TAXI, baseline]', '    path: models/match-logreg-v1',
    '  - name: match-2-van', '    parameters: [2, VAN, baseline]', '    path: models/match-trees',
    '',
  ].join('\n'));
  // The namespace exists (a cluster admin made it): deploy creates none by default.
  fake = await startFakeKubeApi({ tickMs: 20, readyAfterMs: 50, namespaces: [NAMESPACE, 'modelfleet-minus'] });
  admin = await openKube({ kubeconfig: await fake.writeKubeconfig(dir) });
  deployer = await grant(NAMESPACE);
  // No registry: the gateway deploy uses the gateway image's local content tag.
  gatewayEnv = { ...process.env, MODELFLEET_PUSH: 'false' };
  for (const key of ['MODELFLEET_REGISTRY_IMAGE', 'CI_REGISTRY', 'CI_REGISTRY_IMAGE', 'CI_REGISTRY_USER', 'CI_REGISTRY_PASSWORD']) delete gatewayEnv[key];
});

afterAll(async () => {
  await fake.close();
  await rm(dir, { recursive: true, force: true });
});

describe('deploying as the identity `modelfleet rbac` prints (fake API server enforcing RBAC)', () => {
  it('deploys a model, and reports "unchanged" the second time', async () => {
    expect(await deployModel(deployer, NAMESPACE, 'match-1-taxi', 'modelfleet/match-1-taxi:111111111111')).toBe('deployed');
    expect(await deployModel(deployer, NAMESPACE, 'match-1-taxi', 'modelfleet/match-1-taxi:111111111111')).toBe('unchanged');
    expect(fake.servedImages(NAMESPACE, 'match-1-taxi')).toEqual(['modelfleet/match-1-taxi:111111111111']);
  });

  it('rolls back a version that crashes, reading its pods, events and logs', async () => {
    await deployModel(deployer, NAMESPACE, 'match-2-van', 'modelfleet/match-2-van:goodgoodgood');
    const err = await captureError(deployModel(deployer, NAMESPACE, 'match-2-van', 'modelfleet/match-2-van:badbadbadbad', [{ name: 'FAKE_KUBE_POD_BEHAVIOUR', value: 'crash-loop' }]));

    expect(isUserError(err) && err.code, err.message).toBe('DEPLOY_ROLLOUT_FAILED');
    expect(err.message).toMatch(/Rolled back to the previous version .* keeps serving/);
    const printed = (err as Error & { lines: string[] }).lines.join('\n');
    expect(printed).toMatch(/new ReplicaSet match-2-van-/);
    expect(printed).toMatch(/last 20 log lines of pod match-2-van-/);
    expect(printed).not.toMatch(/could not read/);
    expect(fake.servedImages(NAMESPACE, 'match-2-van')).toEqual(['modelfleet/match-2-van:goodgoodgood']);
  });

  it('removes one model by label, including a ConfigMap and ServiceAccount someone added to it', async () => {
    await deployModel(deployer, NAMESPACE, 'match-2-van', 'modelfleet/match-2-van:goodgoodgood');
    const labels = { 'modelfleet.io/deployable': 'match-2-van' };
    await admin.apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'match-2-van-extra', namespace: NAMESPACE, labels }, data: { a: 'b' } });
    await admin.apply({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'match-2-van', namespace: NAMESPACE, labels } });

    const removed = await removeFromKube(deployer, NAMESPACE, 'match-2-van');

    expect(removed.sort()).toEqual([
      `ConfigMap ${NAMESPACE}/match-2-van-extra`, `Deployment ${NAMESPACE}/match-2-van`, `HorizontalPodAutoscaler ${NAMESPACE}/match-2-van`,
      `PodDisruptionBudget ${NAMESPACE}/match-2-van`, `Service ${NAMESPACE}/match-2-van`, `ServiceAccount ${NAMESPACE}/match-2-van`,
    ]);
  });

  it('deploys the gateway and prunes models that left the fleet', async () => {
    await deployToKube({ kube: deployer, deployName: 'match-retired', environment: 'least', namespace: NAMESPACE, manifests: modelManifests('match-retired', 'modelfleet/match-retired:000000000000'), ...fast });
    const lines: string[] = [];
    const result = await deployGatewayToKube({ kube: deployer, file: fleetFile, out: join(dir, 'build'), environment: 'least', namespace: NAMESPACE, ...fast, env: gatewayEnv, print: (l) => lines.push(l) });

    expect(result.routes).toBeGreaterThan(0);
    expect(lines.join('\n')).toMatch(/match-retired: no longer in models\.yaml/);
    expect(fake.objects('Deployment', NAMESPACE).map((d) => (d.metadata as { name: string }).name).sort()).toEqual(['match-1-taxi', 'modelfleet-gateway']);
    // And prunes directly, as `deploy --gateway` does after the rollout.
    await deployToKube({ kube: deployer, deployName: 'match-old', environment: 'least', namespace: NAMESPACE, manifests: modelManifests('match-old', 'modelfleet/match-old:000000000000'), ...fast });
    expect(await pruneRemovedDeployables(deployer, NAMESPACE, new Set(['match-1-taxi', 'gateway']))).toContain(`Deployment ${NAMESPACE}/match-old`);
  });

  it('was never refused, and never touched a cluster-scoped resource (createNamespace off)', () => {
    const requests = by(SA_USER(NAMESPACE));
    expect(requests.length).toBeGreaterThan(50);
    expect(requests.flatMap((r) => r.checks).filter((c) => !c.allowed)).toEqual([]);
    expect(requests.filter((r) => r.scope === 'cluster').map((r) => `${r.method} ${r.path}`)).toEqual([]);
    expect(requests.filter((r) => r.scope === 'namespaced').every((r) => r.path.includes(`/namespaces/${NAMESPACE}/`))).toBe(true);
  });

  it('used every permission of the Role: none is granted for nothing', () => {
    const used = new Set(by(SA_USER(NAMESPACE)).flatMap((r) => r.checks).map((c) => `${c.apiGroup}/${c.resource}:${c.verb}`));
    const granted = DEPLOY_PERMISSIONS.flatMap((p) => p.verbs.map((verb) => `${p.apiGroup}/${p.resource}:${verb}`));
    expect(granted.filter((permission) => !used.has(permission))).toEqual([]);
    expect([...used].filter((permission) => !granted.includes(permission))).toEqual([]);
  });
});

describe('a Role that lacks one permission', () => {
  it('fails the removal with a 403 naming the verb, the resource and the namespace, and pointing to `modelfleet rbac`', async () => {
    const kube = await grant('modelfleet-minus', { edit: (rules) => rules.map((p) => (p.resource === 'services' ? { ...p, verbs: p.verbs.filter((v) => v !== 'delete') } : p)) });
    await deployModel(kube, 'modelfleet-minus', 'match-1-taxi', 'modelfleet/match-1-taxi:111111111111');

    const err = await captureError(removeFromKube(kube, 'modelfleet-minus', 'match-1-taxi'));

    expect(isUserError(err) && err.code).toBe('DEPLOY_FORBIDDEN');
    expect(err.message).toBe('model match-1-taxi: the job\'s identity system:serviceaccount:modelfleet-minus:modelfleet-deployer may not delete services in namespace modelfleet-minus. The API server answered 403: '
      + 'services "match-1-taxi" is forbidden: User "system:serviceaccount:modelfleet-minus:modelfleet-deployer" cannot delete resource "services" in API group "" in the namespace "modelfleet-minus"');
    expect(isUserError(err) && err.hint).toMatch(/^Grant `delete` on `services` \(API group ""\) in namespace modelfleet-minus: `modelfleet rbac --namespace modelfleet-minus` prints the Role/);
  });

  it('fails a first deploy before changing anything when the Role lacks `create` (server-side apply creates)', async () => {
    const kube = await grant('modelfleet-minus', { edit: (rules) => rules.map((p) => (p.resource === 'horizontalpodautoscalers' ? { ...p, verbs: p.verbs.filter((v) => v !== 'create') } : p)) });

    const err = await captureError(deployModel(kube, 'modelfleet-minus', 'match-2-van', 'modelfleet/match-2-van:222222222222'));

    expect(isUserError(err) && err.code).toBe('DEPLOY_FORBIDDEN');
    expect(err.message).toMatch(/^model match-2-van: the job's identity may not create horizontalpodautoscalers\.autoscaling in namespace modelfleet-minus \(server-side apply of an object that does not exist yet needs `create` as well as `patch`\)\./);
    expect(fake.objects('Deployment', 'modelfleet-minus').map((d) => (d.metadata as { name: string }).name)).not.toContain('match-2-van');
  });
});

describe('createNamespace', () => {
  it('creates the namespace with the ClusterRole `modelfleet rbac` adds for it, and is refused without it', async () => {
    const namespace = 'modelfleet-fresh';
    const manifests = modelManifests('echo', 'modelfleet/echo:000000000000');
    // Without the cluster-scoped rule: refused, naming the namespace.
    const bare = await openKube({ kubeconfig: await fake.writeKubeconfig(dir, { token: fake.serviceAccountToken(namespace, DEFAULT_SERVICE_ACCOUNT) }) });
    const refused = await captureError(deployToKube({ kube: bare, deployName: 'echo', environment: 'fresh', namespace, manifests, createNamespace: true, ...fast }));
    expect(refused.message).toMatch(/may not get namespaces in namespace modelfleet-fresh/);

    // With it (only the cluster-scoped part can be applied before the namespace exists): created.
    const kube = await grant(namespace, { createNamespace: true, only: 'cluster' });
    const err = await captureError(deployToKube({ kube, deployName: 'echo', environment: 'fresh', namespace, manifests, createNamespace: true, ...fast }));
    expect(fake.objects('Namespace').map((n) => (n.metadata as { name: string }).name)).toContain(namespace);
    const created = by(SA_USER(namespace)).filter((r) => r.scope === 'cluster');
    expect(created.flatMap((r) => r.checks).map((c) => `${c.verb} ${c.resource} ${c.name ?? ''} ${c.allowed}`)).toEqual(
      expect.arrayContaining(['get namespaces modelfleet-fresh true', 'patch namespaces modelfleet-fresh true', 'create namespaces modelfleet-fresh true']));
    expect(created.flatMap((r) => r.checks).every((c) => c.resource === CREATE_NAMESPACE_PERMISSION.resource)).toBe(true);
    // Its rights inside come from the namespaced Role, which can only be applied now that the namespace exists.
    expect(err.message).toMatch(/may not get deployments\.apps in namespace modelfleet-fresh/);
    await grant(namespace, { createNamespace: true });
    expect((await deployToKube({ kube, deployName: 'echo', environment: 'fresh', namespace, manifests, createNamespace: true, ...fast })).outcome).toBe('deployed');
  });
});
