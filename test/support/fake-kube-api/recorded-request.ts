/**
 * One authorization decision: the request attributes RBAC looks at
 * (https://kubernetes.io/docs/reference/access-authn-authz/authorization/#review-your-request-attributes).
 * `resource` carries the subresource (`pods/log`); `namespace` is the namespace the rules are
 * looked up in (for a Namespace object itself, its own name, as kube-apiserver does).
 */
export interface AuthorizationCheck {
  readonly verb: string;
  readonly apiGroup: string;
  readonly resource: string;
  readonly namespace: string | undefined;
  readonly name: string | undefined;
  readonly allowed: boolean;
}

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  readonly contentType: string | undefined;
  /** The authenticated user (`kubernetes-admin` for a token the fake was not told about). */
  readonly user: string;
  /**
   * `namespaced`: a resource inside one namespace; `cluster`: a cluster-scoped resource
   * (Namespace, ClusterRole, ...) or a list across all namespaces; `non-resource`: discovery and
   * other paths outside the resource API.
   */
  readonly scope: 'namespaced' | 'cluster' | 'non-resource';
  /** Every authorization decision the request needed, in order (a server-side apply that creates checks `patch`, then `create`). */
  readonly checks: readonly AuthorizationCheck[];
}
