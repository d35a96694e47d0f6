/**
 * A fake Kubernetes API server: a real HTTP server on 127.0.0.1 that answers the calls
 * `modelfleet deploy` makes the way kube-apiserver and its controllers do, so the deploy logic is
 * tested through @kubernetes/client-node and an ordinary kubeconfig. Each behaviour follows the
 * Kubernetes document named beside it (and again in the module of fake-kube-api/ that implements
 * it: resource-types, discovery, object-store, server-side-apply, validation, rbac,
 * garbage-collection, deployment-controller, replicaset-controller, kubelet, endpoints, events,
 * handle-request, start-fake-kube-api):
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
export { ADMIN_IDENTITY, type FakeIdentity } from './fake-kube-api/authentication.js';
export type { AuthorizationCheck, RecordedRequest } from './fake-kube-api/recorded-request.js';
export { startFakeKubeApi, type FakeKubeApi, type FakeKubeOptions } from './fake-kube-api/start-fake-kube-api.js';
