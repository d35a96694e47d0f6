import type { AuthorizationCheck } from './recorded-request.js';
import type { ParsedPath } from './request-path.js';

export type RequestAttributes = Omit<AuthorizationCheck, 'allowed'>;

/**
 * The request verb from the HTTP method, as kube-apiserver derives it: GET is `get` for one
 * object, `list` for a collection (`watch` with `?watch=true`); POST `create`; PUT `update`;
 * PATCH `patch` (server-side apply included); DELETE `delete` or `deletecollection`
 * (https://kubernetes.io/docs/reference/access-authn-authz/authorization/#determine-the-request-verb).
 * For a Namespace object, the namespace attribute is its own name, so a RoleBinding inside a
 * namespace can grant access to that namespace object (k8s.io/apiserver/pkg/endpoints/request/requestinfo.go).
 */
export function requestAttributes(method: string, parsed: ParsedPath, query: Readonly<Record<string, string>>): RequestAttributes {
  const { type, namespace, name, subresource } = parsed;
  const collection = name === undefined;
  const verb = method === 'GET' || method === 'HEAD' ? (collection ? (query.watch === 'true' || query.watch === '1' ? 'watch' : 'list') : 'get')
    : method === 'POST' ? 'create'
      : method === 'PUT' ? 'update'
        : method === 'PATCH' ? 'patch'
          : method === 'DELETE' ? (collection ? 'deletecollection' : 'delete')
            : method.toLowerCase();
  return {
    verb,
    apiGroup: type.group,
    resource: subresource ? `${type.plural}/${subresource}` : type.plural,
    namespace: type.kind === 'Namespace' && name !== undefined ? name : namespace,
    name,
  };
}
