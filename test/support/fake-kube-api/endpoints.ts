import type { JsonObject } from './json.js';
import { isPodReady } from './kubelet.js';
import type { ObjectStore } from './object-store.js';
import { typeOf } from './resource-types.js';
import { uid } from './uid.js';

/**
 * Endpoints are computed the way the endpoints controller would: ready pods the Service selects.
 * https://kubernetes.io/docs/concepts/services-networking/service/#endpoints
 */
export function endpointsOf(store: ObjectStore, namespace: string, name: string): JsonObject | undefined {
  const service = store.get(typeOf('Service'), namespace, name);
  if (!service) return undefined;
  const selector = ((service.spec as JsonObject).selector as Record<string, string> | undefined) ?? {};
  const ready = selectedPods(store, namespace, selector).filter((p) => isPodReady(p));
  return {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: { name, namespace, uid: uid(), resourceVersion: String(store.resourceVersion) },
    subsets: ready.length === 0 ? [] : [{ addresses: ready.map((p) => ({ ip: (p.status as JsonObject).podIP ?? '', targetRef: { kind: 'Pod', name: (p.metadata as JsonObject).name ?? '', namespace } })) }],
  };
}

/** Images of the ready pods behind a Service: what it would serve right now. */
export function servedImages(store: ObjectStore, namespace: string, serviceName: string): string[] {
  const service = store.get(typeOf('Service'), namespace, serviceName);
  if (!service) return [];
  const selector = ((service.spec as JsonObject).selector as Record<string, string> | undefined) ?? {};
  return selectedPods(store, namespace, selector).filter((p) => isPodReady(p)).map((p) => String((((p.spec as JsonObject).containers as JsonObject[])[0] ?? {}).image ?? ''));
}

function selectedPods(store: ObjectStore, namespace: string, selector: Record<string, string>): JsonObject[] {
  if (Object.keys(selector).length === 0) return [];
  return store.list('Pod', namespace).filter((p) => {
    const labels = ((p.metadata as JsonObject).labels as Record<string, string> | undefined) ?? {};
    return Object.entries(selector).every(([k, v]) => labels[k] === v);
  });
}
