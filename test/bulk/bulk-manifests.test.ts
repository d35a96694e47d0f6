import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseFleet } from '../../generator/fleet/load-fleet.js';
import { findDeployable } from '../../generator/fleet/find-deployable.js';
import { renderBulkManifests } from '../../pipeline/bulk/render-bulk-manifests.js';
import { validateScaledObject } from '../../pipeline/manifests/validate-scaled-object.js';
import { renderModelManifests } from '../../pipeline/manifests/render-model-manifests.js';
import { renderRbac } from '../../pipeline/deploy/rbac/render-rbac.js';
import { isUserError } from '../../lib/errors/user-error.js';
import { deployable, fixedSizing, modelSpec } from '../manifests/fixtures.js';

const goldenDir = join(dirname(fileURLToPath(import.meta.url)), 'golden');
const options = { namespace: 'models-production', image: 'modelfleet/match-taxi-berlin:0123456789ab', imagePullSecrets: ['registry-credentials'] };
const BULK = { enabled: true, chunkRows: 500, maxWorkers: 8, maxQueuedChunks: 200, resultTtlSeconds: 86_400, maxDeliveries: 5, claimIdleSeconds: 30, cooldownSeconds: 120, lagPerWorker: 10, redisSecret: 'bulk-redis' };

/** Compares with test/bulk/golden/<file>; `UPDATE_GOLDEN=1` rewrites it instead. */
function expectGolden(file: string, text: string): void {
  if (process.env.UPDATE_GOLDEN === '1') {
    mkdirSync(goldenDir, { recursive: true });
    writeFileSync(join(goldenDir, file), text);
  }
  expect(text, `test/bulk/golden/${file} is stale: refresh with UPDATE_GOLDEN=1`).toBe(readFileSync(join(goldenDir, file), 'utf8'));
}

type Obj = Record<string, unknown>;
const at = (obj: unknown, ...path: (string | number)[]): unknown => path.reduce<unknown>((o, k) => (o as Record<string | number, unknown> | undefined)?.[k], obj);

describe('bulk worker manifests', () => {
  const model = modelSpec({ bulk: BULK, secretEnv: [{ name: 'FEATURE_TOKEN', secret: 'features', key: 'token' }] });

  it('match the golden files: the worker Deployment and the KEDA ScaledObject', () => {
    const manifests = renderBulkManifests(deployable(model), fixedSizing(), options);
    expect(manifests.map((m) => `${m.kind} ${m.file}`)).toEqual(['Deployment worker-deployment.yaml', 'ScaledObject worker-scaled-object.yaml']);
    for (const m of manifests) expectGolden(m.file, m.yaml);
  });

  it('scale the model\'s own image from zero on the consumer group\'s lag, up to bulk.maxWorkers', () => {
    const [deployment, scaled] = renderBulkManifests(deployable(model), fixedSizing(), options).map((m) => m.object as Obj);
    expect(at(scaled, 'spec', 'minReplicaCount')).toBe(0);
    expect(at(scaled, 'spec', 'maxReplicaCount')).toBe(8);
    expect(at(scaled, 'spec', 'cooldownPeriod')).toBe(120);
    expect(at(scaled, 'spec', 'scaleTargetRef', 'name')).toBe('match-taxi-berlin-worker');
    expect(at(scaled, 'spec', 'triggers', 0)).toEqual({
      type: 'redis-streams',
      metadata: { addressFromEnv: 'REDIS_ADDRESS', passwordFromEnv: 'REDIS_PASSWORD', stream: 'modelfleet:bulk:match-taxi-berlin:chunks', consumerGroup: 'workers', lagCount: '10', activationLagCount: '0' },
    });
    expect(at(deployment, 'spec', 'replicas')).toBeUndefined();
    expect(at(deployment, 'spec', 'template', 'spec', 'containers', 0, 'image')).toBe(options.image);
    expect(at(deployment, 'spec', 'template', 'spec', 'containers', 0, 'args')).toEqual(['node', '/app/bin/modelfleet.js', 'worker', '--model-dir', '/model']);
    const env = at(deployment, 'spec', 'template', 'spec', 'containers', 0, 'env') as Obj[];
    expect(env.find((e) => e.name === 'REDIS_ADDRESS')).toEqual({ name: 'REDIS_ADDRESS', valueFrom: { secretKeyRef: { name: 'bulk-redis', key: 'address' } } });
    expect(env.find((e) => e.name === 'FEATURE_TOKEN')).toBeDefined();
    expect(JSON.stringify(deployment)).not.toMatch(/password"?:\s*"[^"]/);
  });

  it('never select the model server\'s pods, nor let its Service select theirs', () => {
    const [service] = renderModelManifests(deployable(model), fixedSizing(), options).filter((m) => m.kind === 'Service').map((m) => m.object as Obj);
    const [deployment] = renderBulkManifests(deployable(model), fixedSizing(), options).map((m) => m.object as Obj);
    const workerLabels = at(deployment, 'spec', 'template', 'metadata', 'labels') as Record<string, string>;
    const serviceSelector = at(service, 'spec', 'selector') as Record<string, string>;
    expect(Object.entries(serviceSelector).every(([k, v]) => workerLabels[k] === v)).toBe(false);
  });

  it('are not rendered for a model without bulk:, and leave its own manifests as they were', () => {
    expect(renderBulkManifests(deployable(), fixedSizing(), options)).toEqual([]);
    expect(renderBulkManifests(deployable(modelSpec({ bulk: { ...BULK, enabled: false } })), fixedSizing(), options)).toEqual([]);
    const plain = renderModelManifests(deployable(), fixedSizing(), options).map((m) => m.yaml);
    const withBulk = renderModelManifests(deployable(modelSpec({ bulk: BULK })), fixedSizing(), options).map((m) => m.yaml);
    expect(withBulk).toEqual(plain);
  });

  it('refuse a ScaledObject that KEDA\'s schema rejects, naming the model and the field', () => {
    const [, scaled] = renderBulkManifests(deployable(model), fixedSizing(), options);
    const broken = structuredClone(scaled?.object as Obj);
    (broken.spec as Obj).maxReplicaCount = 'eight';
    let error: unknown;
    try {
      validateScaledObject(broken, 'model "match-taxi-berlin" worker-scaled-object.yaml');
    } catch (err) {
      error = err;
    }
    expect(isUserError(error) && error.code).toBe('MANIFEST_INVALID');
    expect((error as Error).message).toMatch(/^model "match-taxi-berlin" worker-scaled-object\.yaml: the keda\.sh\/v1alpha1\/ScaledObject does not pass KEDA's schema:\n {2}- \/spec\/maxReplicaCount: must be integer/);
  });

  it('are rendered from models.yaml, with the defaults filled in', () => {
    const fleet = parseFleet(['models:', '  - name: match-7-moto', '    endpoint: probability', '    path: examples/models/match-logreg-v1', '    bulk: { maxWorkers: 3 }', ''].join('\n'), '/repo/models.yaml');
    const [, scaled] = renderBulkManifests(findDeployable(fleet, 'match-7-moto'), fixedSizing(), options).map((m) => m.object as Obj);
    expect(at(scaled, 'spec', 'maxReplicaCount')).toBe(3);
    expect(at(scaled, 'spec', 'triggers', 0, 'metadata', 'lagCount')).toBe('10');
  });
});

describe('modelfleet rbac for a fleet with bulk models', () => {
  it('adds get, list, create, patch and delete on KEDA ScaledObjects, and only then', () => {
    const plain = renderRbac({ namespace: 'modelfleet-dev', serviceAccount: 'modelfleet-deployer', createNamespace: false });
    const bulk = renderRbac({ namespace: 'modelfleet-dev', serviceAccount: 'modelfleet-deployer', createNamespace: false, bulk: true });
    const rules = (objects: typeof plain.objects) => (objects.find((o) => o.kind === 'Role') as unknown as { rules: Obj[] }).rules;
    expect(rules(bulk.objects)).toEqual([...rules(plain.objects), { apiGroups: ['keda.sh'], resources: ['scaledobjects'], verbs: ['get', 'list', 'create', 'patch', 'delete'] }]);
    expect(plain.yaml).not.toMatch(/keda/);
  });
});
