import { describe, expect, it } from 'vitest';
import { isUserError } from '../../lib/errors/user-error.js';
import { toDeployError } from '../../pipeline/deploy/kube/to-deploy-error.js';
import { KubeApiError, type KubeStatus } from '../../pipeline/seams/kube.js';

const forbidden = (body: KubeStatus, request?: ConstructorParameters<typeof KubeApiError>[3]) => new KubeApiError(403, { kind: 'Status', code: 403, reason: 'Forbidden', ...body }, body.message ?? '', request);

describe('a 403 from the API server', () => {
  it('names the verb, the resource and the namespace from the Status, and points to `modelfleet rbac`', () => {
    const err = toDeployError(forbidden({ message: 'pods "p-1" is forbidden: User "system:serviceaccount:modelfleet-dev:modelfleet-deployer" cannot get resource "pods/log" in API group "" in the namespace "modelfleet-dev"' }), 'alpha');
    expect(isUserError(err) && err.code).toBe('DEPLOY_FORBIDDEN');
    expect(err.message).toMatch(/^model alpha: the job's identity system:serviceaccount:modelfleet-dev:modelfleet-deployer may not get pods\/log in namespace modelfleet-dev\. /);
    expect(isUserError(err) && err.hint).toMatch(/^Grant `get` on `pods\/log` \(API group ""\) in namespace modelfleet-dev: `modelfleet rbac --namespace modelfleet-dev` prints the Role/);
    expect(isUserError(err) && err.hint).not.toMatch(/get\/list\/patch\/delete/);
  });

  it('says "at the cluster scope" for a cluster-scoped refusal', () => {
    const err = toDeployError(forbidden({ message: 'namespaces is forbidden: User "ci" cannot list resource "namespaces" in API group "" at the cluster scope' }), 'alpha');
    expect(err.message).toMatch(/may not list namespaces at the cluster scope\./);
  });

  it('falls back to the Status details and the request when the message does not name the verb', () => {
    const err = toDeployError(forbidden({ message: 'deployments.apps "alpha" is forbidden: ', details: { name: 'alpha', group: 'apps', kind: 'deployments' } }, { verb: 'delete', apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'modelfleet-dev', name: 'alpha' }), 'alpha');
    expect(err.message).toMatch(/^model alpha: the job's identity may not delete deployments\.apps in namespace modelfleet-dev\. /);
  });

  it('gives a namespace being deleted its own message, without the permission hint', () => {
    const err = toDeployError(forbidden({
      message: 'configmaps "late" is forbidden: unable to create new content in namespace doomed because it is being terminated',
      details: { name: 'late', kind: 'configmaps', causes: [{ reason: 'NamespaceTerminating', message: 'namespace doomed is being terminated', field: 'metadata.namespace' }] },
    }, { verb: 'patch', apiVersion: 'v1', kind: 'ConfigMap', namespace: 'doomed', name: 'late' }), 'alpha');
    expect(isUserError(err) && err.code).toBe('DEPLOY_API_ERROR');
    expect(err.message).toMatch(/the namespace doomed is being deleted/);
    expect(isUserError(err) && err.hint).not.toMatch(/rbac|Grant/);
  });
});

describe('a missing namespace', () => {
  it('is DEPLOY_NAMESPACE_MISSING naming it and both fixes', () => {
    const err = toDeployError(new KubeApiError(404, { code: 404, reason: 'NotFound', message: 'namespaces "modelfleet-qa" not found', details: { name: 'modelfleet-qa', kind: 'namespaces' } }, 'namespaces "modelfleet-qa" not found'), 'alpha');
    expect(isUserError(err) && err.code).toBe('DEPLOY_NAMESPACE_MISSING');
    expect(err.message).toMatch(/the namespace modelfleet-qa does not exist/);
    expect(isUserError(err) && err.hint).toMatch(/kubectl create namespace modelfleet-qa.*createNamespace: true/);
  });
});
