import { dump } from 'js-yaml';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { ClusterRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole';
import { ClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding';
import { Role } from 'kubernetes-models/rbac.authorization.k8s.io/v1/Role';
import { RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding';
import { UserError } from '../../../lib/errors/user-error.js';
import type { KubeObject } from '../../seams/kube.js';
import { MANAGED_BY, MANAGED_BY_LABEL } from '../kube/deploy-labels.js';
import { BULK_PERMISSION, CREATE_NAMESPACE_PERMISSION, DEPLOY_PERMISSIONS, type DeployPermission } from './deploy-permissions.js';

/** The deploy identity's name when `--service-account` does not give one. */
export const DEFAULT_SERVICE_ACCOUNT = 'modelfleet-deployer';

export interface RbacRequest {
  /** The environment's namespace: where the ServiceAccount, Role and RoleBinding live. */
  readonly namespace: string;
  readonly serviceAccount: string;
  /** models.yaml `kubernetes: { createNamespace: true }`: adds the cluster-scoped rule for this one Namespace. */
  readonly createNamespace: boolean;
  /** Groups bound to the Role as well, e.g. the GitLab agent's `gitlab:project_env:<id>:<env>` for `access_as: ci_job`. */
  readonly groups?: readonly string[];
  /** The fleet has bulk models: the Role also covers their KEDA ScaledObjects (BULK_PERMISSION). */
  readonly bulk?: boolean;
}

export interface RenderedRbac {
  readonly objects: readonly KubeObject[];
  /** Multi-document YAML with a comment header, the same bytes for the same request. */
  readonly yaml: string;
}

const RBAC_API = 'rbac.authorization.k8s.io';
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/**
 * Pure: the ServiceAccount, Role and RoleBinding that let `modelfleet deploy` do its work in
 * one namespace and nothing else (DEPLOY_PERMISSIONS), plus, with createNamespace, a ClusterRole
 * and ClusterRoleBinding for get/create/patch on that one Namespace. Each object passes the
 * official schema (kubernetes-models). https://kubernetes.io/docs/reference/access-authn-authz/rbac/
 */
export function renderRbac(request: RbacRequest): RenderedRbac {
  const { namespace, serviceAccount, createNamespace } = request;
  for (const [flag, value] of [['--namespace', namespace], ['--service-account', serviceAccount]] as const) {
    if (!DNS_LABEL.test(value)) {
      throw new UserError('USAGE', `${flag} "${value}" is not a valid Kubernetes name`, 'Use at most 63 lower-case letters, digits and "-", starting and ending with a letter or digit.');
    }
  }
  const labels = { [MANAGED_BY_LABEL]: MANAGED_BY };
  const subjects = [
    { kind: 'ServiceAccount', name: serviceAccount, namespace },
    ...[...new Set(request.groups ?? [])].sort().map((name) => ({ kind: 'Group', apiGroup: RBAC_API, name })),
  ];
  const objects: KubeObject[] = [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: serviceAccount, namespace, labels } },
    { apiVersion: `${RBAC_API}/v1`, kind: 'Role', metadata: { name: serviceAccount, namespace, labels }, rules: rolePermissions(request).map((p) => toRule(p)) },
    { apiVersion: `${RBAC_API}/v1`, kind: 'RoleBinding', metadata: { name: serviceAccount, namespace, labels }, roleRef: { apiGroup: RBAC_API, kind: 'Role', name: serviceAccount }, subjects },
  ];
  if (createNamespace) {
    // Cluster-wide names: one ClusterRole per environment's namespace.
    const name = `${serviceAccount}-${namespace}-namespace`;
    objects.push(
      // resourceNames limits it to this namespace: a server-side apply that creates checks `create` with the object's name.
      { apiVersion: `${RBAC_API}/v1`, kind: 'ClusterRole', metadata: { name, labels }, rules: [toRule(CREATE_NAMESPACE_PERMISSION, [namespace])] },
      { apiVersion: `${RBAC_API}/v1`, kind: 'ClusterRoleBinding', metadata: { name, labels }, roleRef: { apiGroup: RBAC_API, kind: 'ClusterRole', name }, subjects },
    );
  }
  for (const object of objects) validateRbacObject(object);
  // flowLevel 3: a rule's lists on one line each (`verbs: [get, list]`), as in the Kubernetes docs.
  const documents = objects.map((object) => dump(object, { noRefs: true, lineWidth: -1, sortKeys: false, flowLevel: 3 }));
  return { objects, yaml: `${header(request).map((line) => `# ${line}`.trimEnd()).join('\n')}\n${documents.map((d) => `---\n${d}`).join('')}` };
}

function rolePermissions(request: RbacRequest): DeployPermission[] {
  return request.bulk === true ? [...DEPLOY_PERMISSIONS, BULK_PERMISSION] : [...DEPLOY_PERMISSIONS];
}

function toRule(permission: DeployPermission, resourceNames?: readonly string[]): Record<string, unknown> {
  return { apiGroups: [permission.apiGroup], resources: [permission.resource], ...(resourceNames ? { resourceNames: [...resourceNames] } : {}), verbs: [...permission.verbs] };
}

function header(request: RbacRequest): string[] {
  const width = Math.max(...[...DEPLOY_PERMISSIONS, CREATE_NAMESPACE_PERMISSION].map((p) => qualified(p).length));
  const row = (p: DeployPermission) => `  ${qualified(p).padEnd(width)}  ${p.verbs.join(' ')}`;
  return [
    `What \`modelfleet deploy\` needs in namespace ${request.namespace}: a ServiceAccount, a Role with exactly`,
    'the permissions the deploy code uses (models, gateway, remove, prune, rollback), and a RoleBinding.',
    'Apply it once as a cluster admin: `kubectl apply -f <this file>`. Why each permission is needed:',
    'pipeline/deploy/rbac/deploy-permissions.ts; using it from GitLab CI: docs/deploy.md.',
    '',
    ...rolePermissions(request).map(row),
    '',
    ...(request.createNamespace
      ? [
        'createNamespace is on: the ClusterRole and ClusterRoleBinding at the end let the deploy read and',
        `create the one Namespace ${request.namespace} (cluster-scoped, so a Role cannot grant it):`,
        row(CREATE_NAMESPACE_PERMISSION),
        `The ServiceAccount, Role and RoleBinding live in ${request.namespace}, so applying them needs it to`,
        'exist; createNamespace helps an identity that gets its rights there another way (docs/deploy.md).',
      ]
      : [
        'Nothing cluster-wide: the namespace must exist (create it as an admin), or set',
        '`kubernetes: { createNamespace: true }` in models.yaml and print this again.',
      ]),
  ];
}

function qualified(permission: DeployPermission): string {
  return permission.apiGroup === '' ? permission.resource : `${permission.resource}.${permission.apiGroup}`;
}

interface Validatable {
  validate(): void;
}

const SCHEMAS: Readonly<Record<string, new (data: never) => Validatable>> = {
  ServiceAccount: ServiceAccount as unknown as new (data: never) => Validatable,
  Role: Role as unknown as new (data: never) => Validatable,
  RoleBinding: RoleBinding as unknown as new (data: never) => Validatable,
  ClusterRole: ClusterRole as unknown as new (data: never) => Validatable,
  ClusterRoleBinding: ClusterRoleBinding as unknown as new (data: never) => Validatable,
};

/** The official schema of each kind; a failure here is a bug in this file, not the user's input (that was checked above). */
function validateRbacObject(object: KubeObject): void {
  const Schema = SCHEMAS[object.kind];
  if (!Schema) throw new Error(`renderRbac: no schema for ${object.kind}`);
  new Schema(structuredClone(object) as never).validate();
}
