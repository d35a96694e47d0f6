import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadAll } from 'js-yaml';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../cli/main.js';
import { findDeployable } from '../../generator/fleet/find-deployable.js';
import { loadFleet } from '../../generator/fleet/load-fleet.js';
import { isUserError } from '../../lib/errors/user-error.js';
import { renderGatewayManifests } from '../../pipeline/deploy/gateway/render-gateway-manifests.js';
import { MANAGED_KINDS } from '../../pipeline/deploy/kube/deploy-to-kube.js';
import { DEPLOY_PERMISSIONS } from '../../pipeline/deploy/rbac/deploy-permissions.js';
import { renderRbac } from '../../pipeline/deploy/rbac/render-rbac.js';
import { renderModelManifests } from '../../pipeline/manifests/render-model-manifests.js';

const goldenDir = join(dirname(fileURLToPath(import.meta.url)), 'golden');
const repo = join(dirname(fileURLToPath(import.meta.url)), '../..');

/** Compares with test/deploy/golden/<file>; `UPDATE_GOLDEN=1` rewrites it instead. */
function expectGolden(file: string, text: string): void {
  if (process.env.UPDATE_GOLDEN === '1') {
    mkdirSync(goldenDir, { recursive: true });
    writeFileSync(join(goldenDir, file), text);
  }
  expect(text, `test/deploy/golden/${file} is stale: refresh with UPDATE_GOLDEN=1 npx vitest run test/deploy/rbac.test.ts`).toBe(readFileSync(join(goldenDir, file), 'utf8'));
}

/** `modelfleet rbac ...` in process, its standard output. */
async function rbac(args: readonly string[]): Promise<{ code: number; output: string }> {
  let output = '';
  const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    output += String(chunk);
    return true;
  });
  try {
    return { code: await main(['rbac', ...args]), output };
  } finally {
    write.mockRestore();
  }
}

/** Plural resource of a kind, as the RBAC rules name it. */
const RESOURCE_OF: Readonly<Record<string, string>> = {
  Deployment: 'apps/deployments', Service: '/services', ConfigMap: '/configmaps', ServiceAccount: '/serviceaccounts',
  HorizontalPodAutoscaler: 'autoscaling/horizontalpodautoscalers', PodDisruptionBudget: 'policy/poddisruptionbudgets',
};
const verbsOf = (kind: string) => DEPLOY_PERMISSIONS.find((p) => `${p.apiGroup}/${p.resource}` === RESOURCE_OF[kind])?.verbs ?? [];

let dir: string | undefined;
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

describe('modelfleet rbac', () => {
  it('prints the ServiceAccount, Role and RoleBinding for an environment (golden), nothing cluster-wide', async () => {
    const { code, output } = await rbac(['--env', 'staging', '--file', '/nonexistent/models.yaml']);
    expect(code).toBe(0);
    expectGolden('rbac-staging.yaml', output);
    const objects = loadAll(output) as Array<{ kind: string; metadata: { namespace?: string } }>;
    expect(objects.map((o) => o.kind)).toEqual(['ServiceAccount', 'Role', 'RoleBinding']);
    expect(objects.every((o) => o.metadata.namespace === 'modelfleet-staging')).toBe(true);
  });

  it('adds a ClusterRole and ClusterRoleBinding for the one namespace when models.yaml sets createNamespace (golden)', async () => {
    dir = await mkdtemp(join(tmpdir(), 'modelfleet-rbac-'));
    const fleet = readFileSync(join(repo, 'models.yaml'), 'utf8');
    await writeFile(join(dir, 'models.yaml'), `kubernetes:\n  createNamespace: true\n${fleet}`);
    const { code, output } = await rbac(['--env', 'production', '--service-account', 'fleet-ci', '--group', 'gitlab:project_env:42:production', '--file', join(dir, 'models.yaml')]);
    expect(code).toBe(0);
    expectGolden('rbac-production-create-namespace.yaml', output);
    expect(output).toMatch(/^# createNamespace is on: the ClusterRole and ClusterRoleBinding/m);
  });

  it('is deterministic: the same request gives the same bytes', () => {
    const request = { namespace: 'modelfleet-dev', serviceAccount: 'modelfleet-deployer', createNamespace: true, groups: ['b', 'a', 'b'] };
    expect(renderRbac(request).yaml).toBe(renderRbac({ ...request, groups: ['a', 'b'] }).yaml);
  });

  it('refuses a service account or namespace name Kubernetes would refuse', () => {
    for (const bad of [{ serviceAccount: 'Deployer' }, { namespace: '../etc' }]) {
      try {
        renderRbac({ namespace: 'modelfleet-dev', serviceAccount: 'modelfleet-deployer', createNamespace: false, ...bad });
        expect.unreachable();
      } catch (err) {
        expect(isUserError(err) && err.code).toBe('USAGE');
      }
    }
  });
});

describe('the permission table (one table for `modelfleet rbac` and the tests)', () => {
  it('lets remove and pruning list and delete every kind a deployable may own', () => {
    for (const { kind } of MANAGED_KINDS) expect(verbsOf(kind), kind).toEqual(expect.arrayContaining(['list', 'delete']));
  });

  it('lets deploy read, create and server-side apply every kind the model and gateway manifests hold', () => {
    const fleet = loadFleet(join(repo, 'models.yaml'));
    const [first] = fleet.models;
    const model = renderModelManifests(findDeployable(fleet, first?.variants[0]?.deployName ?? ''), { resources: { requests: { cpu: '50m', memory: '96Mi' }, limits: { memory: '128Mi' } } }, { namespace: 'ns', image: 'x:1' });
    const gateway = renderGatewayManifests({ namespace: 'ns', image: 'gw:1', routesJson: '{"routes":[]}' });
    const kinds = new Set([...model.map((m) => String((m.object as { kind: string }).kind)), ...gateway.map((o) => o.kind)]);
    expect([...kinds].sort()).toEqual(['ConfigMap', 'Deployment', 'HorizontalPodAutoscaler', 'PodDisruptionBudget', 'Service']);
    for (const kind of kinds) expect(verbsOf(kind), kind).toEqual(expect.arrayContaining(['get', 'create', 'patch']));
  });
});
