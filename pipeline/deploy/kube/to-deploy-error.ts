import { UserError } from '../../../lib/errors/user-error.js';
import { KubeApiError, type KubeObject } from '../../seams/kube.js';
import { describeObject } from './prepare-manifests.js';

/**
 * Turns an API server answer into an error a person can act on. A 422 names the object and
 * each rejected field with the server's reason
 * (https://kubernetes.io/docs/reference/using-api/api-concepts/#field-validation); a 403 names
 * the permission that is missing; a namespace that does not exist says how to get one.
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
  // Creating an object in a namespace that does not exist: 404 `namespaces "x" not found`
  // (the NamespaceLifecycle admission plugin, https://kubernetes.io/docs/reference/access-authn-authz/admission-controllers/#namespacelifecycle).
  if (err.status === 404 && err.body?.details?.kind === 'namespaces') {
    const namespace = err.body.details.name ?? err.request?.namespace ?? '(unknown)';
    return new UserError('DEPLOY_NAMESPACE_MISSING',
      `model ${deployName}: the namespace ${namespace} does not exist, and deploy creates namespaces only when models.yaml asks it to. Nothing was applied.`,
      `Create it as a cluster admin (\`kubectl create namespace ${namespace}\`, then \`modelfleet rbac --namespace ${namespace} | kubectl apply -f -\` for the job's identity), or set \`kubernetes: { createNamespace: true }\` in models.yaml if the job may create namespaces; then re-run \`${deployName}:deploy\`.`, { cause: err });
  }
  if (err.status === 403) return forbiddenError(err, deployName, what);
  const reason = err.body?.reason ? `${err.body.reason}: ` : '';
  return new UserError('DEPLOY_API_ERROR', `model ${deployName}: the Kubernetes API server answered ${err.status} for ${what}: ${reason}${err.body?.message ?? err.message}`,
    err.status === 401
      ? 'The API server did not accept the job\'s credentials: check the token or client certificate in KUBECONFIG (or the GitLab agent\'s context in KUBE_CONTEXT), then re-run the deploy job.'
      : 'Re-run the deploy job; if it fails again, check the cluster\'s health.', { cause: err });
}

/** What a 403 says was refused: from the Status message when it has the authorizer's sentence, else from its details and the request. */
export interface RefusedPermission {
  readonly user: string | undefined;
  readonly verb: string;
  /** The resource, `resource/subresource` for one (`pods/log`). */
  readonly resource: string;
  readonly apiGroup: string;
  /** Undefined: at the cluster scope. */
  readonly namespace: string | undefined;
  /** Why the verb is a guess, when it is one. */
  readonly note?: string;
}

/**
 * kube-apiserver's 403 sentence (k8s.io/apiserver/pkg/endpoints/handlers/responsewriters/errors.go):
 * `User "u" cannot <verb> resource "<resource[/sub]>" in API group "<group>" in the namespace "<ns>"`
 * or `... at the cluster scope`.
 */
const FORBIDDEN_SENTENCE = /User "([^"]*)" cannot (\S+) resource "([^"]+)" in API group "([^"]*)" (?:in the namespace "([^"]*)"|at the cluster scope)/;

export function readRefusedPermission(err: KubeApiError): RefusedPermission | undefined {
  const message = err.body?.message ?? err.message;
  const match = FORBIDDEN_SENTENCE.exec(message);
  if (match) return { user: match[1], verb: match[2] ?? '', resource: match[3] ?? '', apiGroup: match[4] ?? '', namespace: match[5] };
  const request = err.request;
  const details = err.body?.details;
  const resource = details?.kind ?? (request ? `${request.kind.toLowerCase()}s` : undefined);
  if (!request || resource === undefined) return undefined;
  const apiGroup = details?.group ?? (request.apiVersion.includes('/') ? request.apiVersion.split('/')[0] ?? '' : '');
  const withSub = request.subresource && !resource.includes('/') ? `${resource}/${request.subresource}` : resource;
  // A server-side apply is authorized as `patch`, and when its object does not exist yet as
  // `create` too; that second refusal does not name the verb (k8s.io/apiserver/pkg/endpoints/handlers/patch.go).
  if (request.verb === 'patch') {
    return { user: undefined, verb: 'create', resource: withSub, apiGroup, namespace: request.namespace, note: 'server-side apply of an object that does not exist yet needs `create` as well as `patch`' };
  }
  return { user: undefined, verb: request.verb, resource: withSub, apiGroup, namespace: request.namespace };
}

function forbiddenError(err: KubeApiError, deployName: string, what: string): UserError {
  const message = err.body?.message ?? err.message;
  // NamespaceLifecycle refuses new objects in a namespace being deleted with a 403 too; no permission would help.
  if (err.body?.details?.causes?.some((c) => c.reason === 'NamespaceTerminating') || /because it is being terminated/.test(message)) {
    const namespace = err.request?.namespace ?? /namespace (\S+) because/.exec(message)?.[1] ?? '(unknown)';
    return new UserError('DEPLOY_API_ERROR', `model ${deployName}: the namespace ${namespace} is being deleted, so nothing new can be created in it (${what}): ${message}`,
      `Wait until the namespace is gone (\`kubectl get namespace ${namespace}\`), create it again (or let deploy do it with \`kubernetes: { createNamespace: true }\`), then re-run \`${deployName}:deploy\`.`, { cause: err });
  }
  const refused = readRefusedPermission(err);
  if (!refused) {
    return new UserError('DEPLOY_FORBIDDEN', `model ${deployName}: the Kubernetes API server refused ${what} (403 Forbidden): ${message}`,
      'Give the job\'s identity the Role that `modelfleet rbac --env <env>` prints (docs/deploy.md), then re-run the deploy job.', { cause: err });
  }
  const qualified = refused.apiGroup === '' ? refused.resource : `${refused.resource}.${refused.apiGroup}`;
  const where = refused.namespace !== undefined ? `in namespace ${refused.namespace}` : 'at the cluster scope';
  const who = refused.user ? ` ${refused.user}` : '';
  const rbac = refused.namespace !== undefined ? `\`modelfleet rbac --namespace ${refused.namespace}\`` : '`modelfleet rbac --env <env>`';
  return new UserError('DEPLOY_FORBIDDEN',
    `model ${deployName}: the job's identity${who} may not ${refused.verb} ${qualified} ${where}${refused.note ? ` (${refused.note})` : ''}. The API server answered 403: ${message}`,
    `Grant \`${refused.verb}\` on \`${refused.resource}\` (API group "${refused.apiGroup}") ${where}: ${rbac} prints the Role with every permission deploy needs; a cluster admin applies it (\`| kubectl apply -f -\`, docs/deploy.md). If the namespace does not exist yet, create it first. Then re-run \`${deployName}:deploy\`.`, { cause: err });
}
