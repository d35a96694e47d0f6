import type { Json } from './json.js';
import { RESOURCES } from './resource-types.js';

/**
 * Discovery documents (`/api`, `/api/v1`, `/apis`, `/apis/<group>/<version>`) for the kinds in
 * RESOURCES; undefined for any other path.
 * https://kubernetes.io/docs/concepts/overview/kubernetes-api/#discovery-api
 */
export function discover(path: string): Json | undefined {
  if (path === '/api') return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [] };
  if (path === '/apis') {
    const groups = [...new Set(RESOURCES.filter((r) => r.group !== '').map((r) => `${r.group}/${r.version}`))];
    return {
      kind: 'APIGroupList',
      apiVersion: 'v1',
      groups: groups.map((gv) => {
        const [group = '', version = ''] = gv.split('/');
        return { name: group, versions: [{ groupVersion: gv, version }], preferredVersion: { groupVersion: gv, version } };
      }),
    };
  }
  const match = /^\/(?:api\/(v1)|apis\/([^/]+)\/([^/]+))\/?$/.exec(path);
  if (!match) return undefined;
  const group = match[1] ? '' : (match[2] ?? '');
  const version = match[1] ?? match[3] ?? '';
  const resources = RESOURCES.filter((r) => r.group === group && r.version === version);
  if (resources.length === 0) return undefined;
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: group === '' ? version : `${group}/${version}`,
    resources: resources.map((r) => ({
      name: r.plural,
      singularName: r.kind.toLowerCase(),
      namespaced: r.namespaced,
      kind: r.kind,
      verbs: ['create', 'delete', 'get', 'list', 'patch'],
    })),
  };
}
