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
  if ((status.observedGeneration ?? 0) < generation) {
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
