import { UserError } from '../../../lib/errors/user-error.js';
import { KubeApiError, type KubeObject } from '../../seams/kube.js';
import { describeObject } from './prepare-manifests.js';

/**
 * Turns an API server answer into an error a person can act on. A 422 names the object and
 * each rejected field with the server's reason
 * (https://kubernetes.io/docs/reference/using-api/api-concepts/#field-validation).
 */
export function toDeployError(err: unknown, deployName: string, object?: KubeObject): Error {
  if (!(err instanceof KubeApiError)) return err instanceof Error ? err : new Error(String(err));
  const what = object ? describeObject(object) : 'a request';
  if (err.status === 422 || err.status === 400) {
    const causes = err.body?.details?.causes ?? [];
    const fields = causes.length > 0
      ? causes.map((c) => `${c.field ?? '(object)'}: ${c.message ?? c.reason ?? 'invalid'}`).join('; ')
      : (err.body?.message ?? err.message);
    return new UserError('DEPLOY_MANIFEST_REJECTED',
      `model ${deployName}: the Kubernetes API server rejected ${what}: ${fields}. Nothing was changed; the deployed version keeps serving.`,
      'Fix the setting in models.yaml (or k8s-templates/model/), re-run `' + deployName + ':test` to render the manifests, then `' + deployName + ':deploy`.', { cause: err });
  }
  if (err.status === 0) {
    return new UserError('DEPLOY_API_ERROR', `model ${deployName}: ${err.message}`,
      'Check KUBECONFIG (or the in-cluster service account) and that the API server answers, then re-run the deploy job.', { cause: err });
  }
  const reason = err.body?.reason ? `${err.body.reason}: ` : '';
  return new UserError('DEPLOY_API_ERROR', `model ${deployName}: the Kubernetes API server answered ${err.status} for ${what}: ${reason}${err.body?.message ?? err.message}`,
    err.status === 401 || err.status === 403
      ? 'The job\'s service account may not change these objects: grant it get/list/patch/delete on deployments, services, horizontalpodautoscalers, poddisruptionbudgets, configmaps, namespaces, events and pods/log.'
      : 'Re-run the deploy job; if it fails again, check the cluster\'s health.', { cause: err });
}
