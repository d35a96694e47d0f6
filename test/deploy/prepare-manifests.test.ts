import { describe, expect, it } from 'vitest';
import { APPLIED_MANIFESTS_ANNOTATION, DEPLOYABLE_LABEL, MANIFEST_HASH_ANNOTATION } from '../../pipeline/deploy/kube/deploy-labels.js';
import { namespaceForEnvironment, environmentName } from '../../pipeline/deploy/kube/namespace-for-env.js';
import { prepareManifests, readRecordedManifests, recordManifests } from '../../pipeline/deploy/kube/prepare-manifests.js';
import { hopelessPodReason, readRolloutStatus } from '../../pipeline/deploy/kube/read-rollout-status.js';
import type { KubeObject } from '../../pipeline/seams/kube.js';
import { modelManifests } from './kube-fixtures.js';

const options = { namespace: 'modelfleet-dev', deployName: 'alpha', environment: 'dev' };

function deployment(status: Record<string, unknown>, generation = 2, replicas = 2): KubeObject {
  return { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'alpha', generation }, spec: { replicas }, status };
}

describe('prepareManifests', () => {
  it('puts every object into the environment namespace with the labels modelfleet selects by', () => {
    const prepared = prepareManifests(modelManifests('alpha', 'img:1'), options);
    for (const object of prepared.objects) {
      expect(object.metadata.namespace).toBe('modelfleet-dev');
      expect(object.metadata.labels?.[DEPLOYABLE_LABEL]).toBe('alpha');
      expect(object.metadata.annotations?.[MANIFEST_HASH_ANNOTATION]).toBe(prepared.hash);
    }
    expect(prepared.objects.map((o) => o.kind)).toEqual(['Service', 'Deployment', 'HorizontalPodAutoscaler']);
  });

  it('gives the same hash for the same manifests whatever their key order, and another hash for another image', () => {
    const a = prepareManifests(modelManifests('alpha', 'img:1'), options);
    const reordered = modelManifests('alpha', 'img:1').map((o) => Object.fromEntries(Object.entries(o).reverse()) as KubeObject);
    expect(prepareManifests(reordered, options).hash).toBe(a.hash);
    expect(prepareManifests(modelManifests('alpha', 'img:2'), options).hash).not.toBe(a.hash);
  });

  it('forces a rollout that keeps every old pod until new ones are ready', () => {
    const manifests = modelManifests('alpha', 'img:1');
    const spec = manifests[0]?.spec as { strategy: unknown };
    spec.strategy = { type: 'Recreate' };
    const prepared = prepareManifests(manifests, options);
    const deployment = prepared.objects.find((o) => o.kind === 'Deployment');
    expect((deployment?.spec as { strategy: unknown }).strategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } });
  });

  it('records the plain set on the Deployment so a rollback re-applies exactly what was deployed', () => {
    const prepared = prepareManifests(modelManifests('alpha', 'img:1'), options);
    const live = prepared.objects.find((o) => o.kind === 'Deployment');
    expect(live?.metadata.annotations?.[APPLIED_MANIFESTS_ANNOTATION]).toBeDefined();
    const recorded = readRecordedManifests(live);
    expect(recorded).toEqual(prepared.plain);
    expect(recordManifests(recorded ?? [], 'modelfleet-dev', 'alpha').hash).toBe(prepared.hash);
  });

  it('ignores an unreadable record instead of failing', () => {
    const live: KubeObject = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'x', annotations: { [APPLIED_MANIFESTS_ANNOTATION]: '{not json' } } };
    expect(readRecordedManifests(live)).toBeUndefined();
  });
});

describe('readRolloutStatus', () => {
  it('waits until the controller observed the latest generation', () => {
    expect(readRolloutStatus(deployment({ observedGeneration: 1, replicas: 2, updatedReplicas: 2, availableReplicas: 2 })).state).toBe('waiting');
  });

  it('waits while old replicas are still running or new ones are not available', () => {
    expect(readRolloutStatus(deployment({ observedGeneration: 2, replicas: 3, updatedReplicas: 2, availableReplicas: 2 })).message).toMatch(/1 old replicas are pending termination/);
    expect(readRolloutStatus(deployment({ observedGeneration: 2, replicas: 2, updatedReplicas: 2, availableReplicas: 1 })).message).toMatch(/1 of 2 updated replicas are available/);
  });

  it('is done when every replica is updated and available', () => {
    expect(readRolloutStatus(deployment({ observedGeneration: 2, replicas: 2, updatedReplicas: 2, availableReplicas: 2 })).state).toBe('done');
  });

  it('fails on ProgressDeadlineExceeded', () => {
    const status = readRolloutStatus(deployment({ observedGeneration: 2, replicas: 3, updatedReplicas: 1, availableReplicas: 2, conditions: [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: 'ReplicaSet "alpha-1" has timed out progressing.' }] }));
    expect(status).toEqual({ state: 'failed', message: 'deployment alpha exceeded its progress deadline (ReplicaSet "alpha-1" has timed out progressing.)' });
  });
});

describe('namespaces per environment', () => {
  it('takes --env first, then MODELFLEET_ENV, then dev', () => {
    expect(environmentName('staging', { MODELFLEET_ENV: 'production' })).toBe('staging');
    expect(environmentName(undefined, { MODELFLEET_ENV: 'production' })).toBe('production');
    expect(environmentName(undefined, {})).toBe('dev');
  });

  it('derives a valid namespace name from any environment name', () => {
    expect(namespaceForEnvironment('Review/Feature_42')).toBe('modelfleet-review-feature-42');
  });
});

describe('hopelessPodReason', () => {
  const pod = (containerStatuses: unknown[]): KubeObject => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, status: { containerStatuses } });

  it('gives up on an image that cannot be pulled', () => {
    expect(hopelessPodReason(pod([{ name: 'model', restartCount: 0, state: { waiting: { reason: 'ImagePullBackOff', message: 'Back-off pulling image "x"' } } }]))).toBe('pod p container model: ImagePullBackOff (Back-off pulling image "x")');
  });

  it('keeps hoping for a container that restarted fewer than three times', () => {
    expect(hopelessPodReason(pod([{ name: 'model', restartCount: 2, state: { waiting: { reason: 'CrashLoopBackOff' } } }]))).toBeUndefined();
    expect(hopelessPodReason(pod([{ name: 'model', restartCount: 0, state: { running: {} } }]))).toBeUndefined();
  });

  it('gives up on a container crash-looping three times, with its last exit', () => {
    expect(hopelessPodReason(pod([{ name: 'model', restartCount: 3, state: { waiting: { reason: 'CrashLoopBackOff' } }, lastState: { terminated: { reason: 'OOMKilled', exitCode: 137 } } }])))
      .toBe('pod p container model: CrashLoopBackOff after 3 restarts, last exit OOMKilled (code 137)');
  });
});
