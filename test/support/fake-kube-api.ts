/**
 * A fake Kubernetes API server: a real HTTP server on 127.0.0.1 that answers the calls
 * `modelfleet deploy` makes the way kube-apiserver and its controllers do, so the deploy logic is
 * tested through @kubernetes/client-node and an ordinary kubeconfig. Each behaviour follows the
 * Kubernetes document named beside it (and again where it is implemented below):
 *
 * - discovery (`/api`, `/api/v1`, `/apis`, `/apis/<group>/<version>`) for the kinds below
 *   (https://kubernetes.io/docs/concepts/overview/kubernetes-api/#discovery-api);
 * - server-side apply (https://kubernetes.io/docs/reference/using-api/server-side-apply/):
 *   `PATCH` with `application/apply-patch+yaml`, `fieldManager` required, managedFields per
 *   manager, conflicts (409) unless `force=true`, fields a manager stops applying are removed;
 *   `metadata.generation` bumps only when `spec` changes and `status.observedGeneration` follows it
 *   (https://github.com/kubernetes/community/blob/master/contributors/devel/sig-architecture/api-conventions.md#metadata);
 *   an apply that changes nothing is not written (same resourceVersion; "a no-op apply is not very
 *   much more work for the API server than an extra GET",
 *   https://kubernetes.io/blog/2022/10/20/advanced-server-side-apply/);
 * - errors as a `Status` body with reason and code
 *   (https://github.com/kubernetes/community/blob/master/contributors/devel/sig-architecture/api-conventions.md#http-status-codes):
 *   422 naming the object, field and reason for names and label values
 *   (https://kubernetes.io/docs/concepts/overview/working-with-objects/names/), quantities
 *   (https://kubernetes.io/docs/reference/kubernetes-api/common-definitions/quantity/), requests ≤
 *   limits, ports, a Deployment's selector matching its template and being immutable
 *   (https://kubernetes.io/docs/concepts/workloads/controllers/deployment/#selector);
 * - GET and LIST with label and field selectors, in one namespace or all
 *   (https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors,
 *   https://kubernetes.io/docs/concepts/overview/working-with-objects/field-selectors/);
 * - DELETE with `propagationPolicy` (https://kubernetes.io/docs/concepts/architecture/garbage-collection/#cascading-deletion,
 *   https://kubernetes.io/docs/tasks/administer-cluster/use-cascading-deletion/): `Background`
 *   (the default) removes the object at once and a garbage collector, running on the controller
 *   tick, removes its dependents shortly after (ReplicaSets, then their pods); `Foreground` keeps
 *   the object, with `deletionTimestamp` and the `foregroundDeletion` finalizer, until its
 *   dependents are gone; `Orphan` keeps the dependents and removes their owner references.
 *   `holdGarbageCollection()` stands in for a slow collector in tests;
 * - namespaces: a namespaced object in a missing namespace is 404; deleting a namespace makes it
 *   `Terminating` at once, refuses new objects in it with 403, and removes it once the namespace
 *   controller emptied it (https://kubernetes.io/docs/concepts/overview/working-with-objects/namespaces/,
 *   https://kubernetes.io/docs/tasks/administer-cluster/namespaces/#deleting-a-namespace);
 * - Events (https://kubernetes.io/docs/reference/kubernetes-api/cluster-resources/event-v1/), pod
 *   logs (https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/pod-v1/#read-log-of-the-specified-pod),
 *   Endpoints of a Service from its ready pods (https://kubernetes.io/docs/concepts/services-networking/service/#endpoints);
 * - a deployment controller (https://kubernetes.io/docs/concepts/workloads/controllers/deployment/):
 *   ReplicaSets per pod-template hash with revision annotations, rolling updates honouring
 *   maxSurge/maxUnavailable (#rolling-update-deployment), rolling back to an earlier template
 *   reuses its ReplicaSet (#rolling-back-a-deployment), pods that become ready after
 *   `readyAfterMs`, and Deployment status (observedGeneration, replicas, updated/ready/available)
 *   with the `Available`/`Progressing` conditions including `ProgressDeadlineExceeded` after
 *   `spec.progressDeadlineSeconds` (#deployment-status, #progress-deadline-seconds);
 * - pod status: the `Ready` condition, container states, restart counts, `CrashLoopBackOff` and
 *   `OOMKilled` (https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/#pod-conditions,
 *   #container-states).
 * - authentication by bearer token and RBAC authorization
 *   (https://kubernetes.io/docs/reference/access-authn-authz/authorization/,
 *   https://kubernetes.io/docs/reference/access-authn-authz/rbac/): a token registered with
 *   `addIdentity`/`serviceAccountToken` is that user; every resource request is authorized by the
 *   Roles, ClusterRoles and bindings stored in the fake (applied like any object) and refused with
 *   a 403 `Forbidden` Status naming the user, verb, resource and namespace; a server-side apply
 *   that creates its object also needs `create`. Any other token is a cluster admin
 *   (`system:masters`), so tests that do not care about RBAC need no setup. `requests` records
 *   each request's user, scope (namespaced, cluster-scoped, non-resource) and decisions.
 *
 * Pods misbehave on purpose when their first container says so, by the environment variable
 * `FAKE_KUBE_POD_BEHAVIOUR` (`never-ready`, `crash-loop`, `oom-killed`) or by an image tag
 * that ends in `-never-ready`. `FAKE_KUBE_POD_LOG` replaces the log lines the pod prints.
 * Simplified on purpose: pods end at once when deleted (no grace period), there is one node,
 * no scheduler constraints, no watch, and only the kinds in RESOURCES exist.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { load as loadYaml } from 'js-yaml';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

interface ResourceType {
  readonly group: string;
  readonly version: string;
  readonly kind: string;
  readonly plural: string;
  readonly namespaced: boolean;
}

const RESOURCES: readonly ResourceType[] = [
  { group: '', version: 'v1', kind: 'Namespace', plural: 'namespaces', namespaced: false },
  { group: '', version: 'v1', kind: 'Service', plural: 'services', namespaced: true },
  { group: '', version: 'v1', kind: 'Pod', plural: 'pods', namespaced: true },
  { group: '', version: 'v1', kind: 'Event', plural: 'events', namespaced: true },
  { group: '', version: 'v1', kind: 'ConfigMap', plural: 'configmaps', namespaced: true },
  { group: '', version: 'v1', kind: 'Secret', plural: 'secrets', namespaced: true },
  { group: '', version: 'v1', kind: 'ServiceAccount', plural: 'serviceaccounts', namespaced: true },
  { group: '', version: 'v1', kind: 'Endpoints', plural: 'endpoints', namespaced: true },
  { group: 'apps', version: 'v1', kind: 'Deployment', plural: 'deployments', namespaced: true },
  { group: 'apps', version: 'v1', kind: 'ReplicaSet', plural: 'replicasets', namespaced: true },
  { group: 'autoscaling', version: 'v2', kind: 'HorizontalPodAutoscaler', plural: 'horizontalpodautoscalers', namespaced: true },
  { group: 'policy', version: 'v1', kind: 'PodDisruptionBudget', plural: 'poddisruptionbudgets', namespaced: true },
  { group: 'networking.k8s.io', version: 'v1', kind: 'Ingress', plural: 'ingresses', namespaced: true },
  { group: 'networking.k8s.io', version: 'v1', kind: 'NetworkPolicy', plural: 'networkpolicies', namespaced: true },
  { group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'Role', plural: 'roles', namespaced: true },
  { group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'RoleBinding', plural: 'rolebindings', namespaced: true },
  { group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'ClusterRole', plural: 'clusterroles', namespaced: false },
  { group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'ClusterRoleBinding', plural: 'clusterrolebindings', namespaced: false },
];

/** Who sent a request, as the authenticator hands it to the authorizer. */
export interface FakeIdentity {
  readonly user: string;
  readonly groups: readonly string[];
}

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

export interface FakeKubeOptions {
  /** How often the controller reconciles (default 50 ms). */
  readonly tickMs?: number;
  /** How long a healthy pod takes to become ready (default 150 ms). */
  readonly readyAfterMs?: number;
  /** Namespaces that exist from the start, besides `default` and `kube-system` (what a cluster admin created). */
  readonly namespaces?: readonly string[];
}

/** The identity of every token the fake was not told about: a cluster admin, whom RBAC never refuses. */
export const ADMIN_IDENTITY: FakeIdentity = { user: 'kubernetes-admin', groups: ['system:masters', 'system:authenticated'] };

export interface FakeKubeApi {
  readonly url: string;
  /** Every request received, in order, with its user, scope and authorization decisions. */
  readonly requests: readonly RecordedRequest[];
  /**
   * Writes a kubeconfig pointing at this server and returns its path. Without a token it
   * carries the admin's token; with one (see serviceAccountToken, addIdentity) requests are
   * authorized by the RBAC objects stored in the fake. Each token gets its own file in `dir`.
   */
  writeKubeconfig(dir: string, options?: { readonly token?: string }): Promise<string>;
  /** Makes `token` authenticate as `identity`; its requests are then authorized by RBAC. */
  addIdentity(token: string, identity: FakeIdentity): void;
  /**
   * A bearer token of the ServiceAccount `namespace/name`, with the user name and groups
   * Kubernetes gives service accounts (`system:serviceaccount:<ns>:<name>`,
   * https://kubernetes.io/docs/reference/access-authn-authz/rbac/#referring-to-subjects).
   */
  serviceAccountToken(namespace: string, name: string): string;
  /** A copy of the stored objects of one kind (all namespaces unless one is given). */
  objects(kind: string, namespace?: string): JsonObject[];
  /** Images of the ready pods behind a Service: what it would serve right now. */
  servedImages(namespace: string, service: string): string[];
  /**
   * Stops the garbage collector (and the namespace controller's cleanup) until the returned
   * function is called: a collector that is slow, as a busy cluster's can be, made deterministic.
   */
  holdGarbageCollection(): () => void;
  close(): Promise<void>;
}

const SYSTEM_FIELDS = new Set(['apiVersion', 'kind', 'status']);
const META_IDENTITY = new Set(['name', 'namespace', 'uid', 'resourceVersion', 'generation', 'creationTimestamp', 'managedFields', 'deletionTimestamp', 'ownerReferences']);

const ADMIN_TOKEN = 'fake-token';

export async function startFakeKubeApi(options: FakeKubeOptions = {}): Promise<FakeKubeApi> {
  const state = new FakeState(options.readyAfterMs ?? 150, options.namespaces ?? []);
  const requests: RecordedRequest[] = [];
  const tokens = new Map<string, FakeIdentity>();
  const server: Server = createServer((req, res) => {
    void handle(state, requests, tokens, req, res).catch((err: unknown) => {
      sendStatus(res, 500, 'InternalError', err instanceof Error ? err.message : String(err));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  const timer = setInterval(() => state.reconcile(), options.tickMs ?? 50);
  return {
    url,
    requests,
    async writeKubeconfig(dir: string, kubeconfigOptions: { readonly token?: string } = {}) {
      await mkdir(dir, { recursive: true });
      const token = kubeconfigOptions.token ?? ADMIN_TOKEN;
      const file = join(dir, token === ADMIN_TOKEN ? 'kubeconfig.yaml' : `kubeconfig-${createHash('sha256').update(token).digest('hex').slice(0, 12)}.yaml`);
      const config = [
        'apiVersion: v1',
        'kind: Config',
        'clusters:',
        // client-node refuses plain HTTP unless TLS verification is off; the fake serves 127.0.0.1 only.
        `- name: fake\n  cluster:\n    server: ${url}\n    insecure-skip-tls-verify: true`,
        'users:',
        `- name: tester\n  user:\n    token: ${token}`,
        'contexts:',
        '- name: fake\n  context:\n    cluster: fake\n    user: tester\n    namespace: default',
        'current-context: fake',
        '',
      ].join('\n');
      await writeFile(file, config);
      return file;
    },
    addIdentity(token, identity) {
      tokens.set(token, { user: identity.user, groups: [...identity.groups] });
    },
    serviceAccountToken(namespace, name) {
      const token = `sa-${namespace}-${name}-${randomBytes(6).toString('hex')}`;
      tokens.set(token, { user: `system:serviceaccount:${namespace}:${name}`, groups: ['system:serviceaccounts', `system:serviceaccounts:${namespace}`, 'system:authenticated'] });
      return token;
    },
    objects: (kind, namespace) => state.list(kind, namespace).map((o) => structuredClone(o)),
    servedImages: (namespace, service) => state.servedImages(namespace, service),
    holdGarbageCollection() {
      state.gcHolds += 1;
      let released = false;
      return () => {
        if (!released) state.gcHolds -= 1;
        released = true;
      };
    },
    async close() {
      clearInterval(timer);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

// ---------------------------------------------------------------- HTTP routing

interface ParsedPath {
  readonly type: ResourceType;
  readonly namespace: string | undefined;
  readonly name: string | undefined;
  readonly subresource: string | undefined;
}

async function handle(state: FakeState, requests: RecordedRequest[], tokens: ReadonlyMap<string, FakeIdentity>, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://fake');
  const query = Object.fromEntries(url.searchParams.entries());
  const method = req.method ?? 'GET';
  const identity = authenticate(tokens, req.headers.authorization);
  const discovery = discover(url.pathname);
  const parsed = discovery === undefined ? parsePath(url.pathname) : undefined;
  const checks: AuthorizationCheck[] = [];
  const scope = parsed === undefined ? 'non-resource' : parsed.type.namespaced && parsed.namespace !== undefined ? 'namespaced' : 'cluster';
  requests.push({ method, path: url.pathname, query, contentType: req.headers['content-type'], user: identity.user, scope, checks });
  const body = await readBody(req);

  // Discovery is open to every authenticated user (the `system:discovery` ClusterRole is bound to
  // `system:authenticated`, https://kubernetes.io/docs/reference/access-authn-authz/rbac/#discovery-roles).
  if (discovery !== undefined) return sendJson(res, 200, discovery);

  if (parsed === undefined) return sendStatus(res, 404, 'NotFound', 'the server could not find the requested resource');
  const { type, namespace, name, subresource } = parsed;

  // Every resource request is authorized before anything else happens, dry run or not
  // (https://kubernetes.io/docs/reference/access-authn-authz/authorization/#authorization-verbs).
  const attributes = requestAttributes(method, parsed, query);
  if (!authorizeInto(checks, state, identity, attributes)) return sendJson(res, 403, forbiddenStatus(identity, attributes));

  if (subresource === 'log' && type.kind === 'Pod' && method === 'GET' && namespace && name) {
    const log = state.podLog(namespace, name, Number(query.tailLines ?? '0'));
    if (log === undefined) return sendNotFound(res, type, name);
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(log);
    return;
  }
  if (subresource !== undefined) return sendStatus(res, 404, 'NotFound', 'the server could not find the requested resource');

  if (method === 'GET' && name === undefined) {
    const items = state.listFiltered(type, namespace, query.labelSelector, query.fieldSelector);
    if (items instanceof Error) return sendStatus(res, 400, 'BadRequest', items.message);
    return sendJson(res, 200, {
      apiVersion: apiVersionOf(type),
      kind: `${type.kind}List`,
      metadata: { resourceVersion: String(state.resourceVersion) },
      items: items.map((item) => {
        const copy = structuredClone(item);
        delete copy.apiVersion;
        delete copy.kind;
        return copy;
      }),
    });
  }
  if (method === 'GET' && name !== undefined) {
    const found = type.kind === 'Endpoints' && namespace ? state.endpoints(namespace, name) : state.get(type, namespace, name);
    if (found === undefined) return sendNotFound(res, type, name);
    return sendJson(res, 200, found);
  }
  if (method === 'DELETE' && name !== undefined) {
    const found = state.get(type, namespace, name);
    if (found === undefined) return sendNotFound(res, type, name);
    const policy = propagationPolicyOf(query, body);
    if (policy instanceof Error) return sendJson(res, 422, statusBody(422, 'Invalid', policy.message, { group: 'meta.k8s.io', kind: 'DeleteOptions' }));
    if (query.dryRun === 'All') return sendJson(res, 200, found);
    // An object that waits for finalizers (foreground, orphan, a namespace) is answered as it now
    // is, with its deletionTimestamp; one removed at once is answered with a Success Status.
    const pending = state.delete(type, namespace, name, policy);
    if (pending) return sendJson(res, 200, pending);
    return sendJson(res, 200, {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Success',
      details: { name, group: type.group, kind: type.plural, uid: (found.metadata as JsonObject).uid ?? '' },
    });
  }
  if (method === 'PATCH' && name !== undefined) {
    const contentType = (req.headers['content-type'] ?? '').split(';')[0]?.trim();
    if (contentType !== 'application/apply-patch+yaml') {
      return sendStatus(res, 415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/apply-patch+yaml (this fake answers only server-side apply, got ${contentType ?? 'none'})`);
    }
    // An apply that creates the object is also authorized as `create` of that name, dry run or
    // not (k8s.io/apiserver/pkg/endpoints/handlers/patch.go, createAuthorizerAttributes). Its
    // 403 carries only the authorizer's reason, which RBAC leaves empty: unlike the first check,
    // the message does not say which verb was missing.
    if (state.get(type, namespace, name) === undefined) {
      const create = { ...attributes, verb: 'create' };
      if (!authorizeInto(checks, state, identity, create)) return sendJson(res, 403, forbiddenStatus(identity, create, ''));
    }
    const result = state.apply(type, namespace, name, body, query.fieldManager, query.force === 'true', query.dryRun === 'All');
    if ('error' in result) return sendJson(res, result.error.code as number, result.error);
    return sendJson(res, result.created ? 201 : 200, result.object);
  }
  return sendStatus(res, 405, 'MethodNotAllowed', `${method} is not supported by the fake API server on ${url.pathname}`);
}

type Propagation = 'Background' | 'Foreground' | 'Orphan';

/**
 * DeleteOptions' `propagationPolicy`, from the query (what client-node sends) or a JSON body;
 * Background when absent, the default for apps/v1 and core kinds
 * (https://kubernetes.io/docs/concepts/architecture/garbage-collection/#cascading-deletion).
 */
function propagationPolicyOf(query: Readonly<Record<string, string>>, body: string): Propagation | Error {
  let fromBody: unknown;
  try {
    fromBody = body.trim() === '' ? undefined : (JSON.parse(body) as { propagationPolicy?: unknown }).propagationPolicy;
  } catch {
    return new Error('DeleteOptions in the request body is not JSON');
  }
  const value = query.propagationPolicy ?? fromBody ?? 'Background';
  if (value === 'Background' || value === 'Foreground' || value === 'Orphan') return value;
  return new Error(`DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Unsupported value: "${String(value)}": supported values: "Foreground", "Background", "Orphan"`);
}

// ---------------------------------------------------------------- authentication and RBAC

/**
 * Bearer tokens: a token the test registered is that identity; any other token (or none) is the
 * cluster admin, so tests that do not care about RBAC need no setup.
 * https://kubernetes.io/docs/reference/access-authn-authz/authentication/#putting-a-bearer-token-in-a-request
 */
function authenticate(tokens: ReadonlyMap<string, FakeIdentity>, header: string | undefined): FakeIdentity {
  const token = /^Bearer\s+(.+)$/i.exec(header ?? '')?.[1]?.trim();
  return (token !== undefined ? tokens.get(token) : undefined) ?? ADMIN_IDENTITY;
}

type RequestAttributes = Omit<AuthorizationCheck, 'allowed'>;

/**
 * The request verb from the HTTP method, as kube-apiserver derives it: GET is `get` for one
 * object, `list` for a collection (`watch` with `?watch=true`); POST `create`; PUT `update`;
 * PATCH `patch` (server-side apply included); DELETE `delete` or `deletecollection`
 * (https://kubernetes.io/docs/reference/access-authn-authz/authorization/#determine-the-request-verb).
 * For a Namespace object, the namespace attribute is its own name, so a RoleBinding inside a
 * namespace can grant access to that namespace object (k8s.io/apiserver/pkg/endpoints/request/requestinfo.go).
 */
function requestAttributes(method: string, parsed: ParsedPath, query: Readonly<Record<string, string>>): RequestAttributes {
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

function authorizeInto(checks: AuthorizationCheck[], state: FakeState, identity: FakeIdentity, attributes: RequestAttributes): boolean {
  const allowed = state.authorize(identity, attributes);
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
function forbiddenStatus(identity: FakeIdentity, attributes: RequestAttributes, reason?: string): JsonObject {
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

interface PolicyRule {
  readonly apiGroups?: readonly string[];
  readonly resources?: readonly string[];
  readonly resourceNames?: readonly string[];
  readonly verbs?: readonly string[];
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

interface Subject {
  readonly kind?: string;
  readonly name?: string;
  readonly namespace?: string;
}

/** A binding subject names a user, a group, or a service account (whose namespace defaults to the binding's). */
function subjectMatches(subject: Subject, identity: FakeIdentity, bindingNamespace: string | undefined): boolean {
  if (subject.kind === 'User') return subject.name === identity.user;
  if (subject.kind === 'Group') return subject.name !== undefined && identity.groups.includes(subject.name);
  if (subject.kind === 'ServiceAccount') return identity.user === `system:serviceaccount:${subject.namespace ?? bindingNamespace ?? ''}:${subject.name ?? ''}`;
  return false;
}

function discover(path: string): Json | undefined {
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

function parsePath(path: string): ParsedPath | undefined {
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

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function sendJson(res: ServerResponse, code: number, body: Json): void {
  res.writeHead(code, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function statusBody(code: number, reason: string, message: string, details?: JsonObject): JsonObject {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, ...(details ? { details } : {}), code };
}

function sendStatus(res: ServerResponse, code: number, reason: string, message: string, details?: JsonObject): void {
  sendJson(res, code, statusBody(code, reason, message, details));
}

function qualifiedPlural(type: ResourceType): string {
  return type.group === '' ? type.plural : `${type.plural}.${type.group}`;
}

function sendNotFound(res: ServerResponse, type: ResourceType, name: string): void {
  sendStatus(res, 404, 'NotFound', `${qualifiedPlural(type)} "${name}" not found`, { name, group: type.group, kind: type.plural });
}

function apiVersionOf(type: ResourceType): string {
  return type.group === '' ? type.version : `${type.group}/${type.version}`;
}

// ---------------------------------------------------------------- store + apply

interface Cause {
  readonly field: string;
  readonly reason: 'FieldValueRequired' | 'FieldValueInvalid' | 'FieldValueNotSupported' | 'FieldValueForbidden';
  readonly message: string;
}

type ApplyResult = { object: JsonObject; created: boolean } | { error: JsonObject };

interface PodRuntime {
  readonly createdAt: number;
  readonly behaviour: 'healthy' | 'never-ready' | 'crash-loop' | 'oom-killed';
  restarts: number;
  readyLogged: boolean;
}

interface DeploymentRuntime {
  lastProgressAt: number;
  lastTemplateHash: string;
  lastReadyNew: number;
}

class FakeState {
  resourceVersion = 1;
  private readonly store = new Map<string, JsonObject>();
  /** manager → owned field paths, per object key. */
  private readonly owners = new Map<string, Map<string, Set<string>>>();
  private readonly pods = new Map<string, PodRuntime>();
  private readonly deployments = new Map<string, DeploymentRuntime>();
  private podIp = 10;

  constructor(private readonly readyAfterMs: number, namespaces: readonly string[]) {
    const now = new Date().toISOString();
    for (const name of ['default', 'kube-system', ...namespaces]) {
      this.put(this.typeOf('Namespace'), {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name, uid: uid(), resourceVersion: this.nextVersion(), creationTimestamp: now, labels: { 'kubernetes.io/metadata.name': name } },
        spec: { finalizers: ['kubernetes'] },
        status: { phase: 'Active' },
      });
    }
  }

  /**
   * The RBAC authorizer: allowed when a rule of a role bound to the identity allows the
   * request. ClusterRoleBindings grant their ClusterRole everywhere; a RoleBinding grants its
   * Role (or a ClusterRole) only in its own namespace. `system:masters` is never refused.
   * Nothing is denied explicitly: RBAC only adds permissions.
   * https://kubernetes.io/docs/reference/access-authn-authz/rbac/#rolebinding-and-clusterrolebinding
   */
  authorize(identity: FakeIdentity, request: RequestAttributes): boolean {
    if (identity.groups.includes('system:masters')) return true;
    const live = (o: JsonObject) => !(o.metadata as JsonObject).deletionTimestamp;
    const rulesOf = (kind: 'Role' | 'ClusterRole', namespace: string | undefined, name: unknown): PolicyRule[] => {
      const role = typeof name === 'string' ? this.get(this.typeOf(kind), namespace, name) : undefined;
      return role && live(role) ? ((role.rules as PolicyRule[] | undefined) ?? []) : [];
    };
    const bound = (binding: JsonObject, namespace: string | undefined) => live(binding) && ((binding.subjects as Subject[] | undefined) ?? []).some((s) => subjectMatches(s, identity, namespace));
    const rules: PolicyRule[] = [];
    for (const binding of this.list('ClusterRoleBinding')) {
      if (bound(binding, undefined)) rules.push(...rulesOf('ClusterRole', undefined, (binding.roleRef as JsonObject | undefined)?.name));
    }
    if (request.namespace !== undefined) {
      for (const binding of this.list('RoleBinding', request.namespace)) {
        if (!bound(binding, request.namespace)) continue;
        const ref = (binding.roleRef as JsonObject | undefined) ?? {};
        rules.push(...(ref.kind === 'ClusterRole' ? rulesOf('ClusterRole', undefined, ref.name) : rulesOf('Role', request.namespace, ref.name)));
      }
    }
    return rules.some((rule) => ruleAllows(rule, request));
  }

  typeOf(kind: string): ResourceType {
    const type = RESOURCES.find((r) => r.kind === kind);
    if (!type) throw new Error(`unknown kind ${kind}`);
    return type;
  }

  private key(type: ResourceType, namespace: string | undefined, name: string): string {
    return `${type.kind}/${type.namespaced ? (namespace ?? '') : ''}/${name}`;
  }

  private nextVersion(): string {
    this.resourceVersion += 1;
    return String(this.resourceVersion);
  }

  private put(type: ResourceType, object: JsonObject): void {
    const meta = object.metadata as JsonObject;
    this.store.set(this.key(type, meta.namespace as string | undefined, meta.name as string), object);
  }

  get(type: ResourceType, namespace: string | undefined, name: string): JsonObject | undefined {
    return this.store.get(this.key(type, namespace, name));
  }

  list(kind: string, namespace?: string): JsonObject[] {
    return [...this.store.values()].filter((o) => o.kind === kind && (namespace === undefined || (o.metadata as JsonObject).namespace === namespace));
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

  /**
   * DELETE. Background: the object goes now, its dependents on a later garbage-collector pass.
   * Foreground and Orphan: the object stays with `deletionTimestamp` and the `foregroundDeletion`
   * or `orphan` finalizer until the collector has dealt with its dependents. A namespace becomes
   * `Terminating` until the namespace controller emptied it. Returns the object when it is still
   * there, undefined when it is gone.
   * https://kubernetes.io/docs/concepts/architecture/garbage-collection/#cascading-deletion
   * https://kubernetes.io/docs/concepts/overview/working-with-objects/finalizers/
   */
  delete(type: ResourceType, namespace: string | undefined, name: string, policy: Propagation = 'Background'): JsonObject | undefined {
    const key = this.key(type, namespace, name);
    const object = this.store.get(key);
    if (!object) return undefined;
    const meta = object.metadata as JsonObject;
    // Deleting what is already being deleted changes nothing.
    if (meta.deletionTimestamp) return structuredClone(object);
    if (type.kind === 'Namespace' || policy !== 'Background') {
      meta.deletionTimestamp = new Date().toISOString();
      if (type.kind === 'Namespace') object.status = { phase: 'Terminating' };
      else meta.finalizers = [...((meta.finalizers as Json[] | undefined) ?? []), policy === 'Foreground' ? 'foregroundDeletion' : 'orphan'];
      meta.resourceVersion = this.nextVersion();
      return structuredClone(object);
    }
    this.remove(key);
    return undefined;
  }

  private remove(key: string): void {
    this.store.delete(key);
    this.owners.delete(key);
    this.pods.delete(key);
    this.deployments.delete(key);
    this.resourceVersion += 1;
  }

  private keyOf(object: JsonObject): string {
    const meta = object.metadata as JsonObject;
    return this.key(this.typeOf(object.kind as string), meta.namespace as string | undefined, meta.name as string);
  }

  /**
   * One pass of the garbage collector and of the namespace controller's cleanup, as a real
   * cluster runs them: asynchronously, after the DELETE answered.
   * - A dependent whose owners (by ownerReferences uid) are all gone is deleted (in the
   *   background, so its own dependents go on a later pass).
   * - Dependents of an owner in foreground deletion are deleted in the foreground too; the owner
   *   goes once nothing refers to it.
   * - Owner references to an owner in orphan deletion are removed; then the owner goes.
   * - A Terminating namespace is emptied, then removed.
   * https://kubernetes.io/docs/concepts/architecture/garbage-collection/#owners-dependents
   */
  collectGarbage(): void {
    const byUid = new Map([...this.store.values()].map((o) => [(o.metadata as JsonObject).uid as string, o]));
    const finalizing = (owner: JsonObject | undefined, finalizer: string) => ((owner?.metadata as JsonObject | undefined)?.finalizers as Json[] | undefined)?.includes(finalizer) ?? false;
    for (const object of [...this.store.values()]) {
      const meta = object.metadata as JsonObject;
      const refs = (meta.ownerReferences as JsonObject[] | undefined) ?? [];
      if (refs.length === 0) continue;
      const kept = refs.filter((ref) => byUid.has(ref.uid as string) && !finalizing(byUid.get(ref.uid as string), 'orphan'));
      const type = this.typeOf(object.kind as string);
      if (kept.length === 0 && !refs.some((ref) => finalizing(byUid.get(ref.uid as string), 'orphan'))) {
        this.delete(type, meta.namespace as string | undefined, meta.name as string);
        continue;
      }
      if (kept.length !== refs.length) {
        meta.ownerReferences = kept;
        if (kept.length === 0) delete meta.ownerReferences;
        meta.resourceVersion = this.nextVersion();
      }
      if (kept.some((ref) => finalizing(byUid.get(ref.uid as string), 'foregroundDeletion'))) {
        this.delete(type, meta.namespace as string | undefined, meta.name as string, 'Foreground');
      }
    }
    const referenced = new Set([...this.store.values()].flatMap((o) => ((o.metadata as JsonObject).ownerReferences as JsonObject[] | undefined ?? []).map((ref) => ref.uid as string)));
    for (const object of [...this.store.values()]) {
      const meta = object.metadata as JsonObject;
      if (!meta.deletionTimestamp) continue;
      if (object.kind === 'Namespace') {
        const inside = [...this.store.values()].filter((o) => (o.metadata as JsonObject).namespace === meta.name);
        for (const item of inside) this.delete(this.typeOf(item.kind as string), meta.name as string, (item.metadata as JsonObject).name as string);
        if (inside.length === 0) this.remove(this.keyOf(object));
      } else if (!referenced.has(meta.uid as string)) {
        this.remove(this.keyOf(object));
      }
    }
  }

  apply(type: ResourceType, namespace: string | undefined, name: string, body: string, manager: string | undefined, force: boolean, dryRun: boolean): ApplyResult {
    if (!manager) {
      return { error: statusBody(422, 'Invalid', 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch', { group: 'meta.k8s.io', kind: 'PatchOptions', causes: [{ reason: 'FieldValueRequired', message: 'Required value: is required for apply patch', field: 'fieldManager' }] }) };
    }
    let patch: unknown;
    try {
      patch = loadYaml(body);
    } catch (err) {
      return { error: statusBody(400, 'BadRequest', `error decoding YAML: ${err instanceof Error ? err.message : String(err)}`) };
    }
    if (!isObject(patch)) return { error: statusBody(400, 'BadRequest', 'the apply patch is not an object') };
    const applied = structuredClone(patch) as JsonObject;
    if (applied.apiVersion !== apiVersionOf(type) || applied.kind !== type.kind) {
      return { error: statusBody(400, 'BadRequest', `the API version in the data (${String(applied.apiVersion)}) and kind (${String(applied.kind)}) do not match the URL (${apiVersionOf(type)} ${type.kind})`) };
    }
    const meta = isObject(applied.metadata) ? applied.metadata : {};
    applied.metadata = meta;
    if (meta.name !== undefined && meta.name !== name) {
      return { error: statusBody(400, 'BadRequest', `the name of the object (${String(meta.name)}) does not match the name on the URL (${name})`) };
    }
    if (type.namespaced && meta.namespace !== undefined && meta.namespace !== namespace) {
      return { error: statusBody(400, 'BadRequest', 'the namespace of the provided object does not match the namespace sent on the request') };
    }
    if (meta.managedFields !== undefined) {
      return { error: statusBody(400, 'BadRequest', 'metadata.managedFields must be nil') };
    }
    meta.name = name;
    const key = this.key(type, namespace, name);
    const existing = this.store.get(key);
    if (type.namespaced) {
      meta.namespace = namespace ?? 'default';
      const home = this.get(this.typeOf('Namespace'), undefined, meta.namespace as string);
      if (!home) {
        return { error: statusBody(404, 'NotFound', `namespaces "${String(meta.namespace)}" not found`, { name: meta.namespace as string, kind: 'namespaces' }) };
      }
      // The NamespaceLifecycle admission plugin: nothing new in a namespace being deleted.
      // https://kubernetes.io/docs/reference/access-authn-authz/admission-controllers/#namespacelifecycle
      if (!existing && (home.metadata as JsonObject).deletionTimestamp) {
        return { error: statusBody(403, 'Forbidden', `${qualifiedPlural(type)} "${name}" is forbidden: unable to create new content in namespace ${String(meta.namespace)} because it is being terminated`, { name, group: type.group, kind: type.plural, causes: [{ reason: 'NamespaceTerminating', message: `namespace ${String(meta.namespace)} is being terminated`, field: 'metadata.namespace' }] }) };
      }
    }

    const owners = new Map([...(this.owners.get(key) ?? new Map<string, Set<string>>()).entries()].map(([m, paths]) => [m, new Set(paths)]));
    const appliedPaths = new Set(leafPaths(applied));

    // Conflicts: another manager owns a field we set to a different value.
    // https://kubernetes.io/docs/reference/using-api/server-side-apply/#conflicts
    const conflicts: string[] = [];
    if (existing) {
      for (const [other, paths] of owners) {
        if (other === manager) continue;
        for (const path of paths) {
          if (!appliedPaths.has(path)) continue;
          const segments = splitPath(path);
          if (JSON.stringify(getPath(existing, segments)) !== JSON.stringify(getPath(applied, segments))) conflicts.push(`conflict with "${other}": .${segments.join('.')}`);
        }
      }
    }
    if (conflicts.length > 0 && !force) {
      return { error: statusBody(409, 'Conflict', `Apply failed with ${conflicts.length} conflict${conflicts.length === 1 ? '' : 's'}: ${conflicts.join(', ')}`, { name, group: type.group, kind: type.plural, causes: conflicts.map((c) => ({ reason: 'FieldManagerConflict', message: c, field: c.split(': ')[1] ?? '' })) }) };
    }
    for (const [other, paths] of owners) if (other !== manager) for (const path of appliedPaths) paths.delete(path);

    const merged: JsonObject = existing ? structuredClone(existing) : { apiVersion: apiVersionOf(type), kind: type.kind, metadata: {} };
    // Fields this manager applied last time and no longer applies are removed, unless someone else owns them.
    const previous = owners.get(manager) ?? new Set<string>();
    for (const path of previous) {
      if (appliedPaths.has(path)) continue;
      if ([...owners].some(([other, paths]) => other !== manager && paths.has(path))) continue;
      deletePath(merged, splitPath(path));
    }
    for (const path of appliedPaths) setPath(merged, splitPath(path), structuredClone(getPath(applied, splitPath(path)) ?? null));
    owners.set(manager, appliedPaths);
    for (const [other, paths] of owners) if (paths.size === 0) owners.delete(other);
    const identity = merged.metadata as JsonObject;
    identity.name = name;
    if (type.namespaced) identity.namespace = meta.namespace as string;
    applyDefaults(type, merged);

    const causes = validate(type, merged, existing);
    if (causes.length > 0) {
      const message = `${type.kind}${type.group === '' ? '' : `.${type.group}`} "${name}" is invalid: ${causes.map((c) => `${c.field}: ${c.message}`).join(', ')}`;
      return { error: statusBody(422, 'Invalid', message, { name, group: type.group, kind: type.kind, causes: causes.map((c) => ({ reason: c.reason, message: c.message, field: c.field })) }) };
    }

    const mergedMeta = merged.metadata as JsonObject;
    const now = new Date().toISOString();
    if (!existing) {
      mergedMeta.uid = uid();
      mergedMeta.creationTimestamp = now;
      if ('spec' in merged) mergedMeta.generation = 1;
    } else {
      const unchanged = JSON.stringify(stripVolatile(existing)) === JSON.stringify(stripVolatile(merged));
      // An apply that changes nothing is not written: same resourceVersion, same generation
      // (https://kubernetes.io/blog/2022/10/20/advanced-server-side-apply/). `generation` counts
      // changes to the desired state only, i.e. `spec` (api-conventions.md#metadata).
      if (unchanged) return { object: structuredClone(existing), created: false };
      if (JSON.stringify(existing.spec) !== JSON.stringify(merged.spec)) mergedMeta.generation = Number((existing.metadata as JsonObject).generation ?? 0) + 1;
    }
    mergedMeta.managedFields = [...owners].map(([m, paths]) => ({ manager: m, operation: 'Apply', apiVersion: apiVersionOf(type), time: now, fieldsType: 'FieldsV1', fieldsV1: toFieldsV1(paths) }));
    if (type.kind === 'Namespace') merged.status = { phase: mergedMeta.deletionTimestamp ? 'Terminating' : 'Active' };
    if (dryRun) return { object: merged, created: !existing };
    mergedMeta.resourceVersion = this.nextVersion();
    this.store.set(key, merged);
    this.owners.set(key, owners);
    return { object: structuredClone(merged), created: !existing };
  }

  // -------------------------------------------------------------- controllers

  /** While above zero, collectGarbage does not run (see FakeKubeApi.holdGarbageCollection). */
  gcHolds = 0;

  reconcile(): void {
    if (this.gcHolds === 0) this.collectGarbage();
    // The deployment controller leaves a Deployment that is being deleted alone.
    for (const deployment of this.list('Deployment')) if (!(deployment.metadata as JsonObject).deletionTimestamp) this.reconcileDeployment(deployment);
    for (const pod of this.list('Pod')) this.reconcilePod(pod);
  }

  private reconcileDeployment(deployment: JsonObject): void {
    const meta = deployment.metadata as JsonObject;
    const namespace = meta.namespace as string;
    const name = meta.name as string;
    const key = this.key(this.typeOf('Deployment'), namespace, name);
    const spec = deployment.spec as JsonObject;
    const template = spec.template as JsonObject;
    const desired = Number(spec.replicas ?? 1);
    const hash = templateHash(template);
    const now = Date.now();
    const runtime = this.deployments.get(key) ?? { lastProgressAt: now, lastTemplateHash: '', lastReadyNew: -1 };
    this.deployments.set(key, runtime);

    const owned = this.list('ReplicaSet', namespace).filter((rs) => ((rs.metadata as JsonObject).ownerReferences as JsonObject[] | undefined)?.some((ref) => ref.uid === meta.uid));
    const revisionOf = (rs: JsonObject) => Number(((rs.metadata as JsonObject).annotations as JsonObject | undefined)?.['deployment.kubernetes.io/revision'] ?? 0);
    const maxRevision = Math.max(0, ...owned.map(revisionOf));
    let newRs = owned.find((rs) => ((rs.metadata as JsonObject).labels as JsonObject | undefined)?.['pod-template-hash'] === hash);
    if (runtime.lastTemplateHash !== hash) {
      runtime.lastTemplateHash = hash;
      runtime.lastProgressAt = now;
      runtime.lastReadyNew = -1;
      if (!newRs) {
        newRs = this.createReplicaSet(deployment, hash, maxRevision + 1);
        this.event(deployment, 'Normal', 'ScalingReplicaSet', `Scaled up replica set ${String((newRs.metadata as JsonObject).name)} from 0 to 1`, 'deployment-controller');
      } else if (revisionOf(newRs) !== maxRevision) {
        // Rolling back to an earlier template reuses its ReplicaSet and gives it the next revision.
        ((newRs.metadata as JsonObject).annotations as JsonObject)['deployment.kubernetes.io/revision'] = String(maxRevision + 1);
      }
    }
    if (!newRs) return;
    const newName = (newRs.metadata as JsonObject).name as string;
    if (!isObject(meta.annotations)) meta.annotations = {};
    (meta.annotations as JsonObject)['deployment.kubernetes.io/revision'] = ((newRs.metadata as JsonObject).annotations as JsonObject)['deployment.kubernetes.io/revision'] ?? '1';
    const oldSets = owned.filter((rs) => rs !== newRs);

    const strategy = (spec.strategy as JsonObject | undefined)?.rollingUpdate as JsonObject | undefined;
    const surge = resolveIntOrPercent(strategy?.maxSurge ?? '25%', desired, true);
    const unavailable = resolveIntOrPercent(strategy?.maxUnavailable ?? '25%', desired, false);
    const replicasOf = (rs: JsonObject) => Number((rs.spec as JsonObject).replicas ?? 0);
    const readyIn = (rs: JsonObject) => this.podsOf(rs).filter((p) => isPodReady(p)).length;

    // Scale the new ReplicaSet up within the surge budget.
    // https://kubernetes.io/docs/concepts/workloads/controllers/deployment/#max-surge
    const total = replicasOf(newRs) + oldSets.reduce((sum, rs) => sum + replicasOf(rs), 0);
    const room = desired + surge - total;
    if (replicasOf(newRs) < desired && room > 0) this.scale(deployment, newRs, Math.min(desired, replicasOf(newRs) + room));
    if (replicasOf(newRs) > desired) this.scale(deployment, newRs, desired);
    // Scale old ReplicaSets down: unready pods first, ready ones only while enough stay available.
    const available = readyIn(newRs) + oldSets.reduce((sum, rs) => sum + readyIn(rs), 0);
    let budget = Math.max(0, available - (desired - unavailable));
    for (const rs of oldSets) {
      const current = replicasOf(rs);
      if (current === 0) continue;
      const unready = current - readyIn(rs);
      const cut = Math.min(current, unready + budget);
      budget -= Math.max(0, cut - unready);
      if (cut > 0) this.scale(deployment, rs, current - cut);
    }
    for (const rs of owned) this.reconcileReplicaSet(rs);

    const allPods = owned.flatMap((rs) => this.podsOf(rs));
    const newPods = this.podsOf(newRs);
    const readyNew = newPods.filter((p) => isPodReady(p)).length;
    const readyAll = allPods.filter((p) => isPodReady(p)).length;
    if (readyNew > runtime.lastReadyNew) {
      runtime.lastReadyNew = readyNew;
      runtime.lastProgressAt = now;
    }
    const complete = newPods.length === desired && readyNew === desired && allPods.length === desired;
    const deadline = Number(spec.progressDeadlineSeconds ?? 600) * 1000;
    const status: JsonObject = {
      observedGeneration: meta.generation ?? 1,
      replicas: allPods.length,
      updatedReplicas: newPods.length,
      readyReplicas: readyAll,
      availableReplicas: readyAll,
      unavailableReplicas: Math.max(0, allPods.length - readyAll),
    };
    const stamp = new Date(now).toISOString();
    const previous = ((deployment.status as JsonObject | undefined)?.conditions as JsonObject[] | undefined) ?? [];
    const condition = (type: string, value: string, reason: string, message: string): JsonObject => {
      const before = previous.find((c) => c.type === type);
      const same = before?.status === value && before.reason === reason;
      return { type, status: value, lastUpdateTime: same ? (before.lastUpdateTime ?? stamp) : stamp, lastTransitionTime: before?.status === value ? (before.lastTransitionTime ?? stamp) : stamp, reason, message };
    };
    // Conditions as the deployment controller sets them:
    // https://kubernetes.io/docs/concepts/workloads/controllers/deployment/#deployment-status
    const availableOk = readyAll >= desired - unavailable;
    const progressing = complete
      ? condition('Progressing', 'True', 'NewReplicaSetAvailable', `ReplicaSet "${newName}" has successfully progressed.`)
      : now - runtime.lastProgressAt > deadline
        ? condition('Progressing', 'False', 'ProgressDeadlineExceeded', `ReplicaSet "${newName}" has timed out progressing.`)
        : condition('Progressing', 'True', 'ReplicaSetUpdated', `ReplicaSet "${newName}" is progressing.`);
    status.conditions = [
      condition('Available', availableOk ? 'True' : 'False', availableOk ? 'MinimumReplicasAvailable' : 'MinimumReplicasUnavailable', availableOk ? 'Deployment has minimum availability.' : 'Deployment does not have minimum availability.'),
      progressing,
    ];
    if (JSON.stringify(status) !== JSON.stringify(deployment.status)) {
      deployment.status = status;
      meta.resourceVersion = this.nextVersion();
    }
  }

  private createReplicaSet(deployment: JsonObject, hash: string, revision: number): JsonObject {
    const meta = deployment.metadata as JsonObject;
    const spec = deployment.spec as JsonObject;
    const template = structuredClone(spec.template as JsonObject);
    const templateMeta = (template.metadata as JsonObject | undefined) ?? {};
    template.metadata = templateMeta;
    templateMeta.labels = { ...((templateMeta.labels as JsonObject | undefined) ?? {}), 'pod-template-hash': hash };
    const selector = structuredClone((spec.selector as JsonObject | undefined) ?? {});
    selector.matchLabels = { ...((selector.matchLabels as JsonObject | undefined) ?? {}), 'pod-template-hash': hash };
    const rs: JsonObject = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: {
        name: `${String(meta.name)}-${hash}`,
        namespace: meta.namespace ?? 'default',
        uid: uid(),
        resourceVersion: this.nextVersion(),
        generation: 1,
        creationTimestamp: new Date().toISOString(),
        labels: templateMeta.labels,
        annotations: { 'deployment.kubernetes.io/revision': String(revision) },
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: meta.name ?? '', uid: meta.uid ?? '', controller: true, blockOwnerDeletion: true }],
      },
      spec: { replicas: 0, selector, template },
      status: { replicas: 0, observedGeneration: 1 },
    };
    this.put(this.typeOf('ReplicaSet'), rs);
    return rs;
  }

  private scale(deployment: JsonObject, rs: JsonObject, replicas: number): void {
    const spec = rs.spec as JsonObject;
    const from = Number(spec.replicas ?? 0);
    if (from === replicas) return;
    spec.replicas = replicas;
    const meta = rs.metadata as JsonObject;
    meta.generation = Number(meta.generation ?? 1) + 1;
    meta.resourceVersion = this.nextVersion();
    this.event(deployment, 'Normal', 'ScalingReplicaSet', `Scaled ${replicas > from ? 'up' : 'down'} replica set ${String(meta.name)} from ${from} to ${replicas}`, 'deployment-controller');
  }

  private podsOf(rs: JsonObject): JsonObject[] {
    const uidOf = (rs.metadata as JsonObject).uid;
    return this.list('Pod', (rs.metadata as JsonObject).namespace as string).filter((p) => ((p.metadata as JsonObject).ownerReferences as JsonObject[] | undefined)?.some((ref) => ref.uid === uidOf));
  }

  private reconcileReplicaSet(rs: JsonObject): void {
    const meta = rs.metadata as JsonObject;
    const want = Number((rs.spec as JsonObject).replicas ?? 0);
    const pods = this.podsOf(rs);
    for (let i = pods.length; i < want; i += 1) this.createPod(rs);
    if (pods.length > want) {
      const doomed = [...pods].sort((a, b) => Number(isPodReady(a)) - Number(isPodReady(b))).slice(0, pods.length - want);
      for (const pod of doomed) {
        this.delete(this.typeOf('Pod'), meta.namespace as string, (pod.metadata as JsonObject).name as string);
        this.event(rs, 'Normal', 'SuccessfulDelete', `Deleted pod: ${String((pod.metadata as JsonObject).name)}`, 'replicaset-controller');
      }
    }
    const now = this.podsOf(rs);
    const ready = now.filter((p) => isPodReady(p)).length;
    rs.status = { replicas: now.length, readyReplicas: ready, availableReplicas: ready, fullyLabeledReplicas: now.length, observedGeneration: meta.generation ?? 1 };
  }

  private createPod(rs: JsonObject): void {
    const meta = rs.metadata as JsonObject;
    const template = structuredClone((rs.spec as JsonObject).template as JsonObject);
    const podSpec = template.spec as JsonObject;
    const name = `${String(meta.name)}-${randomBytes(3).toString('hex').slice(0, 5)}`;
    const container = ((podSpec.containers as JsonObject[] | undefined) ?? [])[0] ?? {};
    const pod: JsonObject = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name,
        namespace: meta.namespace ?? 'default',
        uid: uid(),
        resourceVersion: this.nextVersion(),
        creationTimestamp: new Date().toISOString(),
        labels: (template.metadata as JsonObject | undefined)?.labels ?? {},
        annotations: (template.metadata as JsonObject | undefined)?.annotations ?? {},
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: meta.name ?? '', uid: meta.uid ?? '', controller: true, blockOwnerDeletion: true }],
      },
      spec: { ...podSpec, nodeName: 'fake-node' },
      status: { phase: 'Pending', conditions: [{ type: 'Ready', status: 'False' }] },
    };
    this.put(this.typeOf('Pod'), pod);
    this.pods.set(this.key(this.typeOf('Pod'), meta.namespace as string, name), { createdAt: Date.now(), behaviour: behaviourOf(container), restarts: 0, readyLogged: false });
    this.event(rs, 'Normal', 'SuccessfulCreate', `Created pod: ${name}`, 'replicaset-controller');
    this.event(pod, 'Normal', 'Scheduled', `Successfully assigned ${String(meta.namespace)}/${name} to fake-node`, 'default-scheduler');
  }

  private reconcilePod(pod: JsonObject): void {
    const meta = pod.metadata as JsonObject;
    const runtime = this.pods.get(this.key(this.typeOf('Pod'), meta.namespace as string, meta.name as string));
    if (!runtime) return;
    const age = Date.now() - runtime.createdAt;
    if (age < this.readyAfterMs) return;
    const container = ((pod.spec as JsonObject).containers as JsonObject[])[0] ?? {};
    const containerName = String(container.name ?? 'main');
    const image = String(container.image ?? '');
    const startedAt = new Date(runtime.createdAt).toISOString();
    let status: JsonObject;
    switch (runtime.behaviour) {
      case 'healthy':
        status = {
          phase: 'Running',
          podIP: (pod.status as JsonObject).podIP ?? `10.244.0.${this.podIp++ % 250}`,
          conditions: [{ type: 'Ready', status: 'True' }, { type: 'ContainersReady', status: 'True' }],
          containerStatuses: [{ name: containerName, image, ready: true, started: true, restartCount: 0, state: { running: { startedAt } } }],
        };
        if (!runtime.readyLogged) {
          runtime.readyLogged = true;
          this.event(pod, 'Normal', 'Started', `Started container ${containerName}`, 'kubelet');
        }
        break;
      case 'never-ready':
        status = {
          phase: 'Running',
          podIP: (pod.status as JsonObject).podIP ?? `10.244.0.${this.podIp++ % 250}`,
          conditions: [{ type: 'Ready', status: 'False', reason: 'ContainersNotReady', message: `containers with unready status: [${containerName}]` }],
          containerStatuses: [{ name: containerName, image, ready: false, started: true, restartCount: 0, state: { running: { startedAt } } }],
        };
        this.event(pod, 'Warning', 'Unhealthy', 'Readiness probe failed: HTTP probe failed with statuscode: 503', 'kubelet');
        break;
      case 'crash-loop':
      case 'oom-killed': {
        runtime.restarts = Math.floor(age / Math.max(this.readyAfterMs, 1));
        const oom = runtime.behaviour === 'oom-killed';
        status = {
          phase: 'Running',
          conditions: [{ type: 'Ready', status: 'False', reason: 'ContainersNotReady', message: `containers with unready status: [${containerName}]` }],
          containerStatuses: [{
            name: containerName, image, ready: false, started: false, restartCount: runtime.restarts,
            state: { waiting: { reason: 'CrashLoopBackOff', message: `back-off restarting failed container ${containerName}` } },
            lastState: { terminated: { exitCode: oom ? 137 : 1, reason: oom ? 'OOMKilled' : 'Error', startedAt, finishedAt: new Date().toISOString() } },
          }],
        };
        this.event(pod, 'Warning', 'BackOff', `Back-off restarting failed container ${containerName} in pod ${String(meta.name)}`, 'kubelet');
        break;
      }
    }
    if (JSON.stringify(status) !== JSON.stringify(pod.status)) {
      pod.status = status;
      meta.resourceVersion = this.nextVersion();
    }
  }

  private event(object: JsonObject, type: 'Normal' | 'Warning', reason: string, message: string, component: string): void {
    const meta = object.metadata as JsonObject;
    const namespace = (meta.namespace as string | undefined) ?? 'default';
    const now = new Date().toISOString();
    const same = this.list('Event', namespace).find((e) => (e.involvedObject as JsonObject).uid === meta.uid && e.reason === reason && e.message === message);
    if (same) {
      same.count = Number(same.count ?? 1) + 1;
      same.lastTimestamp = now;
      return;
    }
    this.put(this.typeOf('Event'), {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: `${String(meta.name)}.${randomBytes(8).toString('hex')}`, namespace, uid: uid(), resourceVersion: this.nextVersion(), creationTimestamp: now },
      involvedObject: { apiVersion: object.apiVersion ?? 'v1', kind: object.kind ?? '', name: meta.name ?? '', namespace, uid: meta.uid ?? '' },
      reason,
      message,
      type,
      count: 1,
      firstTimestamp: now,
      lastTimestamp: now,
      source: { component },
      reportingComponent: component,
    });
  }

  podLog(namespace: string, name: string, tailLines: number): string | undefined {
    const pod = this.get(this.typeOf('Pod'), namespace, name);
    if (!pod) return undefined;
    const runtime = this.pods.get(this.key(this.typeOf('Pod'), namespace, name));
    const container = ((pod.spec as JsonObject).containers as JsonObject[])[0] ?? {};
    const custom = ((container.env as JsonObject[] | undefined) ?? []).find((e) => e.name === 'FAKE_KUBE_POD_LOG')?.value;
    const lines = typeof custom === 'string'
      ? custom.split('\n')
      : {
          'healthy': ['{"level":"info","msg":"model loaded"}', '{"level":"info","msg":"server listening on 0.0.0.0:8080"}', '{"level":"info","msg":"ready"}'],
          'never-ready': ['{"level":"info","msg":"model loaded"}', '{"level":"error","msg":"warm-up inference failed; /readyz stays 503"}'],
          'crash-loop': ['{"level":"fatal","msg":"cannot read /model/MLmodel: no such file or directory"}'],
          'oom-killed': ['{"level":"info","msg":"loading model"}'],
        }[runtime?.behaviour ?? 'healthy'];
    return `${(tailLines > 0 ? lines.slice(-tailLines) : lines).join('\n')}\n`;
  }

  /** Endpoints are computed the way the endpoints controller would: ready pods the Service selects. */
  endpoints(namespace: string, name: string): JsonObject | undefined {
    const service = this.get(this.typeOf('Service'), namespace, name);
    if (!service) return undefined;
    const selector = ((service.spec as JsonObject).selector as Record<string, string> | undefined) ?? {};
    const ready = this.selectedPods(namespace, selector).filter((p) => isPodReady(p));
    return {
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: { name, namespace, uid: uid(), resourceVersion: String(this.resourceVersion) },
      subsets: ready.length === 0 ? [] : [{ addresses: ready.map((p) => ({ ip: (p.status as JsonObject).podIP ?? '', targetRef: { kind: 'Pod', name: (p.metadata as JsonObject).name ?? '', namespace } })) }],
    };
  }

  servedImages(namespace: string, serviceName: string): string[] {
    const service = this.get(this.typeOf('Service'), namespace, serviceName);
    if (!service) return [];
    const selector = ((service.spec as JsonObject).selector as Record<string, string> | undefined) ?? {};
    return this.selectedPods(namespace, selector).filter((p) => isPodReady(p)).map((p) => String((((p.spec as JsonObject).containers as JsonObject[])[0] ?? {}).image ?? ''));
  }

  private selectedPods(namespace: string, selector: Record<string, string>): JsonObject[] {
    if (Object.keys(selector).length === 0) return [];
    return this.list('Pod', namespace).filter((p) => {
      const labels = ((p.metadata as JsonObject).labels as Record<string, string> | undefined) ?? {};
      return Object.entries(selector).every(([k, v]) => labels[k] === v);
    });
  }
}

// ---------------------------------------------------------------- validation

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const QUANTITY = /^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$/;

function validate(type: ResourceType, object: JsonObject, existing: JsonObject | undefined): Cause[] {
  const causes: Cause[] = [];
  const meta = object.metadata as JsonObject;
  const name = String(meta.name ?? '');
  const nameRule = type.kind === 'Service' || type.kind === 'Namespace' ? DNS_LABEL : DNS_SUBDOMAIN;
  if (!nameRule.test(name) || name.length > (nameRule === DNS_LABEL ? 63 : 253)) {
    causes.push({ field: 'metadata.name', reason: 'FieldValueInvalid', message: `Invalid value: "${name}": a lowercase RFC 1123 ${nameRule === DNS_LABEL ? 'label' : 'subdomain'} must consist of lower case alphanumeric characters or '-'` });
  }
  for (const [key, value] of Object.entries((meta.labels as JsonObject | undefined) ?? {})) {
    if (typeof value !== 'string' || value.length > 63 || !LABEL_VALUE.test(value)) {
      causes.push({ field: `metadata.labels`, reason: 'FieldValueInvalid', message: `Invalid value: "${String(value)}": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (label ${key})` });
    }
  }
  const annotationBytes = JSON.stringify(meta.annotations ?? {}).length;
  if (annotationBytes > 256 * 1024) causes.push({ field: 'metadata.annotations', reason: 'FieldValueInvalid', message: 'Too long: must have at most 262144 bytes' });

  if (type.kind === 'Deployment') {
    const spec = (object.spec as JsonObject | undefined) ?? {};
    const selector = spec.selector as JsonObject | undefined;
    const template = spec.template as JsonObject | undefined;
    if (!selector || Object.keys((selector.matchLabels as JsonObject | undefined) ?? {}).length === 0) {
      causes.push({ field: 'spec.selector', reason: 'FieldValueRequired', message: 'Required value' });
    } else {
      const labels = ((template?.metadata as JsonObject | undefined)?.labels as JsonObject | undefined) ?? {};
      const matches = Object.entries(selector.matchLabels as JsonObject).every(([k, v]) => labels[k] === v);
      if (!matches) causes.push({ field: 'spec.template.metadata.labels', reason: 'FieldValueInvalid', message: `Invalid value: ${JSON.stringify(labels)}: \`selector\` does not match template \`labels\`` });
      if (existing && JSON.stringify((existing.spec as JsonObject).selector) !== JSON.stringify(selector)) {
        causes.push({ field: 'spec.selector', reason: 'FieldValueInvalid', message: `Invalid value: ${JSON.stringify(selector)}: field is immutable` });
      }
    }
    if (Number(spec.replicas ?? 1) < 0) causes.push({ field: 'spec.replicas', reason: 'FieldValueInvalid', message: `Invalid value: ${String(spec.replicas)}: must be greater than or equal to 0` });
    const rolling = (spec.strategy as JsonObject | undefined)?.rollingUpdate as JsonObject | undefined;
    if (rolling && String(rolling.maxSurge) === '0' && String(rolling.maxUnavailable) === '0') {
      causes.push({ field: 'spec.strategy.rollingUpdate.maxUnavailable', reason: 'FieldValueInvalid', message: 'Invalid value: 0: may not be 0 when `maxSurge` is 0' });
    }
    causes.push(...validatePodSpec((template?.spec as JsonObject | undefined) ?? {}, 'spec.template.spec'));
  }
  if (type.kind === 'Service') {
    const spec = (object.spec as JsonObject | undefined) ?? {};
    const ports = (spec.ports as JsonObject[] | undefined) ?? [];
    if (ports.length === 0 && spec.clusterIP !== 'None') causes.push({ field: 'spec.ports', reason: 'FieldValueRequired', message: 'Required value' });
    ports.forEach((port, i) => {
      const value = Number(port.port);
      if (!Number.isInteger(value) || value < 1 || value > 65535) causes.push({ field: `spec.ports[${i}].port`, reason: 'FieldValueInvalid', message: `Invalid value: ${String(port.port)}: must be between 1 and 65535, inclusive` });
    });
  }
  if (type.kind === 'HorizontalPodAutoscaler') {
    const spec = (object.spec as JsonObject | undefined) ?? {};
    if (!spec.scaleTargetRef) causes.push({ field: 'spec.scaleTargetRef', reason: 'FieldValueRequired', message: 'Required value' });
    if (Number(spec.maxReplicas ?? 0) < 1) causes.push({ field: 'spec.maxReplicas', reason: 'FieldValueInvalid', message: `Invalid value: ${String(spec.maxReplicas)}: must be greater than or equal to 1` });
    if (spec.minReplicas !== undefined && Number(spec.minReplicas) > Number(spec.maxReplicas)) {
      causes.push({ field: 'spec.minReplicas', reason: 'FieldValueInvalid', message: `Invalid value: ${String(spec.minReplicas)}: must be less than or equal to maxReplicas` });
    }
  }
  return causes;
}

function validatePodSpec(spec: JsonObject, path: string): Cause[] {
  const causes: Cause[] = [];
  const containers = (spec.containers as JsonObject[] | undefined) ?? [];
  if (containers.length === 0) causes.push({ field: `${path}.containers`, reason: 'FieldValueRequired', message: 'Required value' });
  containers.forEach((container, i) => {
    const at = `${path}.containers[${i}]`;
    if (!container.name) causes.push({ field: `${at}.name`, reason: 'FieldValueRequired', message: 'Required value' });
    else if (!DNS_LABEL.test(String(container.name))) causes.push({ field: `${at}.name`, reason: 'FieldValueInvalid', message: `Invalid value: "${String(container.name)}": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-'` });
    if (!container.image) causes.push({ field: `${at}.image`, reason: 'FieldValueRequired', message: 'Required value' });
    ((container.ports as JsonObject[] | undefined) ?? []).forEach((port, j) => {
      const value = Number(port.containerPort);
      if (!Number.isInteger(value) || value < 1 || value > 65535) causes.push({ field: `${at}.ports[${j}].containerPort`, reason: 'FieldValueInvalid', message: `Invalid value: ${String(port.containerPort)}: must be between 1 and 65535, inclusive` });
    });
    const resources = (container.resources as JsonObject | undefined) ?? {};
    const limits = (resources.limits as JsonObject | undefined) ?? {};
    const requests = (resources.requests as JsonObject | undefined) ?? {};
    for (const [kind, group] of [['limits', limits], ['requests', requests]] as const) {
      for (const [resource, value] of Object.entries(group)) {
        if (parseQuantity(value) === undefined) causes.push({ field: `${at}.resources.${kind}[${resource}]`, reason: 'FieldValueInvalid', message: `Invalid value: "${String(value)}": must match the regex ^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$` });
      }
    }
    for (const [resource, request] of Object.entries(requests)) {
      const limit = limits[resource];
      const r = parseQuantity(request);
      const l = limit === undefined ? undefined : parseQuantity(limit);
      if (r !== undefined && l !== undefined && r > l) causes.push({ field: `${at}.resources.requests`, reason: 'FieldValueInvalid', message: `Invalid value: "${String(request)}": must be less than or equal to ${resource} limit of ${String(limit)}` });
    }
  });
  return causes;
}

/** Kubernetes quantities: https://kubernetes.io/docs/reference/kubernetes-api/common-definitions/quantity/ */
function parseQuantity(value: Json | undefined): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value !== 'string') return undefined;
  const match = QUANTITY.exec(value);
  if (!match) return undefined;
  const number = Number(match[1]);
  const suffix = match[2] ?? '';
  const factors: Record<string, number> = { '': 1, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50 };
  if (suffix in factors && !Number.isNaN(number)) return number * (factors[suffix] ?? 1);
  const exponent = /^[eE]([-+]?[0-9]+)$/.exec(suffix);
  if (exponent && !Number.isNaN(number)) return number * 10 ** Number(exponent[1]);
  return undefined;
}

// ---------------------------------------------------------------- pure helpers

function applyDefaults(type: ResourceType, object: JsonObject): void {
  if (type.kind === 'Deployment') {
    const spec = (object.spec as JsonObject | undefined) ?? {};
    object.spec = spec;
    spec.replicas ??= 1;
    spec.revisionHistoryLimit ??= 10;
    spec.progressDeadlineSeconds ??= 600;
    spec.strategy ??= { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' } };
  }
  if (type.kind === 'Service') {
    const spec = (object.spec as JsonObject | undefined) ?? {};
    object.spec = spec;
    spec.type ??= 'ClusterIP';
  }
}

function behaviourOf(container: JsonObject): PodRuntime['behaviour'] {
  const env = ((container.env as JsonObject[] | undefined) ?? []).find((e) => e.name === 'FAKE_KUBE_POD_BEHAVIOUR')?.value;
  if (env === 'never-ready' || env === 'crash-loop' || env === 'oom-killed') return env;
  return String(container.image ?? '').endsWith('-never-ready') ? 'never-ready' : 'healthy';
}

function isPodReady(pod: JsonObject): boolean {
  return (((pod.status as JsonObject | undefined)?.conditions as JsonObject[] | undefined) ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

function resolveIntOrPercent(value: Json, total: number, roundUp: boolean): number {
  if (typeof value === 'number') return value;
  const match = /^(\d+)%$/.exec(String(value));
  if (!match) return Number(value) || 0;
  const exact = (Number(match[1]) * total) / 100;
  return roundUp ? Math.ceil(exact) : Math.floor(exact);
}

function templateHash(template: JsonObject): string {
  return createHash('sha256').update(JSON.stringify(template)).digest('hex').slice(0, 10);
}

function uid(): string {
  const hex = randomBytes(16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stripVolatile(object: JsonObject): JsonObject {
  const copy = structuredClone(object);
  const meta = copy.metadata as JsonObject;
  delete meta.managedFields;
  delete meta.resourceVersion;
  return copy;
}

/** Field paths a manager sets, `metadata.labels.app`-style; lists are atomic (owned whole). */
function leafPaths(object: JsonObject, prefix: readonly string[] = []): string[] {
  const out: string[] = [];
  for (const [key, value] of Object.entries(object)) {
    if (prefix.length === 0 && SYSTEM_FIELDS.has(key)) continue;
    if (prefix.length === 1 && prefix[0] === 'metadata' && META_IDENTITY.has(key)) continue;
    const path = [...prefix, key];
    if (isObject(value) && Object.keys(value).length > 0) out.push(...leafPaths(value, path));
    else out.push(joinPath(path));
  }
  return out;
}

// Keys may hold dots (`app.kubernetes.io/name`), so paths are stored as JSON arrays.
function joinPath(path: readonly string[]): string {
  return JSON.stringify(path);
}

function splitPath(path: string): string[] {
  return JSON.parse(path) as string[];
}

function getPath(object: Json | undefined, path: readonly string[]): Json | undefined {
  let current: Json | undefined = object;
  for (const key of path) {
    if (!isObject(current)) return undefined;
    current = current[key];
  }
  return current;
}

function setPath(object: JsonObject, path: readonly string[], value: Json): void {
  let current = object;
  for (const key of path.slice(0, -1)) {
    if (!isObject(current[key])) current[key] = {};
    current = current[key] as JsonObject;
  }
  const last = path[path.length - 1];
  if (last !== undefined) current[last] = value;
}

function deletePath(object: JsonObject, path: readonly string[]): void {
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

function toFieldsV1(paths: ReadonlySet<string>): JsonObject {
  const root: JsonObject = {};
  for (const path of paths) {
    let current = root;
    for (const key of splitPath(path)) {
      const name = `f:${key}`;
      if (!isObject(current[name])) current[name] = {};
      current = current[name] as JsonObject;
    }
  }
  return root;
}

type LabelRequirement = (labels: Record<string, string>) => boolean;

/** Label selectors: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors */
function parseLabelSelector(selector: string): LabelRequirement[] | Error {
  const parts = selector.match(/[^,(]+(\([^)]*\))?/g) ?? [];
  const out: LabelRequirement[] = [];
  for (const raw of parts) {
    const part = raw.trim();
    if (part === '') continue;
    let match: RegExpExecArray | null;
    if ((match = /^([^\s!=]+)\s*(==|=|!=)\s*([^\s]*)$/.exec(part))) {
      const [, key = '', op, value = ''] = match;
      out.push(op === '!=' ? (l) => l[key] !== value : (l) => l[key] === value);
    } else if ((match = /^([^\s]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(part))) {
      const [, key = '', op, list = ''] = match;
      const values = list.split(',').map((v) => v.trim());
      out.push(op === 'in' ? (l) => l[key] !== undefined && values.includes(l[key]) : (l) => l[key] === undefined || !values.includes(l[key]));
    } else if ((match = /^!([^\s]+)$/.exec(part))) {
      const key = match[1] ?? '';
      out.push((l) => l[key] === undefined);
    } else if (/^[^\s!=(),]+$/.test(part)) {
      out.push((l) => l[part] !== undefined);
    } else {
      return new Error(`unable to parse requirement: ${part}`);
    }
  }
  return out;
}

function parseFieldSelector(selector: string): Array<{ path: string; value: string; negate: boolean }> | Error {
  const out: Array<{ path: string; value: string; negate: boolean }> = [];
  for (const part of selector.split(',')) {
    const match = /^([^=!]+)(==|=|!=)(.*)$/.exec(part.trim());
    if (!match) return new Error(`invalid selector: '${selector}'; can't understand '${part}'`);
    out.push({ path: match[1] ?? '', value: match[3] ?? '', negate: match[2] === '!=' });
  }
  return out;
}
