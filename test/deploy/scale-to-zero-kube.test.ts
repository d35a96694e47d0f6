import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BULK_MANAGED_KINDS, deployToKube } from '../../pipeline/deploy/kube/deploy-to-kube.js';
import { systemClock, type Clock } from '../../pipeline/seams/clock.js';
import { openKube, type KubeClient, type KubeObject } from '../../pipeline/seams/kube.js';
import { renderModelManifests } from '../../pipeline/manifests/render-model-manifests.js';
import { startFakeKubeApi, type FakeKubeApi } from '../support/fake-kube-api.js';
import { deployable, fixedSizing, modelSpec } from '../manifests/fixtures.js';
import { modelManifests } from './kube-fixtures.js';

const NS = 'modelfleet-zero';
let fake: FakeKubeApi;
let kube: KubeClient;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'modelfleet-zero-kube-'));
  fake = await startFakeKubeApi({ tickMs: 20, readyAfterMs: 60, namespaces: [NS] });
  kube = await openKube({ kubeconfig: await fake.writeKubeconfig(dir) });
});

afterAll(async () => {
  await fake.close();
  await rm(dir, { recursive: true, force: true });
});

function pollClock(): Clock {
  let now = 0;
  return { now: () => now, async sleep(ms, signal) { await systemClock.sleep(ms, signal); now += ms; } };
}

const sleepyModel = modelSpec({ scaling: { minReplicas: 0, maxReplicas: 4, targetCpuUtilization: 70 }, scaleToZero: { idleSeconds: 120, maxHoldMs: 10_000, maxPending: 100 } });

/** The fixture's manifests with the HPA swapped for a ScaledObject, as renderModelManifests does for a model that scales to zero. */
function withScaledObject(name: string, image: string): KubeObject[] {
  const rendered = renderModelManifests(deployable(sleepyModel, { deployName: name }), fixedSizing(), { namespace: NS, image });
  const scaledObject = rendered.find((m) => m.kind === 'ScaledObject')?.object as unknown as KubeObject;
  return [...modelManifests(name, image).filter((o) => o.kind !== 'HorizontalPodAutoscaler'), scaledObject];
}

const kinds = async (name: string): Promise<string[]> => {
  const found: string[] = [];
  for (const [apiVersion, kind] of [['autoscaling/v2', 'HorizontalPodAutoscaler'], ['keda.sh/v1alpha1', 'ScaledObject']] as const) {
    if (await kube.get({ apiVersion, kind, name, namespace: NS })) found.push(kind);
  }
  return found;
};

describe('scale to zero on Kubernetes: a KEDA ScaledObject in place of the HPA', () => {
  it('renders a ScaledObject that passes KEDA\'s schema: from zero, cooldown idleSeconds, triggered by the gateway\'s demand', () => {
    const manifests = renderModelManifests(deployable(sleepyModel), fixedSizing(), { namespace: 'models-production', image: 'modelfleet/match:0123456789ab' });
    expect(manifests.map((m) => m.file)).toEqual(['deployment.yaml', 'service.yaml', 'scaled-object.yaml', 'pod-disruption-budget.yaml']);
    const scaled = manifests[2]?.object as { spec: { minReplicaCount: number; maxReplicaCount: number; cooldownPeriod: number; scaleTargetRef: { name: string }; triggers: Array<{ type: string; metadata: Record<string, string> }> } };
    expect(scaled.spec.minReplicaCount).toBe(0);
    expect(scaled.spec.maxReplicaCount).toBe(4);
    expect(scaled.spec.cooldownPeriod).toBe(120);
    expect(scaled.spec.scaleTargetRef.name).toBe('match-taxi-berlin');
    expect(scaled.spec.triggers.map((t) => t.type)).toEqual(['metrics-api', 'cpu']);
    expect(scaled.spec.triggers[0]?.metadata).toMatchObject({ url: 'http://modelfleet-gateway.models-production.svc/-/demand/match-taxi-berlin', valueLocation: 'demand', activationTargetValue: '0' });
    expect((manifests[0]?.object as { spec: Record<string, unknown> }).spec.replicas).toBeUndefined();
  });

  it('refuses (as KEDA\'s admission webhook does) a ScaledObject for a Deployment an HPA already scales', async () => {
    await deployToKube({ kube, deployName: 'clash', environment: 'zero', namespace: NS, manifests: modelManifests('clash', 'modelfleet/clash:aaaaaaaaaaaa'), pollMs: 25, timeoutMs: 5_000, clock: pollClock() });
    const scaled = withScaledObject('clash', 'modelfleet/clash:aaaaaaaaaaaa').find((o) => o.kind === 'ScaledObject') as KubeObject;
    await expect(kube.apply({ ...scaled, metadata: { ...scaled.metadata, namespace: NS } })).rejects.toThrow(/already managed by the hpa 'clash'/);
  });

  it('hands the Deployment over from the HPA to the ScaledObject and back, deleting the outgoing autoscaler before applying the new one', async () => {
    const common = { kube, deployName: 'zero', environment: 'zero', namespace: NS, pollMs: 25, timeoutMs: 5_000, clock: pollClock(), managedKinds: BULK_MANAGED_KINDS };
    await deployToKube({ ...common, manifests: modelManifests('zero', 'modelfleet/zero:aaaaaaaaaaaa') });
    expect(await kinds('zero')).toEqual(['HorizontalPodAutoscaler']);

    const lines: string[] = [];
    const before = fake.requests.length;
    const result = await deployToKube({ ...common, manifests: withScaledObject('zero', 'modelfleet/zero:bbbbbbbbbbbb'), report: (l) => lines.push(l) });
    expect(result.outcome).toBe('deployed');
    expect(await kinds('zero')).toEqual(['ScaledObject']);
    const requests = fake.requests.slice(before);
    const deleteHpa = requests.findIndex((r) => r.method === 'DELETE' && r.path.includes('/horizontalpodautoscalers/zero'));
    const applyScaled = requests.findIndex((r) => r.method === 'PATCH' && r.path.includes('/scaledobjects/zero') && r.query.dryRun === undefined);
    expect(deleteHpa).toBeGreaterThanOrEqual(0);
    expect(applyScaled).toBeGreaterThan(deleteHpa);
    expect(lines.some((l) => l.includes('deleted HorizontalPodAutoscaler') && l.includes('one autoscaler'))).toBe(true);

    await deployToKube({ ...common, manifests: modelManifests('zero', 'modelfleet/zero:cccccccccccc') });
    expect(await kinds('zero')).toEqual(['HorizontalPodAutoscaler']);
  });
});
