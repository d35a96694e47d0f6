import { joinPath, splitPath } from './field-paths.js';
import { isObject, type JsonObject } from './json.js';

// Fields no manager owns: the object's identity and what controllers write.
const SYSTEM_FIELDS = new Set(['apiVersion', 'kind', 'status']);
const META_IDENTITY = new Set(['name', 'namespace', 'uid', 'resourceVersion', 'generation', 'creationTimestamp', 'managedFields', 'deletionTimestamp', 'ownerReferences']);

/** Field paths a manager sets, `metadata.labels.app`-style; lists are atomic (owned whole). */
export function leafPaths(object: JsonObject, prefix: readonly string[] = []): string[] {
  const out: string[] = [];
  for (const [key, value] of Object.entries(object)) {
    if (prefix.length === 0 && SYSTEM_FIELDS.has(key)) continue;
    if (prefix.length === 1 && prefix[0] === 'metadata' && META_IDENTITY.has(key)) continue;
    const path = [...prefix, key];
    if (isObject(value) && Object.keys(value).length > 0) out.push(...leafPaths(value, path));
    else out.push(joinPath(path));
  }
  return out;
}

/** A manager's owned paths as `managedFields[].fieldsV1` (`{"f:metadata":{"f:labels":{...}}}`). */
export function toFieldsV1(paths: ReadonlySet<string>): JsonObject {
  const root: JsonObject = {};
  for (const path of paths) {
    let current = root;
    for (const key of splitPath(path)) {
      const name = `f:${key}`;
      if (!isObject(current[name])) current[name] = {};
      current = current[name] as JsonObject;
    }
  }
  return root;
}
