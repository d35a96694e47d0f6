import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderBulkManifests } from '../../pipeline/bulk/render-bulk-manifests.js';
import { BULK_MANAGED_KINDS, deployToKube, removeFromKube } from '../../pipeline/deploy/kube/deploy-to-kube.js';
import { renderModelManifests } from '../../pipeline/manifests/render-model-manifests.js';
import { renderStreamManifests } from '../../pipeline/stream/render-stream-manifests.js';
import { openKube, type KubeClient, type KubeObject } from '../../pipeline/seams/kube.js';
import { startFakeKubeApi, type FakeKubeApi } from '../support/fake-kube-api.js';
import { deployable, fixedSizing, modelSpec } from '../manifests/fixtures.js';

const NAMESPACE = 'modelfleet-bulk';
const BULK = { enabled: true, chunkRows: 500, maxWorkers: 5, maxQueuedChunks: 200, resultTtlSeconds: 86_400, maxDeliveries: 5, claimIdleSeconds: 30, cooldownSeconds: 120, lagPerWorker: 10, redisSecret: 'modelfleet-redis' };

let fake: FakeKubeApi;
let kube: KubeClient;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'modelfleet-bulk-deploy-'));
  fake = await startFakeKubeApi({ tickMs: 20, readyAfterMs: 60, namespaces: [NAMESPACE] });
  kube = await openKube({ kubeconfig: await fake.writeKubeconfig(dir) });
});

afterAll(async () => {
  await fake.close();
  await rm(dir, { recursive: true, force: true });
});

const STREAM = { transport: 'kafka', input: 'trips', output: 'trip-scores', deadLetter: 'trips.dead-letter', group: 'match-7-moto', batchSize: 256, maxReplicas: 3, lagPerReplica: 1000, connectionSecret: 'modelfleet-kafka' } as const;

function manifests(bulk: boolean, image: string, stream = false): KubeObject[] {
  const target = deployable(modelSpec({ name: 'match-7-moto', ...(bulk ? { bulk: BULK } : {}), ...(stream ? { stream: STREAM } : {}) }));
  const options = { namespace: NAMESPACE, image };
  return [...renderModelManifests(target, fixedSizing(), options), ...renderBulkManifests(target, fixedSizing(), options), ...renderStreamManifests(target, fixedSizing(), options)]
    .map((m) => m.object as KubeObject);
}

const names = (kind: string) => fake.objects(kind, NAMESPACE).map((o) => (o.metadata as { name: string }).name).sort();
const fast = { pollMs: 25, timeoutMs: 10_000, managedKinds: BULK_MANAGED_KINDS };

describe('deploying a bulk model', () => {
  it('applies the worker Deployment and its ScaledObject with the model, in the same deploy', async () => {
    await deployToKube({ kube, deployName: 'match-7-moto', environment: 'bulk', namespace: NAMESPACE, manifests: manifests(true, 'modelfleet/match-7-moto:111111111111'), ...fast });

    expect(names('Deployment')).toEqual(['match-7-moto', 'match-7-moto-worker']);
    expect(names('ScaledObject')).toEqual(['match-7-moto-worker']);
    const scaled = fake.objects('ScaledObject', NAMESPACE)[0] as { metadata: { labels: Record<string, string> }; spec: { maxReplicaCount: number } };
    expect(scaled.spec.maxReplicaCount).toBe(5);
    expect(scaled.metadata.labels['modelfleet.io/deployable']).toBe('match-7-moto');
  });

  it('removes the worker and its ScaledObject when bulk is turned off', async () => {
    await deployToKube({ kube, deployName: 'match-7-moto', environment: 'bulk', namespace: NAMESPACE, manifests: manifests(false, 'modelfleet/match-7-moto:222222222222'), ...fast });

    expect(names('Deployment')).toEqual(['match-7-moto']);
    expect(names('ScaledObject')).toEqual([]);
  });

  it('applies a stream worker beside the bulk worker, each with its ScaledObject, and removes it when stream: goes', async () => {
    await deployToKube({ kube, deployName: 'match-7-moto', environment: 'bulk', namespace: NAMESPACE, manifests: manifests(true, 'modelfleet/match-7-moto:444444444444', true), ...fast });
    expect(names('Deployment')).toEqual(['match-7-moto', 'match-7-moto-stream', 'match-7-moto-worker']);
    expect(names('ScaledObject')).toEqual(['match-7-moto-stream', 'match-7-moto-worker']);

    await deployToKube({ kube, deployName: 'match-7-moto', environment: 'bulk', namespace: NAMESPACE, manifests: manifests(true, 'modelfleet/match-7-moto:555555555555'), ...fast });
    expect(names('Deployment')).toEqual(['match-7-moto', 'match-7-moto-worker']);
    expect(names('ScaledObject')).toEqual(['match-7-moto-worker']);
  });

  it('removes every object of a bulk model with --remove', async () => {
    await deployToKube({ kube, deployName: 'match-7-moto', environment: 'bulk', namespace: NAMESPACE, manifests: manifests(true, 'modelfleet/match-7-moto:333333333333'), ...fast });

    const removed = await removeFromKube(kube, NAMESPACE, 'match-7-moto', () => undefined, BULK_MANAGED_KINDS);

    expect(removed).toContain(`ScaledObject ${NAMESPACE}/match-7-moto-worker`);
    expect(removed).toContain(`Deployment ${NAMESPACE}/match-7-moto-worker`);
    expect([...names('Deployment'), ...names('ScaledObject')]).toEqual([]);
  });
});
