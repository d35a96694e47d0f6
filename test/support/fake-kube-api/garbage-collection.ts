import type { Json, JsonObject } from './json.js';
import type { ObjectStore } from './object-store.js';
import { typeOf, type ResourceType } from './resource-types.js';

export type Propagation = 'Background' | 'Foreground' | 'Orphan';

/**
 * DeleteOptions' `propagationPolicy`, from the query (what client-node sends) or a JSON body;
 * Background when absent, the default for apps/v1 and core kinds
 * (https://kubernetes.io/docs/concepts/architecture/garbage-collection/#cascading-deletion).
 */
export function propagationPolicyOf(query: Readonly<Record<string, string>>, body: string): Propagation | Error {
  let fromBody: unknown;
  try {
    fromBody = body.trim() === '' ? undefined : (JSON.parse(body) as { propagationPolicy?: unknown }).propagationPolicy;
  } catch {
    return new Error('DeleteOptions in the request body is not JSON');
  }
  const value = query.propagationPolicy ?? fromBody ?? 'Background';
  if (value === 'Background' || value === 'Foreground' || value === 'Orphan') return value;
  return new Error(`DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Unsupported value: "${String(value)}": supported values: "Foreground", "Background", "Orphan"`);
}

/**
 * DELETE. Background: the object goes now, its dependents on a later garbage-collector pass.
 * Foreground and Orphan: the object stays with `deletionTimestamp` and the `foregroundDeletion`
 * or `orphan` finalizer until the collector has dealt with its dependents. A namespace becomes
 * `Terminating` until the namespace controller emptied it. Returns the object when it is still
 * there, undefined when it is gone.
 * https://kubernetes.io/docs/concepts/architecture/garbage-collection/#cascading-deletion
 * https://kubernetes.io/docs/concepts/overview/working-with-objects/finalizers/
 */
export function deleteObject(store: ObjectStore, type: ResourceType, namespace: string | undefined, name: string, policy: Propagation = 'Background'): JsonObject | undefined {
  const key = store.key(type, namespace, name);
  const object = store.getByKey(key);
  if (!object) return undefined;
  const meta = object.metadata as JsonObject;
  // Deleting what is already being deleted changes nothing.
  if (meta.deletionTimestamp) return structuredClone(object);
  if (type.kind === 'Namespace' || policy !== 'Background') {
    meta.deletionTimestamp = new Date().toISOString();
    if (type.kind === 'Namespace') object.status = { phase: 'Terminating' };
    else meta.finalizers = [...((meta.finalizers as Json[] | undefined) ?? []), policy === 'Foreground' ? 'foregroundDeletion' : 'orphan'];
    meta.resourceVersion = store.nextVersion();
    return structuredClone(object);
  }
  store.remove(key);
  return undefined;
}

/**
 * One pass of the garbage collector and of the namespace controller's cleanup, as a real
 * cluster runs them: asynchronously, after the DELETE answered.
 * - A dependent whose owners (by ownerReferences uid) are all gone is deleted (in the
 *   background, so its own dependents go on a later pass).
 * - Dependents of an owner in foreground deletion are deleted in the foreground too; the owner
 *   goes once nothing refers to it.
 * - Owner references to an owner in orphan deletion are removed; then the owner goes.
 * - A Terminating namespace is emptied, then removed
 *   (https://kubernetes.io/docs/tasks/administer-cluster/namespaces/#deleting-a-namespace).
 * https://kubernetes.io/docs/concepts/architecture/garbage-collection/#owners-dependents
 */
export function collectGarbage(store: ObjectStore): void {
  const byUid = new Map(store.all().map((o) => [(o.metadata as JsonObject).uid as string, o]));
  const finalizing = (owner: JsonObject | undefined, finalizer: string) => ((owner?.metadata as JsonObject | undefined)?.finalizers as Json[] | undefined)?.includes(finalizer) ?? false;
  for (const object of store.all()) {
    const meta = object.metadata as JsonObject;
    const refs = (meta.ownerReferences as JsonObject[] | undefined) ?? [];
    if (refs.length === 0) continue;
    const kept = refs.filter((ref) => byUid.has(ref.uid as string) && !finalizing(byUid.get(ref.uid as string), 'orphan'));
    const type = typeOf(object.kind as string);
    if (kept.length === 0 && !refs.some((ref) => finalizing(byUid.get(ref.uid as string), 'orphan'))) {
      deleteObject(store, type, meta.namespace as string | undefined, meta.name as string);
      continue;
    }
    if (kept.length !== refs.length) {
      meta.ownerReferences = kept;
      if (kept.length === 0) delete meta.ownerReferences;
      meta.resourceVersion = store.nextVersion();
    }
    if (kept.some((ref) => finalizing(byUid.get(ref.uid as string), 'foregroundDeletion'))) {
      deleteObject(store, type, meta.namespace as string | undefined, meta.name as string, 'Foreground');
    }
  }
  const referenced = new Set(store.all().flatMap((o) => ((o.metadata as JsonObject).ownerReferences as JsonObject[] | undefined ?? []).map((ref) => ref.uid as string)));
  for (const object of store.all()) {
    const meta = object.metadata as JsonObject;
    if (!meta.deletionTimestamp) continue;
    if (object.kind === 'Namespace') {
      const inside = store.all().filter((o) => (o.metadata as JsonObject).namespace === meta.name);
      for (const item of inside) deleteObject(store, typeOf(item.kind as string), meta.name as string, (item.metadata as JsonObject).name as string);
      if (inside.length === 0) store.remove(store.keyOf(object));
    } else if (!referenced.has(meta.uid as string)) {
      store.remove(store.keyOf(object));
    }
  }
}
