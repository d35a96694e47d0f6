import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeKubeApi, type FakeKubeApi } from '../support/fake-kube-api.js';

// The fake answers the way kube-apiserver does for the calls modelfleet makes; these tests pin
// the behaviours the deploy logic relies on, so a change to the fake cannot quietly weaken them.
let fake: FakeKubeApi;

beforeAll(async () => {
  fake = await startFakeKubeApi({ tickMs: 20, readyAfterMs: 40 });
});

afterAll(async () => {
  await fake.close();
});

const APPLY = 'application/apply-patch+yaml';

async function apply(path: string, body: unknown, query = 'fieldManager=modelfleet&force=true'): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${fake.url}${path}?${query}`, { method: 'PATCH', headers: { 'content-type': APPLY }, body: JSON.stringify(body) });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

function configMap(name: string, data: Record<string, string>, labels: Record<string, string> = {}): unknown {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, labels }, data };
}

function deployment(name: string, replicas: number, image: string): unknown {
  const labels = { app: name };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name },
    spec: { replicas, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [{ name: 'model', image }] } } },
  };
}

describe('fake Kubernetes API server', () => {
  it('serves discovery documents for the kinds it knows', async () => {
    const apps = (await (await fetch(`${fake.url}/apis/apps/v1`)).json()) as { kind: string; resources: Array<{ kind: string; name: string; namespaced: boolean }> };
    expect(apps.kind).toBe('APIResourceList');
    expect(apps.resources).toContainEqual(expect.objectContaining({ kind: 'Deployment', name: 'deployments', namespaced: true }));
  });

  it('requires a field manager for server-side apply, with a 422 Status like the real server', async () => {
    const { status, json } = await apply('/api/v1/namespaces/default/configmaps/a', configMap('a', { k: 'v' }), 'force=true');
    expect(status).toBe(422);
    expect(json).toMatchObject({ kind: 'Status', status: 'Failure', reason: 'Invalid', code: 422, message: 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch' });
  });

  it('answers 415 to patch types other than apply', async () => {
    const response = await fetch(`${fake.url}/api/v1/namespaces/default/configmaps/a?fieldManager=x`, { method: 'PATCH', headers: { 'content-type': 'application/merge-patch+json' }, body: '{}' });
    expect(response.status).toBe(415);
  });

  it('creates with 201 and answers an identical apply with 200 without writing (same resourceVersion)', async () => {
    // A ConfigMap: no controller writes its status between the two applies.
    const path = '/api/v1/namespaces/default/configmaps/same';
    const created = await apply(path, configMap('same', { k: 'v' }));
    expect(created.status).toBe(201);
    const again = await apply(path, configMap('same', { k: 'v' }));
    expect(again.status).toBe(200);
    expect((again.json.metadata as { resourceVersion: string }).resourceVersion).toBe((created.json.metadata as { resourceVersion: string }).resourceVersion);
  });

  it('bumps metadata.generation only when the spec changes, and removes fields the manager stopped applying', async () => {
    const path = '/apis/apps/v1/namespaces/default/deployments/gen';
    const created = await apply(path, deployment('gen', 1, 'img:1'));
    expect((created.json.metadata as { generation: number }).generation).toBe(1);
    const labelled = deployment('gen', 1, 'img:1') as { metadata: { labels?: Record<string, string> } };
    labelled.metadata.labels = { team: 'ml' };
    const relabelled = await apply(path, labelled);
    expect((relabelled.json.metadata as { labels?: Record<string, string> }).labels).toEqual({ team: 'ml' });
    expect((relabelled.json.metadata as { generation: number }).generation).toBe(1);
    const changed = await apply(path, deployment('gen', 1, 'img:2'));
    expect((changed.json.metadata as { generation: number }).generation).toBe(2);
    expect((changed.json.metadata as { labels?: Record<string, string> }).labels).toBeUndefined();
  });

  it('rejects a field owned by another manager with 409 unless the apply is forced', async () => {
    const path = '/api/v1/namespaces/default/configmaps/owned';
    await apply(path, configMap('owned', { size: 'small' }), 'fieldManager=kubectl');
    const conflict = await apply(path, configMap('owned', { size: 'large' }), 'fieldManager=modelfleet');
    expect(conflict.status).toBe(409);
    expect(conflict.json.message).toBe('Apply failed with 1 conflict: conflict with "kubectl": .data.size');
    const forced = await apply(path, configMap('owned', { size: 'large' }), 'fieldManager=modelfleet&force=true');
    expect(forced.status).toBe(200);
    expect((forced.json.data as Record<string, string>).size).toBe('large');
    const managers = (forced.json.metadata as { managedFields: Array<{ manager: string }> }).managedFields.map((m) => m.manager);
    expect(managers).toEqual(['modelfleet']);
  });

  it('answers 404 for an object in a namespace that does not exist', async () => {
    const { status, json } = await apply('/api/v1/namespaces/nowhere/configmaps/x', configMap('x', {}));
    expect(status).toBe(404);
    expect(json.message).toBe('namespaces "nowhere" not found');
  });

  it('lists by label selector, in one namespace or in all of them', async () => {
    await apply('/api/v1/namespaces/default/configmaps/l1', configMap('l1', {}, { tier: 'a' }));
    await apply('/api/v1/namespaces/default/configmaps/l2', configMap('l2', {}, { tier: 'b' }));
    const list = (await (await fetch(`${fake.url}/api/v1/namespaces/default/configmaps?labelSelector=${encodeURIComponent('tier in (a)')}`)).json()) as { kind: string; items: Array<{ metadata: { name: string } }> };
    expect(list.kind).toBe('ConfigMapList');
    expect(list.items.map((i) => i.metadata.name)).toEqual(['l1']);
    const everywhere = (await (await fetch(`${fake.url}/api/v1/configmaps?labelSelector=tier%3Db`)).json()) as { items: Array<{ metadata: { name: string } }> };
    expect(everywhere.items.map((i) => i.metadata.name)).toEqual(['l2']);
  });
});

describe('deletion in the fake Kubernetes API server', () => {
  /** Names of the stored objects of a kind whose name starts with `prefix`. */
  const named = (kind: string, prefix: string) => fake.objects(kind, 'default').map((o) => (o.metadata as { name: string }).name).filter((n) => n.startsWith(`${prefix}-`));
  const get = (path: string) => fetch(`${fake.url}${path}`).then(async (r) => ({ status: r.status, json: (await r.json()) as { metadata: { deletionTimestamp?: string; finalizers?: string[]; ownerReferences?: unknown[] }; status?: { phase?: string } } }));

  /** A Deployment with its ReplicaSet and two pods running. */
  async function runningDeployment(name: string): Promise<string> {
    const path = `/apis/apps/v1/namespaces/default/deployments/${name}`;
    await apply(path, deployment(name, 2, 'img:1'));
    await expect.poll(() => named('Pod', name).length).toBe(2);
    return path;
  }

  it('deletes in the background by default: the Deployment at once, its ReplicaSet and pods shortly after', async () => {
    const path = await runningDeployment('bg');
    const release = fake.holdGarbageCollection();
    try {
      expect((await fetch(`${fake.url}${path}`, { method: 'DELETE' })).status).toBe(200);
      expect((await get(path)).status).toBe(404);
      // Still there: nothing has collected them yet, as on a real cluster right after the DELETE.
      expect(named('ReplicaSet', 'bg')).toHaveLength(1);
      expect(named('Pod', 'bg')).toHaveLength(2);
    } finally {
      release();
    }
    await expect.poll(() => [...named('ReplicaSet', 'bg'), ...named('Pod', 'bg')]).toEqual([]);
  });

  it('deletes in the foreground on request: the Deployment stays, marked, until its ReplicaSet and pods are gone', async () => {
    const path = await runningDeployment('fg');
    const release = fake.holdGarbageCollection();
    try {
      const answer = await fetch(`${fake.url}${path}?propagationPolicy=Foreground`, { method: 'DELETE' });
      expect(answer.status).toBe(200);
      const marked = await get(path);
      expect(marked.status).toBe(200);
      expect(marked.json.metadata.deletionTimestamp).toBeDefined();
      expect(marked.json.metadata.finalizers).toEqual(['foregroundDeletion']);
    } finally {
      release();
    }
    await expect.poll(async () => (await get(path)).status).toBe(404);
    expect([...named('ReplicaSet', 'fg'), ...named('Pod', 'fg')]).toEqual([]);
  });

  it('orphans on request: the ReplicaSet and its pods stay, without an owner reference to the deleted Deployment', async () => {
    const path = await runningDeployment('orphan');
    const owner = (await get(path)).json.metadata as { uid?: string };
    await fetch(`${fake.url}${path}?propagationPolicy=Orphan`, { method: 'DELETE' });
    await expect.poll(async () => (await get(path)).status).toBe(404);
    const [replicaSet] = fake.objects('ReplicaSet', 'default').filter((rs) => (rs.metadata as { name: string }).name.startsWith('orphan-'));
    expect((replicaSet?.metadata as { ownerReferences?: Array<{ uid: string }> }).ownerReferences ?? []).not.toContainEqual(expect.objectContaining({ uid: owner.uid }));
    expect(named('Pod', 'orphan')).toHaveLength(2);
  });

  it('refuses an unknown propagationPolicy with 422', async () => {
    await apply('/api/v1/namespaces/default/configmaps/keep', configMap('keep', {}));
    const answer = await fetch(`${fake.url}/api/v1/namespaces/default/configmaps/keep?propagationPolicy=Sometimes`, { method: 'DELETE' });
    expect(answer.status).toBe(422);
    expect((await get('/api/v1/namespaces/default/configmaps/keep')).status).toBe(200);
  });

  it('terminates a namespace: refuses new objects in it at once, and removes it once emptied', async () => {
    await apply('/api/v1/namespaces/doomed', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'doomed' } });
    await apply('/api/v1/namespaces/doomed/configmaps/inside', configMap('inside', {}));
    const release = fake.holdGarbageCollection();
    try {
      await fetch(`${fake.url}/api/v1/namespaces/doomed`, { method: 'DELETE' });
      expect((await get('/api/v1/namespaces/doomed')).json.status?.phase).toBe('Terminating');
      const refused = await apply('/api/v1/namespaces/doomed/configmaps/late', configMap('late', {}));
      expect(refused.status).toBe(403);
      expect(refused.json.message).toBe('configmaps "late" is forbidden: unable to create new content in namespace doomed because it is being terminated');
    } finally {
      release();
    }
    await expect.poll(async () => (await get('/api/v1/namespaces/doomed')).status).toBe(404);
    expect(fake.objects('ConfigMap', 'doomed')).toEqual([]);
  });
});

describe('rollouts in the fake Kubernetes API server', () => {
  it('reports ProgressDeadlineExceeded for a Deployment whose pods never get ready', async () => {
    const stuck = deployment('stuck', 1, 'img:1-never-ready') as { spec: Record<string, unknown> };
    stuck.spec.progressDeadlineSeconds = 1;
    await apply('/apis/apps/v1/namespaces/default/deployments/stuck', stuck);
    await expect.poll(async () => {
      const d = (await (await fetch(`${fake.url}/apis/apps/v1/namespaces/default/deployments/stuck`)).json()) as { status?: { conditions?: Array<{ type: string; reason: string }> } };
      return d.status?.conditions?.find((c) => c.type === 'Progressing')?.reason;
    }, { timeout: 5_000 }).toBe('ProgressDeadlineExceeded');
  });
});

describe('RBAC in the fake Kubernetes API server', () => {
  const RBAC = 'rbac.authorization.k8s.io/v1';
  let n = 0;
  /** A fresh user with the given bindings applied by the admin; returns a fetch that sends its token. */
  async function userWith(bindings: (user: string) => unknown[]): Promise<{ user: string; call: (path: string, init?: RequestInit) => Promise<{ status: number; json: Record<string, unknown> }> }> {
    n += 1;
    const user = `alice-${n}`;
    fake.addIdentity(`token-${user}`, { user, groups: ['system:authenticated'] });
    for (const object of bindings(user)) {
      const { kind, metadata } = object as { kind: string; metadata: { name: string; namespace?: string } };
      const plural = `${kind.toLowerCase()}s`;
      const path = metadata.namespace ? `/apis/${RBAC}/namespaces/${metadata.namespace}/${plural}/${metadata.name}` : `/apis/${RBAC}/${plural}/${metadata.name}`;
      expect((await apply(path, object)).status).toBeLessThan(300);
    }
    return {
      user,
      async call(path, init = {}) {
        const response = await fetch(`${fake.url}${path}`, { ...init, headers: { ...(init.headers as Record<string, string> | undefined), authorization: `Bearer token-${user}` } });
        const text = await response.text();
        return { status: response.status, json: (text.startsWith('{') ? JSON.parse(text) : { text }) as Record<string, unknown> };
      },
    };
  }
  const role = (name: string, namespace: string, rules: unknown[]) => ({ apiVersion: RBAC, kind: 'Role', metadata: { name, namespace }, rules });
  const roleBinding = (name: string, namespace: string, user: string, roleRef: { kind: string; name: string }) => ({ apiVersion: RBAC, kind: 'RoleBinding', metadata: { name, namespace }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', ...roleRef }, subjects: [{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: user }] });

  it('refuses what no rule allows with Kubernetes\' 403 Status naming the user, verb, resource and namespace', async () => {
    const alice = await userWith(() => []);
    const listed = await alice.call('/apis/apps/v1/namespaces/default/deployments');
    expect(listed.status).toBe(403);
    expect(listed.json).toMatchObject({
      kind: 'Status', status: 'Failure', reason: 'Forbidden', code: 403,
      message: `deployments.apps is forbidden: User "${alice.user}" cannot list resource "deployments" in API group "apps" in the namespace "default"`,
      details: { group: 'apps', kind: 'deployments' },
    });
    const deleted = await alice.call('/api/v1/namespaces/default/services/web', { method: 'DELETE' });
    expect(deleted.json).toMatchObject({ message: `services "web" is forbidden: User "${alice.user}" cannot delete resource "services" in API group "" in the namespace "default"`, details: { name: 'web', kind: 'services' } });
    const cluster = await alice.call('/api/v1/namespaces');
    expect(cluster.json.message).toBe(`namespaces is forbidden: User "${alice.user}" cannot list resource "namespaces" in API group "" at the cluster scope`);
    // Discovery stays open to every authenticated user.
    expect((await alice.call('/apis/apps/v1')).status).toBe(200);
  });

  it('grants a Role only in its namespace, needs its own rule for a subresource, and limits by resourceNames', async () => {
    const alice = await userWith((user) => [
      role('pod-reader', 'default', [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] }]),
      roleBinding('pod-reader', 'default', user, { kind: 'Role', name: 'pod-reader' }),
      { apiVersion: RBAC, kind: 'ClusterRole', metadata: { name: `ns-default-${user}` }, rules: [{ apiGroups: [''], resources: ['namespaces'], resourceNames: ['default'], verbs: ['get'] }] },
      { apiVersion: RBAC, kind: 'ClusterRoleBinding', metadata: { name: `ns-default-${user}` }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: `ns-default-${user}` }, subjects: [{ kind: 'User', name: user }] },
    ]);
    expect((await alice.call('/api/v1/namespaces/default/pods')).status).toBe(200);
    expect((await alice.call('/api/v1/namespaces/default/pods/none')).status).toBe(404);
    expect((await alice.call('/api/v1/namespaces/kube-system/pods')).status).toBe(403);
    const log = await alice.call('/api/v1/namespaces/default/pods/none/log');
    expect(log.json.message).toBe(`pods "none" is forbidden: User "${alice.user}" cannot get resource "pods/log" in API group "" in the namespace "default"`);
    expect((await alice.call('/api/v1/namespaces/default')).status).toBe(200);
    expect((await alice.call('/api/v1/namespaces/kube-system')).status).toBe(403);
    expect((await alice.call('/api/v1/namespaces')).status).toBe(403);
  });

  it('authorizes a server-side apply as patch, and as create as well when it creates the object, dry run included', async () => {
    const alice = await userWith((user) => [
      role(`cm-patch-${user}`, 'default', [{ apiGroups: [''], resources: ['configmaps'], verbs: ['patch'] }]),
      roleBinding(`cm-patch-${user}`, 'default', user, { kind: 'Role', name: `cm-patch-${user}` }),
    ]);
    const send = (name: string, query: string) => alice.call(`/api/v1/namespaces/default/configmaps/${name}?fieldManager=t&force=true${query}`, { method: 'PATCH', headers: { 'content-type': APPLY }, body: JSON.stringify(configMap(name, { k: 'v' })) });
    const created = await send('fresh', '&dryRun=All');
    expect(created.status).toBe(403);
    // The create check's refusal carries only the authorizer's reason, not the verb.
    expect(created.json).toMatchObject({ reason: 'Forbidden', message: 'configmaps "fresh" is forbidden: ', details: { name: 'fresh', kind: 'configmaps' } });
    await apply('/api/v1/namespaces/default/configmaps/existing', configMap('existing', { k: 'old' }));
    expect((await send('existing', '')).status).toBe(200);

    const log = fake.requests.filter((r) => r.user === alice.user && r.method === 'PATCH');
    expect(log.map((r) => [r.scope, r.checks.map((c) => `${c.verb}:${String(c.allowed)}`)])).toEqual([
      ['namespaced', ['patch:true', 'create:false']],
      ['namespaced', ['patch:true']],
    ]);
  });
});
