import { RESOURCES, type ResourceType } from './resource-types.js';

/** A resource URL taken apart: `/api/v1/namespaces/<ns>/<plural>/<name>/<subresource>` and the cluster-wide forms. */
export interface ParsedPath {
  readonly type: ResourceType;
  readonly namespace: string | undefined;
  readonly name: string | undefined;
  readonly subresource: string | undefined;
}

export function parsePath(path: string): ParsedPath | undefined {
  const match = /^\/(?:api\/(v1)|apis\/([^/]+)\/([^/]+))\/(.+)$/.exec(path);
  if (!match) return undefined;
  const group = match[1] ? '' : (match[2] ?? '');
  const version = match[1] ?? match[3] ?? '';
  const parts = (match[4] ?? '').split('/').filter((p) => p !== '').map(decodeURIComponent);
  const find = (plural: string | undefined) => RESOURCES.find((r) => r.group === group && r.version === version && r.plural === plural);
  if (parts[0] === 'namespaces' && parts.length >= 3) {
    const type = find(parts[2]);
    if (!type?.namespaced) return undefined;
    return { type, namespace: parts[1], name: parts[3], subresource: parts[4] };
  }
  const type = find(parts[0]);
  if (!type) return undefined;
  return { type, namespace: undefined, name: parts[1], subresource: parts[2] };
}
