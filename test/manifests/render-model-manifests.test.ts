import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { load } from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { joinManifests, renderModelManifests, imageVersion } from '../../pipeline/manifests/render-model-manifests.js';
import { validateManifest } from '../../pipeline/manifests/validate-manifest.js';
import { UserError } from '../../lib/errors/user-error.js';
import { deployable, fixedSizing, modelSpec } from './fixtures.js';

const goldenDir = join(dirname(fileURLToPath(import.meta.url)), 'golden');
const options = { namespace: 'models-production', image: 'modelfleet/match-taxi-berlin:0123456789ab' };

/** Compares with test/manifests/golden/<name>/; `UPDATE_GOLDEN=1` rewrites the golden files instead. */
function expectGolden(name: string, files: readonly { file: string; yaml: string }[]): void {
  const dir = join(goldenDir, name);
  if (process.env.UPDATE_GOLDEN === '1') {
    mkdirSync(dir, { recursive: true });
    for (const f of files) writeFileSync(join(dir, f.file), f.yaml);
  }
  for (const f of files) expect(f.yaml, `${name}/${f.file}`).toBe(readFileSync(join(dir, f.file), 'utf8'));
}

type Obj = Record<string, unknown>;
const at = (obj: unknown, ...path: (string | number)[]): unknown =>
  path.reduce<unknown>((o, k) => (o as Record<string | number, unknown> | undefined)?.[k], obj);

describe('model manifests', () => {
  it('match the golden files for a model of the fleet', () => {
    const manifests = renderModelManifests(deployable(), fixedSizing(), options);
    expect(manifests.map((m) => m.file)).toEqual(['deployment.yaml', 'service.yaml', 'horizontal-pod-autoscaler.yaml', 'pod-disruption-budget.yaml']);
    expectGolden('path-model', manifests);
  });

  it('match the golden files for a bring-your-own image', () => {
    const model = modelSpec({ name: 'match-bike-paris', scheduling: { nodeSelector: {}, tolerations: [] } });
    const byo = deployable(model, {
      source: { kind: 'image', image: 'registry.example.com/team/bike-model:2.1.0', port: 9000, predictPath: '/predict', readyPath: '/ready', schema: 'schemas/bike.json' },
    });
    const manifests = renderModelManifests(byo, fixedSizing(), { namespace: 'models-production', image: 'registry.example.com/team/bike-model:2.1.0' });
    expectGolden('image-model', manifests);
    const container = at(manifests[0]?.object, 'spec', 'template', 'spec', 'containers', 0) as Obj;
    expect(at(container, 'ports', 0, 'containerPort')).toBe(9000);
    expect(at(container, 'readinessProbe', 'httpGet', 'path')).toBe('/ready');
    expect(container.env).toEqual([]);
  });

  it('match the golden files for a model with image pull Secrets and secret variables', () => {
    const model = modelSpec({
      secretEnv: [
        { name: 'FEATURE_STORE_TOKEN', secret: 'feature-store', key: 'token' },
        { name: 'TRAFFIC_API_KEY', secret: 'traffic-api.credentials', key: 'api-key' },
      ],
      envFromSecrets: ['match-shared-config'],
    });
    const manifests = renderModelManifests(deployable(model), fixedSizing(), { ...options, imagePullSecrets: ['registry-credentials', 'mirror.pull'] });
    expectGolden('secret-model', manifests);
    const pod = at(manifests[0]?.object, 'spec', 'template', 'spec') as Obj;
    const container = at(pod, 'containers', 0) as Obj;
    expect(pod.imagePullSecrets).toEqual([{ name: 'registry-credentials' }, { name: 'mirror.pull' }]);
    // The Secret is named with its key; the value is never in a manifest.
    expect(container.env).toEqual(expect.arrayContaining([
      { name: 'FEATURE_STORE_TOKEN', valueFrom: { secretKeyRef: { name: 'feature-store', key: 'token' } } },
      { name: 'TRAFFIC_API_KEY', valueFrom: { secretKeyRef: { name: 'traffic-api.credentials', key: 'api-key' } } },
    ]));
    // After the server's own variables: models.yaml cannot set those, and `env` wins over `envFrom`.
    expect((container.env as Obj[]).map((e) => e.name).slice(-2)).toEqual(['FEATURE_STORE_TOKEN', 'TRAFFIC_API_KEY']);
    expect(container.envFrom).toEqual([{ secretRef: { name: 'match-shared-config' } }]);
    for (const m of manifests) expect(() => validateManifest(m.object, m.file)).not.toThrow();
  });

  it('give a bring-your-own image its secret variables too, and leave imagePullSecrets and envFrom out when there are none', () => {
    const model = modelSpec({ name: 'match-bike-paris', secretEnv: [{ name: 'API_KEY', secret: 'bike', key: 'key' }] });
    const byo = deployable(model, {
      source: { kind: 'image', image: 'registry.example.com/team/bike-model:2.1.0', port: 9000, predictPath: '/predict', readyPath: '/ready', schema: 'schemas/bike.json' },
    });
    const [deployment] = renderModelManifests(byo, fixedSizing(), { namespace: 'ns', image: 'registry.example.com/team/bike-model:2.1.0' });
    const pod = at(deployment?.object, 'spec', 'template', 'spec') as Obj;
    expect(at(pod, 'containers', 0, 'env')).toEqual([{ name: 'API_KEY', valueFrom: { secretKeyRef: { name: 'bike', key: 'key' } } }]);
    expect(Object.keys(pod)).not.toContain('imagePullSecrets');
    expect(Object.keys(at(pod, 'containers', 0) as Obj)).not.toContain('envFrom');
  });

  it('render the same bytes every time', () => {
    const a = joinManifests(renderModelManifests(deployable(), fixedSizing(), options));
    const b = joinManifests(renderModelManifests(deployable(), fixedSizing(), options));
    expect(a).toBe(b);
  });

  it('write the measured resources, the probes and the restricted pod security settings', () => {
    const sizing = fixedSizing();
    const [deployment] = renderModelManifests(deployable(), sizing, options);
    const pod = at(deployment?.object, 'spec', 'template', 'spec') as Obj;
    const container = at(pod, 'containers', 0) as Obj;
    expect(container.resources).toEqual({ requests: { cpu: sizing.resources.requests.cpu, memory: sizing.resources.requests.memory }, limits: { memory: sizing.resources.limits.memory } });
    expect(at(container, 'readinessProbe', 'httpGet', 'path')).toBe('/readyz');
    expect(at(container, 'livenessProbe', 'httpGet', 'path')).toBe('/healthz');
    expect(at(container, 'startupProbe', 'httpGet', 'path')).toBe('/healthz');
    expect(at(pod, 'securityContext', 'runAsNonRoot')).toBe(true);
    expect(at(pod, 'securityContext', 'seccompProfile', 'type')).toBe('RuntimeDefault');
    expect(container.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(at(deployment?.object, 'spec', 'strategy', 'rollingUpdate', 'maxUnavailable')).toBe(0);
    expect(container.env).toEqual(expect.arrayContaining([
      { name: 'HOST', value: '0.0.0.0' },
      { name: 'PORT', value: '8080' },
      { name: 'BATCHING_ENABLED', value: 'true' },
      { name: 'MAX_BATCH_SIZE', value: '32' },
      { name: 'MAX_BATCH_WAIT_MS', value: '5' },
    ]));
    expect(pod.nodeSelector).toEqual({ 'node.kubernetes.io/pool': 'spot' });
    expect(pod.tolerations).toEqual([{ key: 'spot', operator: 'Equal', value: 'true', effect: 'NoSchedule' }]);
  });

  it('scale between the model\'s replica bounds and keep one pod up during disruptions', () => {
    const manifests = renderModelManifests(deployable(), fixedSizing(), options);
    const hpa = manifests.find((m) => m.kind === 'HorizontalPodAutoscaler')?.object;
    const pdb = manifests.find((m) => m.kind === 'PodDisruptionBudget')?.object;
    expect(at(hpa, 'spec', 'minReplicas')).toBe(2);
    expect(at(hpa, 'spec', 'maxReplicas')).toBe(6);
    expect(at(hpa, 'spec', 'metrics', 0, 'resource', 'target', 'averageUtilization')).toBe(70);
    expect(at(pdb, 'spec', 'maxUnavailable')).toBe(1);
    expect(at(pdb, 'spec', 'selector', 'matchLabels')).toEqual(at(manifests[0]?.object, 'spec', 'selector', 'matchLabels'));
  });

  it('pass the official Kubernetes schemas', () => {
    for (const m of renderModelManifests(deployable(), fixedSizing(), options)) {
      expect(() => validateManifest(m.object, m.file)).not.toThrow();
    }
  });

  it('keep text that looks like YAML as plain values, never as structure', () => {
    const hostile = 'x"\nkind: Secret\n- {a: b} # ${HOME} `id` \'quote\'';
    const model = modelSpec({
      scheduling: { nodeSelector: { 'pool': hostile }, tolerations: [{ key: 'k', operator: 'Equal', value: hostile, effect: 'NoSchedule' }] },
    });
    const manifests = renderModelManifests(deployable(model), fixedSizing(), { namespace: 'ns', image: 'modelfleet/x:abc' });
    const deploymentYaml = manifests[0]?.yaml ?? '';
    const parsed = load(deploymentYaml) as Obj;
    expect(parsed.kind).toBe('Deployment');
    expect(at(parsed, 'spec', 'template', 'spec', 'nodeSelector')).toEqual({ pool: hostile });
    expect(at(parsed, 'spec', 'template', 'spec', 'tolerations', 0, 'value')).toBe(hostile);
    expect(Object.keys(parsed)).toEqual(['apiVersion', 'kind', 'metadata', 'spec']);
  });

  it('reject a manifest the Kubernetes schema refuses, naming the model, file and field', () => {
    const model = modelSpec({ scaling: { minReplicas: 1, maxReplicas: 3, targetCpuUtilization: 70.5 } });
    let error: unknown;
    try {
      renderModelManifests(deployable(model), fixedSizing(), options);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(UserError);
    expect((error as UserError).code).toBe('MANIFEST_INVALID');
    expect((error as UserError).message).toMatch(/match-taxi-berlin.*horizontal-pod-autoscaler\.yaml/);
    expect((error as UserError).message).toMatch(/averageUtilization: must be integer/);
  });
});

describe('manifest label helpers', () => {
  it('take the tag of an image reference, ignoring a registry port and a digest', () => {
    expect(imageVersion('modelfleet/m:0123456789ab')).toBe('0123456789ab');
    expect(imageVersion('registry:5000/team/m')).toBe('latest');
    expect(imageVersion('registry:5000/team/m:2.1@sha256:abc')).toBe('2.1');
  });
});
