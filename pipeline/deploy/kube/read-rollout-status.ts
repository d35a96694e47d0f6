import type { KubeObject } from '../../seams/kube.js';

export type RolloutStatus =
  | { readonly state: 'done'; readonly message: string }
  | { readonly state: 'waiting'; readonly message: string }
  | { readonly state: 'failed'; readonly message: string };

interface DeploymentCondition {
  readonly type?: string;
  readonly status?: string;
  readonly reason?: string;
  readonly message?: string;
}

/**
 * Pure: where a Deployment's rollout stands, with the same rules as `kubectl rollout status`
 * (https://github.com/kubernetes/kubectl/blob/master/pkg/polymorphichelpers/rollout_status.go):
 * the controller must have observed the latest generation; the `Progressing` condition with
 * reason `ProgressDeadlineExceeded` is a failure
 * (https://kubernetes.io/docs/concepts/workloads/controllers/deployment/#failed-deployment);
 * it is done when every replica runs the new template and is available, and no old replica is left.
 */
/**
 * Whether the deployment controller has acted on the current spec. Until it has, the newest
 * ReplicaSet is still the one of the previous spec (right after a rollback: the failed one).
 */
export function isSpecObserved(deployment: KubeObject): boolean {
  const observed = (deployment.status as { observedGeneration?: number } | undefined)?.observedGeneration ?? 0;
  return observed >= (deployment.metadata.generation ?? 0);
}

export function readRolloutStatus(deployment: KubeObject): RolloutStatus {
  const spec = (deployment.spec ?? {}) as { replicas?: number };
  const status = (deployment.status ?? {}) as {
    observedGeneration?: number;
    replicas?: number;
    updatedReplicas?: number;
    availableReplicas?: number;
    conditions?: readonly DeploymentCondition[];
  };
  const name = deployment.metadata.name;
  const generation = deployment.metadata.generation ?? 0;
  if (!isSpecObserved(deployment)) {
    return { state: 'waiting', message: `waiting for the deployment controller to observe generation ${generation} of ${name}` };
  }
  const progressing = status.conditions?.find((c) => c.type === 'Progressing');
  if (progressing?.reason === 'ProgressDeadlineExceeded') {
    return { state: 'failed', message: `deployment ${name} exceeded its progress deadline${progressing.message ? ` (${progressing.message})` : ''}` };
  }
  const desired = spec.replicas ?? 1;
  const updated = status.updatedReplicas ?? 0;
  const total = status.replicas ?? 0;
  const available = status.availableReplicas ?? 0;
  if (updated < desired) return { state: 'waiting', message: `${updated} of ${desired} new replicas have been updated` };
  if (total > updated) return { state: 'waiting', message: `${total - updated} old replicas are pending termination` };
  if (available < updated) return { state: 'waiting', message: `${available} of ${updated} updated replicas are available` };
  return { state: 'done', message: `deployment ${name} successfully rolled out (${available}/${desired} available)` };
}

/** Waiting reasons a pod does not recover from without a new version (https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/#container-state-waiting). */
const HOPELESS_WAITING = new Set(['ErrImagePull', 'ImagePullBackOff', 'InvalidImageName', 'CreateContainerConfigError', 'CreateContainerError']);
/** A container that crashed this often will keep crashing: waiting out the whole timeout only delays the rollback. */
export const CRASH_RESTARTS_GIVE_UP = 3;

interface PodContainerStatus {
  readonly name?: string;
  readonly restartCount?: number;
  readonly state?: { readonly waiting?: { readonly reason?: string; readonly message?: string } };
  readonly lastState?: { readonly terminated?: { readonly reason?: string; readonly exitCode?: number } };
}

/**
 * Pure: why a pod of the new version cannot become ready, when that is already certain (an
 * image that cannot be pulled, a container crash-looping or OOM-killed again and again), so the
 * deploy rolls back at once instead of waiting for the timeout. Undefined while there is hope.
 */
export function hopelessPodReason(pod: KubeObject): string | undefined {
  const statuses = ((pod.status ?? {}) as { containerStatuses?: readonly PodContainerStatus[] }).containerStatuses ?? [];
  for (const container of statuses) {
    const waiting = container.state?.waiting;
    const name = container.name ?? '?';
    if (waiting?.reason && HOPELESS_WAITING.has(waiting.reason)) {
      return `pod ${pod.metadata.name} container ${name}: ${waiting.reason}${waiting.message ? ` (${waiting.message})` : ''}`;
    }
    const restarts = container.restartCount ?? 0;
    if (restarts >= CRASH_RESTARTS_GIVE_UP && (waiting?.reason === 'CrashLoopBackOff' || container.lastState?.terminated)) {
      const last = container.lastState?.terminated;
      return `pod ${pod.metadata.name} container ${name}: ${waiting?.reason ?? 'restarting'} after ${restarts} restarts${last?.reason ? `, last exit ${last.reason} (code ${last.exitCode ?? '?'})` : ''}`;
    }
  }
  return undefined;
}
