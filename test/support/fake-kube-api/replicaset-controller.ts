import { randomBytes } from 'node:crypto';
import { recordEvent } from './events.js';
import { deleteObject } from './garbage-collection.js';
import type { JsonObject } from './json.js';
import { isPodReady, type Kubelet } from './kubelet.js';
import type { ObjectStore } from './object-store.js';
import { typeOf } from './resource-types.js';
import { uid } from './uid.js';

/** The pods a ReplicaSet owns (by ownerReferences uid). */
export function podsOf(store: ObjectStore, rs: JsonObject): JsonObject[] {
  const uidOf = (rs.metadata as JsonObject).uid;
  return store.list('Pod', (rs.metadata as JsonObject).namespace as string).filter((p) => ((p.metadata as JsonObject).ownerReferences as JsonObject[] | undefined)?.some((ref) => ref.uid === uidOf));
}

/**
 * The ReplicaSet controller: creates pods up to `spec.replicas`, deletes the surplus (unready
 * pods first), and reports the ReplicaSet's status.
 * https://kubernetes.io/docs/concepts/workloads/controllers/replicaset/
 */
export function reconcileReplicaSet(store: ObjectStore, kubelet: Kubelet, rs: JsonObject): void {
  const meta = rs.metadata as JsonObject;
  const want = Number((rs.spec as JsonObject).replicas ?? 0);
  const pods = podsOf(store, rs);
  for (let i = pods.length; i < want; i += 1) createPod(store, kubelet, rs);
  if (pods.length > want) {
    const doomed = [...pods].sort((a, b) => Number(isPodReady(a)) - Number(isPodReady(b))).slice(0, pods.length - want);
    for (const pod of doomed) {
      deleteObject(store, typeOf('Pod'), meta.namespace as string, (pod.metadata as JsonObject).name as string);
      recordEvent(store, rs, 'Normal', 'SuccessfulDelete', `Deleted pod: ${String((pod.metadata as JsonObject).name)}`, 'replicaset-controller');
    }
  }
  const now = podsOf(store, rs);
  const ready = now.filter((p) => isPodReady(p)).length;
  rs.status = { replicas: now.length, readyReplicas: ready, availableReplicas: ready, fullyLabeledReplicas: now.length, observedGeneration: meta.generation ?? 1 };
}

function createPod(store: ObjectStore, kubelet: Kubelet, rs: JsonObject): void {
  const meta = rs.metadata as JsonObject;
  const template = structuredClone((rs.spec as JsonObject).template as JsonObject);
  const podSpec = template.spec as JsonObject;
  const name = `${String(meta.name)}-${randomBytes(3).toString('hex').slice(0, 5)}`;
  const container = ((podSpec.containers as JsonObject[] | undefined) ?? [])[0] ?? {};
  const pod: JsonObject = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: meta.namespace ?? 'default',
      uid: uid(),
      resourceVersion: store.nextVersion(),
      creationTimestamp: new Date().toISOString(),
      labels: (template.metadata as JsonObject | undefined)?.labels ?? {},
      annotations: (template.metadata as JsonObject | undefined)?.annotations ?? {},
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: meta.name ?? '', uid: meta.uid ?? '', controller: true, blockOwnerDeletion: true }],
    },
    spec: { ...podSpec, nodeName: 'fake-node' },
    status: { phase: 'Pending', conditions: [{ type: 'Ready', status: 'False' }] },
  };
  store.put(typeOf('Pod'), pod);
  kubelet.run(meta.namespace as string, name, container);
  recordEvent(store, rs, 'Normal', 'SuccessfulCreate', `Created pod: ${name}`, 'replicaset-controller');
  recordEvent(store, pod, 'Normal', 'Scheduled', `Successfully assigned ${String(meta.namespace)}/${name} to fake-node`, 'default-scheduler');
}
