import { isObject, type Json, type JsonObject } from './json.js';

// Keys may hold dots (`app.kubernetes.io/name`), so paths are stored as JSON arrays.
export function joinPath(path: readonly string[]): string {
  return JSON.stringify(path);
}

export function splitPath(path: string): string[] {
  return JSON.parse(path) as string[];
}

export function getPath(object: Json | undefined, path: readonly string[]): Json | undefined {
  let current: Json | undefined = object;
  for (const key of path) {
    if (!isObject(current)) return undefined;
    current = current[key];
  }
  return current;
}

export function setPath(object: JsonObject, path: readonly string[], value: Json): void {
  let current = object;
  for (const key of path.slice(0, -1)) {
    if (!isObject(current[key])) current[key] = {};
    current = current[key] as JsonObject;
  }
  const last = path[path.length - 1];
  if (last !== undefined) current[last] = value;
}

export function deletePath(object: JsonObject, path: readonly string[]): void {
  const parents: JsonObject[] = [object];
  let current = object;
  for (const key of path.slice(0, -1)) {
    if (!isObject(current[key])) return;
    current = current[key] as JsonObject;
    parents.push(current);
  }
  const last = path[path.length - 1];
  if (last !== undefined) delete current[last];
  // Remove parents left empty, as the apiserver does for maps a manager no longer sets.
  for (let i = parents.length - 1; i > 0; i -= 1) {
    const parent = parents[i];
    const key = path[i - 1];
    if (parent && key !== undefined && Object.keys(parent).length === 0) delete (parents[i - 1] as JsonObject)[key];
  }
}
