import { createHash } from 'node:crypto';
import { recordEvent } from './events.js';
import { isObject, type Json, type JsonObject } from './json.js';
import { isPodReady, type Kubelet } from './kubelet.js';
import type { ObjectStore } from './object-store.js';
import { podsOf, reconcileReplicaSet } from './replicaset-controller.js';
import { typeOf } from './resource-types.js';
import { uid } from './uid.js';

interface DeploymentRuntime {
  lastProgressAt: number;
  lastTemplateHash: string;
  lastReadyNew: number;
}

/**
 * The deployment controller (https://kubernetes.io/docs/concepts/workloads/controllers/deployment/):
 * ReplicaSets per pod-template hash with revision annotations, rolling updates honouring
 * maxSurge/maxUnavailable (#rolling-update-deployment), rolling back to an earlier template
 * reuses its ReplicaSet (#rolling-back-a-deployment), and Deployment status (observedGeneration,
 * replicas, updated/ready/available) with the `Available`/`Progressing` conditions including
 * `ProgressDeadlineExceeded` after `spec.progressDeadlineSeconds` (#deployment-status,
 * #progress-deadline-seconds).
 */
export class DeploymentController {
  private readonly runtimes = new Map<string, DeploymentRuntime>();

  constructor(private readonly store: ObjectStore, private readonly kubelet: Kubelet) {
    store.onRemove((key) => this.runtimes.delete(key));
  }

  reconcile(deployment: JsonObject): void {
    const meta = deployment.metadata as JsonObject;
    const namespace = meta.namespace as string;
    const name = meta.name as string;
    const key = this.store.key(typeOf('Deployment'), namespace, name);
    const spec = deployment.spec as JsonObject;
    const template = spec.template as JsonObject;
    const desired = Number(spec.replicas ?? 1);
    const hash = templateHash(template);
    const now = Date.now();
    const runtime = this.runtimes.get(key) ?? { lastProgressAt: now, lastTemplateHash: '', lastReadyNew: -1 };
    this.runtimes.set(key, runtime);

    const owned = this.store.list('ReplicaSet', namespace).filter((rs) => ((rs.metadata as JsonObject).ownerReferences as JsonObject[] | undefined)?.some((ref) => ref.uid === meta.uid));
    const revisionOf = (rs: JsonObject) => Number(((rs.metadata as JsonObject).annotations as JsonObject | undefined)?.['deployment.kubernetes.io/revision'] ?? 0);
    const maxRevision = Math.max(0, ...owned.map(revisionOf));
    let newRs = owned.find((rs) => ((rs.metadata as JsonObject).labels as JsonObject | undefined)?.['pod-template-hash'] === hash);
    if (runtime.lastTemplateHash !== hash) {
      runtime.lastTemplateHash = hash;
      runtime.lastProgressAt = now;
      runtime.lastReadyNew = -1;
      if (!newRs) {
        newRs = this.createReplicaSet(deployment, hash, maxRevision + 1);
        recordEvent(this.store, deployment, 'Normal', 'ScalingReplicaSet', `Scaled up replica set ${String((newRs.metadata as JsonObject).name)} from 0 to 1`, 'deployment-controller');
      } else if (revisionOf(newRs) !== maxRevision) {
        // Rolling back to an earlier template reuses its ReplicaSet and gives it the next revision.
        ((newRs.metadata as JsonObject).annotations as JsonObject)['deployment.kubernetes.io/revision'] = String(maxRevision + 1);
      }
    }
    if (!newRs) return;
    const newName = (newRs.metadata as JsonObject).name as string;
    if (!isObject(meta.annotations)) meta.annotations = {};
    (meta.annotations as JsonObject)['deployment.kubernetes.io/revision'] = ((newRs.metadata as JsonObject).annotations as JsonObject)['deployment.kubernetes.io/revision'] ?? '1';
    const oldSets = owned.filter((rs) => rs !== newRs);

    const strategy = (spec.strategy as JsonObject | undefined)?.rollingUpdate as JsonObject | undefined;
    const surge = resolveIntOrPercent(strategy?.maxSurge ?? '25%', desired, true);
    const unavailable = resolveIntOrPercent(strategy?.maxUnavailable ?? '25%', desired, false);
    const replicasOf = (rs: JsonObject) => Number((rs.spec as JsonObject).replicas ?? 0);
    const readyIn = (rs: JsonObject) => podsOf(this.store, rs).filter((p) => isPodReady(p)).length;

    // Scale the new ReplicaSet up within the surge budget.
    // https://kubernetes.io/docs/concepts/workloads/controllers/deployment/#max-surge
    const total = replicasOf(newRs) + oldSets.reduce((sum, rs) => sum + replicasOf(rs), 0);
    const room = desired + surge - total;
    if (replicasOf(newRs) < desired && room > 0) this.scale(deployment, newRs, Math.min(desired, replicasOf(newRs) + room));
    if (replicasOf(newRs) > desired) this.scale(deployment, newRs, desired);
    // Scale old ReplicaSets down: unready pods first, ready ones only while enough stay available.
    const available = readyIn(newRs) + oldSets.reduce((sum, rs) => sum + readyIn(rs), 0);
    let budget = Math.max(0, available - (desired - unavailable));
    for (const rs of oldSets) {
      const current = replicasOf(rs);
      if (current === 0) continue;
      const unready = current - readyIn(rs);
      const cut = Math.min(current, unready + budget);
      budget -= Math.max(0, cut - unready);
      if (cut > 0) this.scale(deployment, rs, current - cut);
    }
    for (const rs of owned) reconcileReplicaSet(this.store, this.kubelet, rs);

    const allPods = owned.flatMap((rs) => podsOf(this.store, rs));
    const newPods = podsOf(this.store, newRs);
    const readyNew = newPods.filter((p) => isPodReady(p)).length;
    const readyAll = allPods.filter((p) => isPodReady(p)).length;
    if (readyNew > runtime.lastReadyNew) {
      runtime.lastReadyNew = readyNew;
      runtime.lastProgressAt = now;
    }
    const complete = newPods.length === desired && readyNew === desired && allPods.length === desired;
    const deadline = Number(spec.progressDeadlineSeconds ?? 600) * 1000;
    const status: JsonObject = {
      observedGeneration: meta.generation ?? 1,
      replicas: allPods.length,
      updatedReplicas: newPods.length,
      readyReplicas: readyAll,
      availableReplicas: readyAll,
      unavailableReplicas: Math.max(0, allPods.length - readyAll),
    };
    const stamp = new Date(now).toISOString();
    const previous = ((deployment.status as JsonObject | undefined)?.conditions as JsonObject[] | undefined) ?? [];
    const condition = (type: string, value: string, reason: string, message: string): JsonObject => {
      const before = previous.find((c) => c.type === type);
      const same = before?.status === value && before.reason === reason;
      return { type, status: value, lastUpdateTime: same ? (before.lastUpdateTime ?? stamp) : stamp, lastTransitionTime: before?.status === value ? (before.lastTransitionTime ?? stamp) : stamp, reason, message };
    };
    // Conditions as the deployment controller sets them:
    // https://kubernetes.io/docs/concepts/workloads/controllers/deployment/#deployment-status
    const availableOk = readyAll >= desired - unavailable;
    const progressing = complete
      ? condition('Progressing', 'True', 'NewReplicaSetAvailable', `ReplicaSet "${newName}" has successfully progressed.`)
      : now - runtime.lastProgressAt > deadline
        ? condition('Progressing', 'False', 'ProgressDeadlineExceeded', `ReplicaSet "${newName}" has timed out progressing.`)
        : condition('Progressing', 'True', 'ReplicaSetUpdated', `ReplicaSet "${newName}" is progressing.`);
    status.conditions = [
      condition('Available', availableOk ? 'True' : 'False', availableOk ? 'MinimumReplicasAvailable' : 'MinimumReplicasUnavailable', availableOk ? 'Deployment has minimum availability.' : 'Deployment does not have minimum availability.'),
      progressing,
    ];
    if (JSON.stringify(status) !== JSON.stringify(deployment.status)) {
      deployment.status = status;
      meta.resourceVersion = this.store.nextVersion();
    }
  }

  private createReplicaSet(deployment: JsonObject, hash: string, revision: number): JsonObject {
    const meta = deployment.metadata as JsonObject;
    const spec = deployment.spec as JsonObject;
    const template = structuredClone(spec.template as JsonObject);
    const templateMeta = (template.metadata as JsonObject | undefined) ?? {};
    template.metadata = templateMeta;
    templateMeta.labels = { ...((templateMeta.labels as JsonObject | undefined) ?? {}), 'pod-template-hash': hash };
    const selector = structuredClone((spec.selector as JsonObject | undefined) ?? {});
    selector.matchLabels = { ...((selector.matchLabels as JsonObject | undefined) ?? {}), 'pod-template-hash': hash };
    const rs: JsonObject = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: {
        name: `${String(meta.name)}-${hash}`,
        namespace: meta.namespace ?? 'default',
        uid: uid(),
        resourceVersion: this.store.nextVersion(),
        generation: 1,
        creationTimestamp: new Date().toISOString(),
        labels: templateMeta.labels,
        annotations: { 'deployment.kubernetes.io/revision': String(revision) },
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: meta.name ?? '', uid: meta.uid ?? '', controller: true, blockOwnerDeletion: true }],
      },
      spec: { replicas: 0, selector, template },
      status: { replicas: 0, observedGeneration: 1 },
    };
    this.store.put(typeOf('ReplicaSet'), rs);
    return rs;
  }

  private scale(deployment: JsonObject, rs: JsonObject, replicas: number): void {
    const spec = rs.spec as JsonObject;
    const from = Number(spec.replicas ?? 0);
    if (from === replicas) return;
    spec.replicas = replicas;
    const meta = rs.metadata as JsonObject;
    meta.generation = Number(meta.generation ?? 1) + 1;
    meta.resourceVersion = this.store.nextVersion();
    recordEvent(this.store, deployment, 'Normal', 'ScalingReplicaSet', `Scaled ${replicas > from ? 'up' : 'down'} replica set ${String(meta.name)} from ${from} to ${replicas}`, 'deployment-controller');
  }
}

function resolveIntOrPercent(value: Json, total: number, roundUp: boolean): number {
  if (typeof value === 'number') return value;
  const match = /^(\d+)%$/.exec(String(value));
  if (!match) return Number(value) || 0;
  const exact = (Number(match[1]) * total) / 100;
  return roundUp ? Math.ceil(exact) : Math.floor(exact);
}

function templateHash(template: JsonObject): string {
  return createHash('sha256').update(JSON.stringify(template)).digest('hex').slice(0, 10);
}
