/** Who sent a request, as the authenticator hands it to the authorizer. */
export interface FakeIdentity {
  readonly user: string;
  readonly groups: readonly string[];
}

/** The identity of every token the fake was not told about: a cluster admin, whom RBAC never refuses. */
export const ADMIN_IDENTITY: FakeIdentity = { user: 'kubernetes-admin', groups: ['system:masters', 'system:authenticated'] };

/**
 * Bearer tokens: a token the test registered is that identity; any other token (or none) is the
 * cluster admin, so tests that do not care about RBAC need no setup.
 * https://kubernetes.io/docs/reference/access-authn-authz/authentication/#putting-a-bearer-token-in-a-request
 */
export function authenticate(tokens: ReadonlyMap<string, FakeIdentity>, header: string | undefined): FakeIdentity {
  const token = /^Bearer\s+(.+)$/i.exec(header ?? '')?.[1]?.trim();
  return (token !== undefined ? tokens.get(token) : undefined) ?? ADMIN_IDENTITY;
}
