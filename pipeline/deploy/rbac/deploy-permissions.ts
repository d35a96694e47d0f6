/**
 * Every permission `modelfleet deploy` (models, the gateway, `--remove`, pruning, rollback and
 * the rollout watch) uses on Kubernetes, with the code path that uses it. `modelfleet rbac`
 * prints a Role of exactly these rules, and the tests run the deploys as an identity bound to
 * that Role (test/deploy/least-privilege.test.ts), so a call added without its permission fails
 * there, and a permission no call needs shows up as unused.
 *
 * Verbs are RBAC request verbs (https://kubernetes.io/docs/reference/access-authn-authz/authorization/#determine-the-request-verb).
 * Server-side apply is a PATCH, authorized as `patch`; when the object does not exist yet the API
 * server also checks `create` for it (k8s.io/apiserver/pkg/endpoints/handlers/patch.go), so every
 * applied kind needs both. A dry run needs the same verbs as the real request.
 */
export type RbacVerb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete' | 'deletecollection';

export interface DeployPermission {
  /** API group; '' is the core group. */
  readonly apiGroup: string;
  /** Resource (plural), or `resource/subresource`. */
  readonly resource: string;
  readonly verbs: readonly RbacVerb[];
  /** The code paths that use it, for people reading `modelfleet rbac` and for reviews. */
  readonly why: string;
}

const APPLY = 'create, patch: server-side apply and its dry run (deploy, rollback)';
const READ_LIVE = 'get: the live object for the "unchanged" check';
const REMOVE = 'list, delete: --remove, pruning, objects a new version dropped, a failed first deploy';

/** Namespaced: the Role in the environment's namespace. Order is the order of the printed rules. */
export const DEPLOY_PERMISSIONS: readonly DeployPermission[] = [
  { apiGroup: 'apps', resource: 'deployments', verbs: ['get', 'list', 'create', 'patch', 'delete'], why: `${APPLY}; get: the live version, its recorded manifests and the rollout status; list: the gateway reads which models are deployed; ${REMOVE}` },
  { apiGroup: 'apps', resource: 'replicasets', verbs: ['list'], why: 'list: the newest ReplicaSet of a rollout, to find pods that cannot start and to explain a failed rollout' },
  { apiGroup: '', resource: 'services', verbs: ['get', 'list', 'create', 'patch', 'delete'], why: `${APPLY}; ${READ_LIVE}; ${REMOVE}` },
  { apiGroup: '', resource: 'configmaps', verbs: ['get', 'list', 'create', 'patch', 'delete'], why: `${APPLY} (the gateway's route table); get: the live route table (gateway deploy, --remove) and the "unchanged" check; ${REMOVE}` },
  { apiGroup: 'autoscaling', resource: 'horizontalpodautoscalers', verbs: ['get', 'list', 'create', 'patch', 'delete'], why: `${APPLY}; ${READ_LIVE}; ${REMOVE}` },
  { apiGroup: 'policy', resource: 'poddisruptionbudgets', verbs: ['get', 'list', 'create', 'patch', 'delete'], why: `${APPLY}; ${READ_LIVE}; ${REMOVE}` },
  { apiGroup: '', resource: 'serviceaccounts', verbs: ['list', 'delete'], why: `${REMOVE} (a deployable's objects may include one; modelfleet does not create them)` },
  { apiGroup: '', resource: 'pods', verbs: ['list'], why: 'list: pods of a rollout that cannot start (image pull, crash loop) and the explanation of a failed rollout' },
  { apiGroup: '', resource: 'pods/log', verbs: ['get'], why: 'get: the last log lines of a failing pod' },
  { apiGroup: '', resource: 'events', verbs: ['list'], why: 'list: the warning events of a failed rollout' },
];

/**
 * Only for a fleet with bulk models (models.yaml `bulk:`): each one's worker is scaled by a KEDA
 * ScaledObject that its deploy applies, prunes and removes like the model's other objects.
 */
export const BULK_PERMISSION: DeployPermission = {
  apiGroup: 'keda.sh',
  resource: 'scaledobjects',
  verbs: ['get', 'list', 'create', 'patch', 'delete'],
  why: `${APPLY}; ${READ_LIVE}; ${REMOVE} (the bulk workers' ScaledObject, and the ScaledObject of a model that scales to zero)`,
};

/**
 * Cluster-scoped, only with `kubernetes: { createNamespace: true }`: the deploy reads the
 * environment's Namespace and creates it (server-side apply) when it is missing. A Role cannot
 * grant it (a RoleBinding cannot exist before its namespace), so `modelfleet rbac` prints a
 * ClusterRole limited to that one namespace by name.
 */
export const CREATE_NAMESPACE_PERMISSION: DeployPermission = {
  apiGroup: '',
  resource: 'namespaces',
  verbs: ['get', 'create', 'patch'],
  why: 'get: whether the namespace exists; create, patch: server-side apply of the Namespace when it does not',
};
