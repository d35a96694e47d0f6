import { getPath } from './field-paths.js';
import type { JsonObject } from './json.js';
import { typeOf, type ResourceType } from './resource-types.js';
import { parseFieldSelector, parseLabelSelector } from './selectors.js';

/**
 * The stored objects, keyed by kind, namespace and name, with the cluster's `resourceVersion`
 * counter and, per object, the field paths each server-side-apply manager owns.
 */
export class ObjectStore {
  resourceVersion = 1;
  private readonly objects = new Map<string, JsonObject>();
  /** manager → owned field paths, per object key. */
  readonly owners = new Map<string, Map<string, Set<string>>>();
  /** Called with the key of each object removed, so runtime state kept beside it goes too. */
  private readonly removeListeners: Array<(key: string) => void> = [];

  key(type: ResourceType, namespace: string | undefined, name: string): string {
    return `${type.kind}/${type.namespaced ? (namespace ?? '') : ''}/${name}`;
  }

  keyOf(object: JsonObject): string {
    const meta = object.metadata as JsonObject;
    return this.key(typeOf(object.kind as string), meta.namespace as string | undefined, meta.name as string);
  }

  nextVersion(): string {
    this.resourceVersion += 1;
    return String(this.resourceVersion);
  }

  put(type: ResourceType, object: JsonObject): void {
    const meta = object.metadata as JsonObject;
    this.objects.set(this.key(type, meta.namespace as string | undefined, meta.name as string), object);
  }

  /** Stores `object` under `key` as it is, without touching its metadata. */
  set(key: string, object: JsonObject): void {
    this.objects.set(key, object);
  }

  get(type: ResourceType, namespace: string | undefined, name: string): JsonObject | undefined {
    return this.objects.get(this.key(type, namespace, name));
  }

  getByKey(key: string): JsonObject | undefined {
    return this.objects.get(key);
  }

  /** Every stored object, in insertion order (a copy of the list, safe to change the store while iterating it). */
  all(): JsonObject[] {
    return [...this.objects.values()];
  }

  list(kind: string, namespace?: string): JsonObject[] {
    return this.all().filter((o) => o.kind === kind && (namespace === undefined || (o.metadata as JsonObject).namespace === namespace));
  }

  listFiltered(type: ResourceType, namespace: string | undefined, labelSelector: string | undefined, fieldSelector: string | undefined): JsonObject[] | Error {
    const labels = labelSelector ? parseLabelSelector(labelSelector) : [];
    if (labels instanceof Error) return labels;
    const fields = fieldSelector ? parseFieldSelector(fieldSelector) : [];
    if (fields instanceof Error) return fields;
    const items = this.list(type.kind, type.namespaced ? namespace : undefined)
      .filter((o) => labels.every((req) => req((o.metadata as JsonObject).labels as Record<string, string> | undefined ?? {})))
      .filter((o) => fields.every(({ path, value, negate }) => (String(getPath(o, path.split('.')) ?? '') === value) !== negate));
    return items.sort((a, b) => String((a.metadata as JsonObject).name).localeCompare(String((b.metadata as JsonObject).name)));
  }

  remove(key: string): void {
    this.objects.delete(key);
    this.owners.delete(key);
    for (const listener of this.removeListeners) listener(key);
    this.resourceVersion += 1;
  }

  onRemove(listener: (key: string) => void): void {
    this.removeListeners.push(listener);
  }
}
