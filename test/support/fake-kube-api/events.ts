import { randomBytes } from 'node:crypto';
import type { JsonObject } from './json.js';
import type { ObjectStore } from './object-store.js';
import { typeOf } from './resource-types.js';
import { uid } from './uid.js';

/**
 * Records an Event about `object`, or counts one more of the same (same object, reason and
 * message), as the components' event recorders do.
 * https://kubernetes.io/docs/reference/kubernetes-api/cluster-resources/event-v1/
 */
export function recordEvent(store: ObjectStore, object: JsonObject, type: 'Normal' | 'Warning', reason: string, message: string, component: string): void {
  const meta = object.metadata as JsonObject;
  const namespace = (meta.namespace as string | undefined) ?? 'default';
  const now = new Date().toISOString();
  const same = store.list('Event', namespace).find((e) => (e.involvedObject as JsonObject).uid === meta.uid && e.reason === reason && e.message === message);
  if (same) {
    same.count = Number(same.count ?? 1) + 1;
    same.lastTimestamp = now;
    return;
  }
  store.put(typeOf('Event'), {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name: `${String(meta.name)}.${randomBytes(8).toString('hex')}`, namespace, uid: uid(), resourceVersion: store.nextVersion(), creationTimestamp: now },
    involvedObject: { apiVersion: object.apiVersion ?? 'v1', kind: object.kind ?? '', name: meta.name ?? '', namespace, uid: meta.uid ?? '' },
    reason,
    message,
    type,
    count: 1,
    firstTimestamp: now,
    lastTimestamp: now,
    source: { component },
    reportingComponent: component,
  });
}
