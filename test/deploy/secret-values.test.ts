/**
 * models.yaml names Secrets, never their values: a fleet with `secretEnv`, `envFrom` and
 * `imagePullSecrets` is generated, rendered and deployed to the fake API server, where a Secret
 * holds a sentinel value. The sentinel must appear in no generated file, no rendered manifest,
 * no job output and no object modelfleet applied or the cluster derived from them; the
 * Deployments reference the Secrets by name and key.
 */
import { randomBytes } from 'node:crypto';
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findDeployable } from '../../generator/fleet/find-deployable.js';
import { loadFleet } from '../../generator/fleet/load-fleet.js';
import { runGenerate } from '../../generator/run-generate.js';
import { deployGatewayToKube } from '../../pipeline/deploy/deploy-gateway-to-kube.js';
import { markDeployedConfig } from '../../pipeline/deploy/deployed-config.js';
import { deployToKube } from '../../pipeline/deploy/kube/deploy-to-kube.js';
import { renderModelManifests } from '../../pipeline/manifests/render-model-manifests.js';
import { writeManifestFiles } from '../../pipeline/manifests/write-manifest-files.js';
import { modelFolderPaths } from '../../pipeline/model-folder/model-folder-paths.js';
import { openKube, type KubeClient, type KubeObject } from '../../pipeline/seams/kube.js';
import { startFakeKubeApi, type FakeKubeApi } from '../support/fake-kube-api.js';

const repo = resolve(import.meta.dirname, '../..');
const SIZING = { resources: { requests: { cpu: '50m', memory: '96Mi' }, limits: { memory: '128Mi' } } };
const fast = { pollMs: 25, timeoutMs: 5_000 };
const namespace = 'modelfleet-secrets';
/** Only the fake cluster's Secrets hold it, plain and base64-encoded as the API stores `data`. */
const SENTINEL = `sentinel-${randomBytes(16).toString('hex')}`;
const SENTINEL_FORMS = [SENTINEL, Buffer.from(SENTINEL).toString('base64')];

const MODELS_YAML = `kubernetes:
  imagePullSecrets: [registry-pull]
defaults:
  endpoint: probability
  secretEnv:
    - { name: FEATURE_STORE_TOKEN, secret: match-secrets, key: token }
models:
  - name: match-1-taxi
    parameters: [1, TAXI, trafficaware]
    path: models/match-logreg-v1
    envFrom: [match-shared]
  - name: match-2-moto
    parameters: [2, MOTO, baseline]
    path: models/match-logreg-v1
    secretEnv: []
`;

let dir: string;
let fake: FakeKubeApi;
let kube: KubeClient;
const printed: string[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'modelfleet-secret-values-'));
  await cp(join(repo, 'examples', 'models', 'match-logreg-v1'), join(dir, 'models', 'match-logreg-v1'), { recursive: true });
  await writeFile(join(dir, 'models.yaml'), MODELS_YAML);
  fake = await startFakeKubeApi({ tickMs: 20, readyAfterMs: 50 });
  kube = await openKube({ kubeconfig: await fake.writeKubeconfig(join(dir, 'kube')) });
  // What a cluster admin does once, outside modelfleet: the namespace and the Secrets.
  await kube.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } });
  for (const name of ['match-secrets', 'match-shared']) {
    await kube.apply({ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace }, type: 'Opaque', data: { token: Buffer.from(SENTINEL).toString('base64') } } as KubeObject);
  }
}, 30_000);

afterAll(async () => {
  await fake.close();
  await rm(dir, { recursive: true, force: true });
});

async function filesUnder(root: string): Promise<string[]> {
  const entries = await readdir(root, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

describe('secret values never leave the cluster (fake API server)', () => {
  it('generates, renders and deploys a fleet with secretEnv, envFrom and imagePullSecrets without writing a Secret value anywhere', async () => {
    const file = join(dir, 'models.yaml');
    const out = join(dir, 'build');
    await runGenerate({ file, out, all: true, cwd: dir, env: {} });

    const fleet = loadFleet(file);
    for (const name of ['match-1-taxi', 'match-2-moto']) {
      const deployable = findDeployable(fleet, name);
      const manifests = renderModelManifests(deployable, SIZING, { namespace, image: `modelfleet/${name}:0123456789ab`, imagePullSecrets: fleet.kubernetes.imagePullSecrets });
      await writeManifestFiles(modelFolderPaths(out, name).k8sDir, manifests);
      const marked = await markDeployedConfig(fleet, deployable, manifests.map((m) => m.object as KubeObject));
      const result = await deployToKube({ kube, deployName: name, environment: 'dev', namespace, manifests: marked, ...fast, report: (line) => printed.push(line) });
      expect(result.outcome).toBe('deployed');
    }
    const env: NodeJS.ProcessEnv = { ...process.env, MODELFLEET_PUSH: 'false' };
    for (const key of ['MODELFLEET_REGISTRY_IMAGE', 'CI_REGISTRY', 'CI_REGISTRY_IMAGE', 'CI_REGISTRY_USER', 'CI_REGISTRY_PASSWORD']) delete env[key];
    await deployGatewayToKube({ kube, file, out, environment: 'dev', namespace, ...fast, env, print: (line) => printed.push(line) });

    // The sentinel is really there to be found: in the Secrets, and only there.
    expect(JSON.stringify(fake.objects('Secret', namespace))).toContain(SENTINEL_FORMS[1]);

    const written = await filesUnder(dir);
    expect(written.map((f) => relative(dir, f))).toEqual(expect.arrayContaining(['build/child-pipeline.yml', 'build/models/match-1-taxi/model.json', 'build/models/match-1-taxi/k8s/deployment.yaml']));
    const places: Array<[string, string]> = [
      ...(await Promise.all(written.map(async (f): Promise<[string, string]> => [relative(dir, f), await readFile(f, 'latin1')]))),
      ['job output', printed.join('\n')],
      ...['Namespace', 'Deployment', 'ReplicaSet', 'Pod', 'Service', 'ConfigMap', 'HorizontalPodAutoscaler', 'PodDisruptionBudget', 'Event', 'Endpoints'].map(
        (kind): [string, string] => [`cluster ${kind} objects`, JSON.stringify(fake.objects(kind))],
      ),
    ];
    for (const [where, text] of places) {
      for (const form of SENTINEL_FORMS) expect(text.includes(form), `${where} holds a Secret value`).toBe(false);
    }

    // The Deployments name the Secrets instead.
    const deployments = fake.objects('Deployment', namespace);
    const podSpec = (name: string) => {
      const found = deployments.find((d) => (d.metadata as { name: string }).name === name);
      return ((found?.spec as Record<string, unknown>).template as { spec: Record<string, unknown> }).spec;
    };
    const container = (name: string) => (podSpec(name).containers as Array<Record<string, unknown>>)[0] ?? {};
    expect(container('match-1-taxi').env).toContainEqual({ name: 'FEATURE_STORE_TOKEN', valueFrom: { secretKeyRef: { name: 'match-secrets', key: 'token' } } });
    expect(container('match-1-taxi').envFrom).toEqual([{ secretRef: { name: 'match-shared' } }]);
    // `secretEnv: []` on a model replaces the list from defaults.
    expect(JSON.stringify(container('match-2-moto'))).not.toContain('secretKeyRef');
    for (const name of ['match-1-taxi', 'match-2-moto', 'modelfleet-gateway']) {
      expect(podSpec(name).imagePullSecrets, name).toEqual([{ name: 'registry-pull' }]);
    }
    // The generated folder names the Secret too (model.json), still without a value.
    const modelJson = JSON.parse(await readFile(join(out, 'models', 'match-1-taxi', 'model.json'), 'utf8')) as Record<string, unknown>;
    expect(modelJson.secretEnv).toEqual([{ name: 'FEATURE_STORE_TOKEN', secret: 'match-secrets', key: 'token' }]);
  }, 60_000);
});
