import { load as loadYaml } from 'js-yaml';
import { applyDefaults } from './defaults.js';
import { deletePath, getPath, setPath, splitPath } from './field-paths.js';
import { isObject, type JsonObject } from './json.js';
import { kedaAdmission } from './keda-admission.js';
import { leafPaths, toFieldsV1 } from './managed-fields.js';
import type { ObjectStore } from './object-store.js';
import { apiVersionOf, qualifiedPlural, typeOf, type ResourceType } from './resource-types.js';
import { statusBody } from './status-responses.js';
import { uid } from './uid.js';
import { validate } from './validation.js';

export type ApplyResult = { object: JsonObject; created: boolean } | { error: JsonObject };

/**
 * Server-side apply (https://kubernetes.io/docs/reference/using-api/server-side-apply/): a
 * `PATCH` with `application/apply-patch+yaml`, `fieldManager` required, managedFields per
 * manager, conflicts (409) unless `force`, fields a manager stops applying are removed;
 * `metadata.generation` bumps only when `spec` changes
 * (https://github.com/kubernetes/community/blob/master/contributors/devel/sig-architecture/api-conventions.md#metadata).
 * Invalid objects are refused with a 422 naming the object, field and reason (validation.ts).
 */
export function applyObject(store: ObjectStore, type: ResourceType, namespace: string | undefined, name: string, body: string, manager: string | undefined, force: boolean, dryRun: boolean): ApplyResult {
  if (!manager) {
    return { error: statusBody(422, 'Invalid', 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch', { group: 'meta.k8s.io', kind: 'PatchOptions', causes: [{ reason: 'FieldValueRequired', message: 'Required value: is required for apply patch', field: 'fieldManager' }] }) };
  }
  let patch: unknown;
  try {
    patch = loadYaml(body);
  } catch (err) {
    return { error: statusBody(400, 'BadRequest', `error decoding YAML: ${err instanceof Error ? err.message : String(err)}`) };
  }
  if (!isObject(patch)) return { error: statusBody(400, 'BadRequest', 'the apply patch is not an object') };
  const applied = structuredClone(patch) as JsonObject;
  if (applied.apiVersion !== apiVersionOf(type) || applied.kind !== type.kind) {
    return { error: statusBody(400, 'BadRequest', `the API version in the data (${String(applied.apiVersion)}) and kind (${String(applied.kind)}) do not match the URL (${apiVersionOf(type)} ${type.kind})`) };
  }
  const meta = isObject(applied.metadata) ? applied.metadata : {};
  applied.metadata = meta;
  if (meta.name !== undefined && meta.name !== name) {
    return { error: statusBody(400, 'BadRequest', `the name of the object (${String(meta.name)}) does not match the name on the URL (${name})`) };
  }
  if (type.namespaced && meta.namespace !== undefined && meta.namespace !== namespace) {
    return { error: statusBody(400, 'BadRequest', 'the namespace of the provided object does not match the namespace sent on the request') };
  }
  if (meta.managedFields !== undefined) {
    return { error: statusBody(400, 'BadRequest', 'metadata.managedFields must be nil') };
  }
  meta.name = name;
  const key = store.key(type, namespace, name);
  const existing = store.getByKey(key);
  if (type.namespaced) {
    meta.namespace = namespace ?? 'default';
    const home = store.get(typeOf('Namespace'), undefined, meta.namespace as string);
    if (!home) {
      return { error: statusBody(404, 'NotFound', `namespaces "${String(meta.namespace)}" not found`, { name: meta.namespace as string, kind: 'namespaces' }) };
    }
    // The NamespaceLifecycle admission plugin: nothing new in a namespace being deleted.
    // https://kubernetes.io/docs/reference/access-authn-authz/admission-controllers/#namespacelifecycle
    if (!existing && (home.metadata as JsonObject).deletionTimestamp) {
      return { error: statusBody(403, 'Forbidden', `${qualifiedPlural(type)} "${name}" is forbidden: unable to create new content in namespace ${String(meta.namespace)} because it is being terminated`, { name, group: type.group, kind: type.plural, causes: [{ reason: 'NamespaceTerminating', message: `namespace ${String(meta.namespace)} is being terminated`, field: 'metadata.namespace' }] }) };
    }
  }

  const owners = new Map([...(store.owners.get(key) ?? new Map<string, Set<string>>()).entries()].map(([m, paths]) => [m, new Set(paths)]));
  const appliedPaths = new Set(leafPaths(applied));

  // Conflicts: another manager owns a field we set to a different value.
  // https://kubernetes.io/docs/reference/using-api/server-side-apply/#conflicts
  const conflicts: string[] = [];
  if (existing) {
    for (const [other, paths] of owners) {
      if (other === manager) continue;
      for (const path of paths) {
        if (!appliedPaths.has(path)) continue;
        const segments = splitPath(path);
        if (JSON.stringify(getPath(existing, segments)) !== JSON.stringify(getPath(applied, segments))) conflicts.push(`conflict with "${other}": .${segments.join('.')}`);
      }
    }
  }
  if (conflicts.length > 0 && !force) {
    return { error: statusBody(409, 'Conflict', `Apply failed with ${conflicts.length} conflict${conflicts.length === 1 ? '' : 's'}: ${conflicts.join(', ')}`, { name, group: type.group, kind: type.plural, causes: conflicts.map((c) => ({ reason: 'FieldManagerConflict', message: c, field: c.split(': ')[1] ?? '' })) }) };
  }
  for (const [other, paths] of owners) if (other !== manager) for (const path of appliedPaths) paths.delete(path);

  const merged: JsonObject = existing ? structuredClone(existing) : { apiVersion: apiVersionOf(type), kind: type.kind, metadata: {} };
  // Fields this manager applied last time and no longer applies are removed, unless someone else owns them.
  const previous = owners.get(manager) ?? new Set<string>();
  for (const path of previous) {
    if (appliedPaths.has(path)) continue;
    if ([...owners].some(([other, paths]) => other !== manager && paths.has(path))) continue;
    deletePath(merged, splitPath(path));
  }
  for (const path of appliedPaths) setPath(merged, splitPath(path), structuredClone(getPath(applied, splitPath(path)) ?? null));
  owners.set(manager, appliedPaths);
  for (const [other, paths] of owners) if (paths.size === 0) owners.delete(other);
  const identity = merged.metadata as JsonObject;
  identity.name = name;
  if (type.namespaced) identity.namespace = meta.namespace as string;
  applyDefaults(type, merged);

  const denied = kedaAdmission(type, merged, store);
  if (denied !== undefined) return { error: statusBody(400, 'BadRequest', denied) };
  const causes = validate(type, merged, existing);
  if (causes.length > 0) {
    const message = `${type.kind}${type.group === '' ? '' : `.${type.group}`} "${name}" is invalid: ${causes.map((c) => `${c.field}: ${c.message}`).join(', ')}`;
    return { error: statusBody(422, 'Invalid', message, { name, group: type.group, kind: type.kind, causes: causes.map((c) => ({ reason: c.reason, message: c.message, field: c.field })) }) };
  }

  const mergedMeta = merged.metadata as JsonObject;
  const now = new Date().toISOString();
  if (!existing) {
    mergedMeta.uid = uid();
    mergedMeta.creationTimestamp = now;
    if ('spec' in merged) mergedMeta.generation = 1;
  } else {
    const unchanged = JSON.stringify(stripVolatile(existing)) === JSON.stringify(stripVolatile(merged));
    // An apply that changes nothing is not written: same resourceVersion, same generation
    // (https://kubernetes.io/blog/2022/10/20/advanced-server-side-apply/). `generation` counts
    // changes to the desired state only, i.e. `spec` (api-conventions.md#metadata).
    if (unchanged) return { object: structuredClone(existing), created: false };
    if (JSON.stringify(existing.spec) !== JSON.stringify(merged.spec)) mergedMeta.generation = Number((existing.metadata as JsonObject).generation ?? 0) + 1;
  }
  mergedMeta.managedFields = [...owners].map(([m, paths]) => ({ manager: m, operation: 'Apply', apiVersion: apiVersionOf(type), time: now, fieldsType: 'FieldsV1', fieldsV1: toFieldsV1(paths) }));
  if (type.kind === 'Namespace') merged.status = { phase: mergedMeta.deletionTimestamp ? 'Terminating' : 'Active' };
  if (dryRun) return { object: merged, created: !existing };
  mergedMeta.resourceVersion = store.nextVersion();
  store.set(key, merged);
  store.owners.set(key, owners);
  return { object: structuredClone(merged), created: !existing };
}

function stripVolatile(object: JsonObject): JsonObject {
  const copy = structuredClone(object);
  const meta = copy.metadata as JsonObject;
  delete meta.managedFields;
  delete meta.resourceVersion;
  return copy;
}
