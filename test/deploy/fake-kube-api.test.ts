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

  it('lists by label selector and deletes with garbage collection of ReplicaSets and pods', async () => {
    await apply('/api/v1/namespaces/default/configmaps/l1', configMap('l1', {}, { tier: 'a' }));
    await apply('/api/v1/namespaces/default/configmaps/l2', configMap('l2', {}, { tier: 'b' }));
    const list = (await (await fetch(`${fake.url}/api/v1/namespaces/default/configmaps?labelSelector=${encodeURIComponent('tier in (a)')}`)).json()) as { kind: string; items: Array<{ metadata: { name: string } }> };
    expect(list.kind).toBe('ConfigMapList');
    expect(list.items.map((i) => i.metadata.name)).toEqual(['l1']);

    await apply('/apis/apps/v1/namespaces/default/deployments/gc', deployment('gc', 2, 'img:1'));
    await expect.poll(() => fake.objects('Pod', 'default').filter((p) => (p.metadata as { name: string }).name.startsWith('gc-')).length).toBe(2);
    const deleted = await fetch(`${fake.url}/apis/apps/v1/namespaces/default/deployments/gc`, { method: 'DELETE' });
    expect(deleted.status).toBe(200);
    expect(fake.objects('ReplicaSet', 'default').filter((p) => (p.metadata as { name: string }).name.startsWith('gc-'))).toEqual([]);
    expect(fake.objects('Pod', 'default').filter((p) => (p.metadata as { name: string }).name.startsWith('gc-'))).toEqual([]);
  });

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
