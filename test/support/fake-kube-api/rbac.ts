import type { FakeIdentity } from './authentication.js';
import type { JsonObject } from './json.js';
import type { ObjectStore } from './object-store.js';
import type { AuthorizationCheck } from './recorded-request.js';
import type { RequestAttributes } from './request-attributes.js';
import { typeOf } from './resource-types.js';
import { statusBody } from './status-responses.js';

interface PolicyRule {
  readonly apiGroups?: readonly string[];
  readonly resources?: readonly string[];
  readonly resourceNames?: readonly string[];
  readonly verbs?: readonly string[];
}

interface Subject {
  readonly kind?: string;
  readonly name?: string;
  readonly namespace?: string;
}

/**
 * The RBAC authorizer: allowed when a rule of a role bound to the identity allows the
 * request. ClusterRoleBindings grant their ClusterRole everywhere; a RoleBinding grants its
 * Role (or a ClusterRole) only in its own namespace. `system:masters` is never refused.
 * Nothing is denied explicitly: RBAC only adds permissions.
 * https://kubernetes.io/docs/reference/access-authn-authz/rbac/#rolebinding-and-clusterrolebinding
 */
export function authorize(store: ObjectStore, identity: FakeIdentity, request: RequestAttributes): boolean {
  if (identity.groups.includes('system:masters')) return true;
  const live = (o: JsonObject) => !(o.metadata as JsonObject).deletionTimestamp;
  const rulesOf = (kind: 'Role' | 'ClusterRole', namespace: string | undefined, name: unknown): PolicyRule[] => {
    const role = typeof name === 'string' ? store.get(typeOf(kind), namespace, name) : undefined;
    return role && live(role) ? ((role.rules as PolicyRule[] | undefined) ?? []) : [];
  };
  const bound = (binding: JsonObject, namespace: string | undefined) => live(binding) && ((binding.subjects as Subject[] | undefined) ?? []).some((s) => subjectMatches(s, identity, namespace));
  const rules: PolicyRule[] = [];
  for (const binding of store.list('ClusterRoleBinding')) {
    if (bound(binding, undefined)) rules.push(...rulesOf('ClusterRole', undefined, (binding.roleRef as JsonObject | undefined)?.name));
  }
  if (request.namespace !== undefined) {
    for (const binding of store.list('RoleBinding', request.namespace)) {
      if (!bound(binding, request.namespace)) continue;
      const ref = (binding.roleRef as JsonObject | undefined) ?? {};
      rules.push(...(ref.kind === 'ClusterRole' ? rulesOf('ClusterRole', undefined, ref.name) : rulesOf('Role', request.namespace, ref.name)));
    }
  }
  return rules.some((rule) => ruleAllows(rule, request));
}

/** Authorizes `attributes` and records the decision in `checks`. */
export function authorizeInto(checks: AuthorizationCheck[], store: ObjectStore, identity: FakeIdentity, attributes: RequestAttributes): boolean {
  const allowed = authorize(store, identity, attributes);
  checks.push({ ...attributes, allowed });
  return allowed;
}

/**
 * The 403 kube-apiserver answers when no rule allows a request
 * (k8s.io/apiserver/pkg/endpoints/handlers/responsewriters/errors.go, `forbiddenMessage`, and
 * apimachinery's NewForbidden): `<resource>[.<group>] ["<name>"] is forbidden: User "<user>"
 * cannot <verb> resource "<resource[/sub]>" in API group "<group>" in the namespace "<ns>"` (or
 * `at the cluster scope`), details {name, group, kind: the resource}. `reason` replaces the
 * sentence after "forbidden: " (the create check of an apply gives only the authorizer's reason).
 */
export function forbiddenStatus(identity: FakeIdentity, attributes: RequestAttributes, reason?: string): JsonObject {
  const [plural = ''] = attributes.resource.split('/');
  const qualified = attributes.apiGroup === '' ? plural : `${plural}.${attributes.apiGroup}`;
  const where = attributes.namespace !== undefined ? `in the namespace "${attributes.namespace}"` : 'at the cluster scope';
  const why = reason ?? `User "${identity.user}" cannot ${attributes.verb} resource "${attributes.resource}" in API group "${attributes.apiGroup}" ${where}`;
  const message = attributes.name !== undefined ? `${qualified} "${attributes.name}" is forbidden: ${why}` : `${qualified} is forbidden: ${why}`;
  return statusBody(403, 'Forbidden', message, {
    ...(attributes.name !== undefined ? { name: attributes.name } : {}),
    ...(attributes.apiGroup !== '' ? { group: attributes.apiGroup } : {}),
    kind: plural,
  });
}

/**
 * Whether one PolicyRule allows a request: the verb, the API group and the resource (`*`,
 * exactly, or `*\/<subresource>`) must match, and `resourceNames`, when set, must name the
 * object (so it never allows a list). k8s.io/kubernetes/pkg/apis/rbac/v1/evaluation_helpers.go,
 * https://kubernetes.io/docs/reference/access-authn-authz/rbac/#referring-to-resources
 */
function ruleAllows(rule: PolicyRule, request: RequestAttributes): boolean {
  const has = (values: readonly string[] | undefined, value: string) => (values ?? []).some((v) => v === '*' || v === value);
  if (!has(rule.verbs, request.verb) || !has(rule.apiGroups, request.apiGroup)) return false;
  const subresource = request.resource.includes('/') ? request.resource.slice(request.resource.indexOf('/') + 1) : undefined;
  const resourceMatches = (rule.resources ?? []).some((r) => r === '*' || r === request.resource || (subresource !== undefined && r === `*/${subresource}`));
  if (!resourceMatches) return false;
  const names = rule.resourceNames ?? [];
  return names.length === 0 || (request.name !== undefined && names.includes(request.name));
}

/** A binding subject names a user, a group, or a service account (whose namespace defaults to the binding's). */
function subjectMatches(subject: Subject, identity: FakeIdentity, bindingNamespace: string | undefined): boolean {
  if (subject.kind === 'User') return subject.name === identity.user;
  if (subject.kind === 'Group') return subject.name !== undefined && identity.groups.includes(subject.name);
  if (subject.kind === 'ServiceAccount') return identity.user === `system:serviceaccount:${subject.namespace ?? bindingNamespace ?? ''}:${subject.name ?? ''}`;
  return false;
}
