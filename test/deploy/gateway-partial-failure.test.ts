/**
 * `gateway:deploy` after some model deploys failed (the child pipeline runs it `when: always`):
 * against the fake API server, through the same functions `modelfleet deploy` calls.
 */
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findDeployable } from '../../generator/fleet/find-deployable.js';
import { loadFleet } from '../../generator/fleet/load-fleet.js';
import { isUserError } from '../../lib/errors/user-error.js';
import { deployGatewayToKube } from '../../pipeline/deploy/deploy-gateway-to-kube.js';
import { markDeployedConfig } from '../../pipeline/deploy/deployed-config.js';
import { deployToKube } from '../../pipeline/deploy/kube/deploy-to-kube.js';
import { renderModelManifests } from '../../pipeline/manifests/render-model-manifests.js';
import { openKube, type KubeClient, type KubeObject } from '../../pipeline/seams/kube.js';
import type { RouteEntry, RouteTable } from '../../serving/gateway/route-table.js';
import { startFakeKubeApi, type FakeKubeApi } from '../support/fake-kube-api.js';

const repo = resolve(import.meta.dirname, '../..');
const SIZING = { resources: { requests: { cpu: '50m', memory: '96Mi' }, limits: { memory: '128Mi' } } };
const fast = { pollMs: 25, timeoutMs: 5_000 };

let dir: string;
let fake: FakeKubeApi;
let kube: KubeClient;
let gatewayEnv: NodeJS.ProcessEnv;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'modelfleet-gateway-partial-'));
  for (const model of ['match-logreg-v1', 'match-logreg-v2', 'match-trees', 'match-mlp']) {
    await cp(join(repo, 'examples', 'models', model), join(dir, 'models', model), { recursive: true });
  }
  // The namespaces exist, as a cluster admin made them: deploy does not create them by default.
  fake = await startFakeKubeApi({ tickMs: 20, readyAfterMs: 50, namespaces: ['modelfleet-partial', 'modelfleet-reweight', 'modelfleet-unmarked'] });
  kube = await openKube({ kubeconfig: await fake.writeKubeconfig(dir) });
  // No registry: the gateway deploy uses the gateway image's local content tag.
  gatewayEnv = { ...process.env, MODELFLEET_PUSH: 'false' };
  for (const key of ['MODELFLEET_REGISTRY_IMAGE', 'CI_REGISTRY', 'CI_REGISTRY_IMAGE', 'CI_REGISTRY_USER', 'CI_REGISTRY_PASSWORD']) delete gatewayEnv[key];
});

afterAll(async () => {
  await fake.close();
  await rm(dir, { recursive: true, force: true });
});

interface ModelEntry {
  readonly name: string;
  readonly parameters: readonly string[];
  readonly path: string;
  readonly extra?: string;
  readonly ab?: ReadonlyArray<{ readonly name: string; readonly weight: number; readonly path?: string }>;
}

/** Writes models.yaml (one file per test and commit) and returns its path. */
async function writeFleet(file: string, models: readonly ModelEntry[]): Promise<string> {
  const lines = ['defaults:', '  endpoint: probability', 'models:'];
  for (const m of models) {
    lines.push(`  - name: ${m.name}`, `    parameters: [${m.parameters.join(', ')}]`, `    path: models/${m.path}`);
    if (m.extra) lines.push(`    ${m.extra}`);
    if (m.ab) {
      lines.push('    ab:', '      stickyHeader: x-user-id', '      variants:');
      for (const v of m.ab) lines.push(`        - { name: ${v.name}, weight: ${v.weight}${v.path ? `, path: models/${v.path}` : ''} }`);
    }
  }
  const path = join(dir, file);
  await writeFile(path, `${lines.join('\n')}\n`);
  return path;
}

/** What `modelfleet deploy --model` does on Kubernetes once the sizing and image are found: render, mark, deploy. */
async function deployModel(fleetFile: string, namespace: string, deployName: string, image: string, timeoutMs = fast.timeoutMs): Promise<'deployed' | 'unchanged' | 'failed'> {
  const fleet = loadFleet(fleetFile);
  const deployable = findDeployable(fleet, deployName);
  const rendered = renderModelManifests(deployable, SIZING, { namespace, image });
  const manifests = await markDeployedConfig(fleet, deployable, rendered.map((m) => m.object as KubeObject));
  try {
    return (await deployToKube({ kube, deployName, environment: 'dev', namespace, manifests, pollMs: fast.pollMs, timeoutMs })).outcome;
  } catch (err) {
    if (isUserError(err) && err.code === 'DEPLOY_ROLLOUT_FAILED') return 'failed';
    throw err;
  }
}

async function deployGateway(fleetFile: string, namespace: string): Promise<{ lines: string[]; result: Awaited<ReturnType<typeof deployGatewayToKube>> }> {
  const lines: string[] = [];
  const result = await deployGatewayToKube({ kube, file: fleetFile, out: join(dir, 'build'), environment: 'dev', namespace, ...fast, env: gatewayEnv, print: (line) => lines.push(line) });
  return { lines, result };
}

function liveRoutes(namespace: string): RouteTable {
  const configMap = fake.objects('ConfigMap', namespace).find((c) => (c.metadata as { name: string }).name === 'modelfleet-gateway-routes');
  return JSON.parse((configMap?.data as Record<string, string>)['routes.json'] ?? '{}') as RouteTable;
}

function routeOf(table: RouteTable, model: string): RouteEntry | undefined {
  return table.routes.find((r) => r.model === model);
}

const weights = (entry: RouteEntry | undefined) => entry?.variants.map((v) => [v.deployName, v.weight]);

describe('gateway:deploy after some model deploys failed (fake API server)', () => {
  it('gives healthy models their new routes, keeps a failed model on its previous route, leaves out a new model whose first deploy failed, and succeeds', async () => {
    const ns = 'modelfleet-partial';
    const first = await writeFleet('partial-1.yaml', [
      { name: 'match-1-taxi', parameters: ['1', 'TAXI', 'trafficaware'], path: 'match-logreg-v1', ab: [{ name: 'v1', weight: 80 }, { name: 'v2', weight: 20, path: 'match-logreg-v2' }] },
      { name: 'match-2-moto', parameters: ['2', 'MOTO', 'baseline'], path: 'match-trees' },
    ]);
    expect(await deployModel(first, ns, 'match-1-taxi-v1', 'modelfleet/match-1-taxi-v1:111111111111')).toBe('deployed');
    expect(await deployModel(first, ns, 'match-1-taxi-v2', 'modelfleet/match-1-taxi-v2:222222222222')).toBe('deployed');
    expect(await deployModel(first, ns, 'match-2-moto', 'modelfleet/match-2-moto:333333333333')).toBe('deployed');
    const initial = await deployGateway(first, ns);
    expect(initial.lines.filter((l) => l.startsWith('warning:'))).toEqual([]);
    const before = liveRoutes(ns);
    expect(before.routes.map((r) => r.route)).toEqual(['/probability/1/TAXI/trafficaware', '/probability/2/MOTO/baseline']);

    // The next commit: match-1-taxi moves to 50/50 with a new v2 model; match-2-moto gets a new
    // route and a new scaling setting; match-3-van is new. Their deploy jobs run (v1 has none:
    // only its weight changed), and two of them fail.
    const second = await writeFleet('partial-2.yaml', [
      { name: 'match-1-taxi', parameters: ['1', 'TAXI', 'trafficaware'], path: 'match-logreg-v1', ab: [{ name: 'v1', weight: 50 }, { name: 'v2', weight: 50, path: 'match-mlp' }] },
      { name: 'match-2-moto', parameters: ['2', 'MOTO', 'trafficaware'], path: 'match-trees', extra: 'scaling: { maxReplicas: 5 }' },
      { name: 'match-3-van', parameters: ['3', 'VAN', 'baseline'], path: 'match-trees' },
    ]);
    expect(await deployModel(second, ns, 'match-1-taxi-v2', 'modelfleet/match-1-taxi-v2:444444444444-never-ready', 600)).toBe('failed');
    expect(await deployModel(second, ns, 'match-2-moto', 'modelfleet/match-2-moto:555555555555')).toBe('deployed');
    expect(await deployModel(second, ns, 'match-3-van', 'modelfleet/match-3-van:666666666666-never-ready', 600)).toBe('failed');
    // The failed rollouts were rolled back: v2's previous version serves, match-3-van has nothing.
    expect(fake.servedImages(ns, 'match-1-taxi-v2')).toEqual(['modelfleet/match-1-taxi-v2:222222222222']);
    expect(fake.objects('Deployment', ns).map((d) => (d.metadata as { name: string }).name)).not.toContain('match-3-van');

    const { lines, result } = await deployGateway(second, ns);

    const after = liveRoutes(ns);
    expect(routeOf(after, 'match-2-moto')?.route).toBe('/probability/2/MOTO/trafficaware');
    expect(after.routes.map((r) => r.route)).not.toContain('/probability/2/MOTO/baseline');
    expect(routeOf(after, 'match-1-taxi')).toEqual(routeOf(before, 'match-1-taxi'));
    expect(weights(routeOf(after, 'match-1-taxi'))).toEqual([['match-1-taxi-v1', 80], ['match-1-taxi-v2', 20]]);
    expect(routeOf(after, 'match-3-van')).toBeUndefined();
    expect(result.models.map((m) => [m.model, m.outcome])).toEqual([
      ['match-1-taxi', 'previous'],
      ['match-2-moto', 'new'],
      ['match-3-van', 'left-out'],
    ]);
    const warnings = lines.filter((l) => l.startsWith('warning:'));
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatch(/^warning: model match-1-taxi keeps its previous route table entry \(\/probability\/1\/TAXI\/trafficaware with its earlier variants and weights\): match-1-taxi-v2 runs an earlier version .*re-run `match-1-taxi-v2:deploy:dev`, then `gateway:deploy:dev`$/);
    expect(warnings[1]).toMatch(/^warning: model match-3-van is left out of the route table .*\/probability\/3\/VAN\/baseline answers 404: match-3-van has no Deployment in namespace modelfleet-partial .*re-run `match-3-van:deploy:dev`, then `gateway:deploy:dev`$/);
    expect(lines.at(-1)).toMatch(/gateway: 2 route\(s\) served by Service modelfleet-gateway\.modelfleet-partial; 2 model\(s\) not on this commit's route/);
    // The gateway itself rolled out (two replicas, one image).
    expect(new Set(fake.servedImages(ns, 'modelfleet-gateway')).size).toBe(1);

    // Once the failed variant is fixed and deployed, the next gateway deploy gives its model the new route.
    expect(await deployModel(second, ns, 'match-1-taxi-v2', 'modelfleet/match-1-taxi-v2:777777777777')).toBe('deployed');
    const fixed = await deployGateway(second, ns);
    expect(weights(routeOf(liveRoutes(ns), 'match-1-taxi'))).toEqual([['match-1-taxi-v1', 50], ['match-1-taxi-v2', 50]]);
    expect(fixed.lines.filter((l) => l.startsWith('warning:'))).toEqual([expect.stringMatching(/^warning: model match-3-van is left out/)]);
  }, 60_000);

  it('moves a model to new A/B weights and a new route when only gateway settings changed (no model job ran)', async () => {
    const ns = 'modelfleet-reweight';
    const first = await writeFleet('reweight-1.yaml', [
      { name: 'match-4-taxi', parameters: ['4', 'TAXI', 'trafficaware'], path: 'match-logreg-v1', ab: [{ name: 'v1', weight: 90 }, { name: 'v2', weight: 10, path: 'match-logreg-v2' }] },
    ]);
    expect(await deployModel(first, ns, 'match-4-taxi-v1', 'modelfleet/match-4-taxi-v1:111111111111')).toBe('deployed');
    expect(await deployModel(first, ns, 'match-4-taxi-v2', 'modelfleet/match-4-taxi-v2:222222222222')).toBe('deployed');
    await deployGateway(first, ns);

    const second = await writeFleet('reweight-2.yaml', [
      { name: 'match-4-taxi', parameters: ['4', 'TAXI', 'v2'], path: 'match-logreg-v1', ab: [{ name: 'v1', weight: 40 }, { name: 'v2', weight: 60, path: 'match-logreg-v2' }] },
    ]);
    const { lines } = await deployGateway(second, ns);

    const entry = routeOf(liveRoutes(ns), 'match-4-taxi');
    expect(entry?.route).toBe('/probability/4/TAXI/v2');
    expect(weights(entry)).toEqual([['match-4-taxi-v1', 40], ['match-4-taxi-v2', 60]]);
    expect(lines.filter((l) => l.startsWith('warning:'))).toEqual([]);
  }, 60_000);

  it('does not trust a Deployment that carries no mark (deployed by an older modelfleet) until it is deployed again, and says why', async () => {
    const ns = 'modelfleet-unmarked';
    const fleetFile = await writeFleet('unmarked.yaml', [{ name: 'match-5-moto', parameters: ['5', 'MOTO', 'baseline'], path: 'match-trees' }]);
    const fleet = loadFleet(fleetFile);
    // An older modelfleet's deploy: the same manifests without the mark; then a gateway table
    // that routes to it (the gateway deploy itself sees no mark and has no previous table yet).
    const rendered = renderModelManifests(findDeployable(fleet, 'match-5-moto'), SIZING, { namespace: ns, image: 'modelfleet/match-5-moto:888888888888' });
    await deployToKube({ kube, deployName: 'match-5-moto', environment: 'dev', namespace: ns, manifests: rendered.map((m) => m.object as KubeObject), ...fast });
    const first = await deployGateway(fleetFile, ns);
    expect(liveRoutes(ns).routes).toEqual([]);
    expect(first.lines.find((l) => l.startsWith('warning:'))).toMatch(/match-5-moto is left out .*was deployed by a modelfleet that did not record what it deployed/);

    expect(await deployModel(fleetFile, ns, 'match-5-moto', 'modelfleet/match-5-moto:888888888888')).toBe('deployed');
    // The mark is metadata, not pod template: adding it rolled nothing (same generation, same pods).
    const deployment = fake.objects('Deployment', ns).find((d) => (d.metadata as { name: string }).name === 'match-5-moto');
    expect((deployment?.metadata as { generation: number; annotations: Record<string, string> }).generation).toBe(1);
    expect((deployment?.metadata as { annotations: Record<string, string> }).annotations['modelfleet.io/deployed-config']).toMatch(/^[0-9a-f]{16}$/);
    const second = await deployGateway(fleetFile, ns);
    expect(liveRoutes(ns).routes.map((r) => r.route)).toEqual(['/probability/5/MOTO/baseline']);
    expect(second.lines.filter((l) => l.startsWith('warning:'))).toEqual([]);
  }, 60_000);
});
