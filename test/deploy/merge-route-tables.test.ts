import { describe, expect, it } from 'vitest';
import { describeHeldBackRoutes, mergeRouteTables, type DeployedVariant } from '../../pipeline/deploy/gateway/merge-route-tables.js';
import { computeDeployedConfig, withDeployedConfig, DEPLOYED_CONFIG_ANNOTATION } from '../../pipeline/deploy/deployed-config.js';
import type { Deployable } from '../../generator/fleet/types.js';
import type { KubeObject } from '../../pipeline/seams/kube.js';
import type { RouteEntry, RouteTable, RouteVariant } from '../../serving/gateway/route-table.js';

function variant(deployName: string, weight: number, shadow = false): RouteVariant {
  return { id: deployName.split('-').at(-1) ?? 'main', deployName, upstream: `http://${deployName}.ns.svc.cluster.local:80`, predictPath: '/invocations', weight, shadow, source: `path:models/${deployName}` };
}

function entry(model: string, route: string, variants: RouteVariant[]): RouteEntry {
  return { route, model, stickyHeader: 'x-user-id', variants };
}

function table(...routes: RouteEntry[]): RouteTable {
  return { format: 1, routes: [...routes].sort((a, b) => a.route.localeCompare(b.route)) };
}

const current: DeployedVariant = { state: 'current' };
const outdated: DeployedVariant = { state: 'outdated', why: 'runs an earlier version' };
const states = (entries: Record<string, DeployedVariant>) => new Map(Object.entries(entries));

describe('mergeRouteTables', () => {
  it('gives every model its new entry when all its variants run this commit\'s version', () => {
    const desired = table(entry('a', '/p/a', [variant('a-v1', 50), variant('a-v2', 50)]), entry('b', '/p/b', [variant('b', 100)]));
    const previous = table(entry('a', '/p/a', [variant('a-v1', 90), variant('a-v2', 10)]), entry('b', '/p/b-old', [variant('b', 100)]));

    const merged = mergeRouteTables({ desired, previous, deployed: states({ 'a-v1': current, 'a-v2': current, b: current }) });

    expect(merged.table).toEqual(desired);
    expect(merged.models.map((m) => m.outcome)).toEqual(['new', 'new']);
    expect(describeHeldBackRoutes(merged.models, 'namespace ns')).toEqual([]);
  });

  it('keeps a model whose variant is outdated on its previous entry: route, weights and variants', () => {
    const oldA = entry('a', '/p/a-old', [variant('a-v1', 90), variant('a-v2', 10)]);
    const desired = table(entry('a', '/p/a', [variant('a-v1', 50), variant('a-v2', 50)]), entry('b', '/p/b', [variant('b', 100)]));

    const merged = mergeRouteTables({ desired, previous: table(oldA, entry('b', '/p/b', [variant('b', 100)])), deployed: states({ 'a-v1': current, 'a-v2': outdated, b: current }) });

    expect(merged.table.routes).toEqual([oldA, entry('b', '/p/b', [variant('b', 100)])]);
    expect(merged.models).toContainEqual({ outcome: 'previous', model: 'a', route: '/p/a-old', desiredRoute: '/p/a', heldBack: [{ deployName: 'a-v2', shadow: false, why: 'runs an earlier version' }] });
    expect(describeHeldBackRoutes(merged.models, 'namespace ns')).toEqual([
      'warning: model a keeps its previous route table entry (/p/a-old with its earlier variants and weights; /p/a answers 404 until then): a-v2 runs an earlier version; fix it and re-run `a-v2:deploy`, then `gateway:deploy`',
    ]);
    // In an environment, the jobs as the child pipeline names them there.
    expect(describeHeldBackRoutes(merged.models, 'namespace ns', 'staging')[0]).toMatch(/fix it and re-run `a-v2:deploy:staging`, then `gateway:deploy:staging`$/);
  });

  it('leaves out a model that was never deployed: no previous entry, no route to nothing', () => {
    const desired = table(entry('new', '/p/new', [variant('new', 100)]), entry('b', '/p/b', [variant('b', 100)]));

    const merged = mergeRouteTables({ desired, previous: table(entry('b', '/p/b', [variant('b', 100)])), deployed: states({ b: current }) });

    expect(merged.table.routes.map((r) => r.model)).toEqual(['b']);
    expect(merged.models).toContainEqual({ outcome: 'left-out', model: 'new', desiredRoute: '/p/new', heldBack: [{ deployName: 'new', shadow: false, why: undefined }], why: 'the gateway never routed to it' });
    expect(describeHeldBackRoutes(merged.models, 'namespace ns')).toEqual([
      'warning: model new is left out of the route table (the gateway never routed to it), so /p/new answers 404: new has no Deployment in namespace ns (its first deploy failed or has not run); fix it and re-run `new:deploy`, then `gateway:deploy`',
    ]);
  });

  it('leaves out a held-back model whose previous route now belongs to a model on its new route', () => {
    const desired = table(entry('a', '/p/a', [variant('a', 100)]), entry('b', '/p/old-a', [variant('b', 100)]));
    const previous = table(entry('a', '/p/old-a', [variant('a', 100)]), entry('b', '/p/b', [variant('b', 100)]));

    const merged = mergeRouteTables({ desired, previous, deployed: states({ a: outdated, b: current }) });

    expect(merged.table.routes).toEqual([entry('b', '/p/old-a', [variant('b', 100)])]);
    expect(merged.models.find((m) => m.model === 'a')).toMatchObject({ outcome: 'left-out', why: 'its previous route /p/old-a now belongs to model b' });
  });

  it('leaves out a held-back model whose previous entry points at a variant that has no Deployment', () => {
    const desired = table(entry('a', '/p/a', [variant('a-v1', 50), variant('a-v3', 50)]));
    const previous = table(entry('a', '/p/a', [variant('a-v1', 50), variant('a-v2', 50)]));

    const merged = mergeRouteTables({ desired, previous, deployed: states({ 'a-v1': current }) });

    expect(merged.table.routes).toEqual([]);
    expect(merged.models[0]).toMatchObject({ outcome: 'left-out', why: 'its previous route pointed at a-v2, which has no Deployment' });
  });

  it('keeps a previous entry whose variant left models.yaml but still runs (the gateway then must not prune it)', () => {
    const desired = table(entry('a', '/p/a', [variant('a-v1', 50), variant('a-v3', 50)]));
    const previous = table(entry('a', '/p/a', [variant('a-v1', 50), variant('a-v2', 50)]));

    const merged = mergeRouteTables({ desired, previous, deployed: states({ 'a-v1': current, 'a-v2': { state: 'outdated', why: 'is no longer in models.yaml' } }) });

    expect(merged.table.routes).toEqual(previous.routes);
    expect(merged.models[0]).toMatchObject({ outcome: 'previous', heldBack: [{ deployName: 'a-v3', shadow: false, why: undefined }] });
  });

  it('serves the new entry without a shadow that is not current, and says so', () => {
    const desired = table(entry('a', '/p/a', [variant('a-v1', 100), variant('a-shadow', 0, true)]));

    const merged = mergeRouteTables({ desired, previous: undefined, deployed: states({ 'a-v1': current, 'a-shadow': outdated }) });

    expect(merged.table.routes).toEqual([entry('a', '/p/a', [variant('a-v1', 100)])]);
    expect(describeHeldBackRoutes(merged.models, 'namespace ns')).toEqual([
      'warning: model a gets its new route /p/a without its shadow a-shadow: runs an earlier version; fix it and re-run `a-shadow:deploy`, then `gateway:deploy`',
    ]);
  });

  it('drops a shadow that has no Deployment from a kept previous entry, keeping the serving split', () => {
    const desired = table(entry('a', '/p/a', [variant('a-v1', 50), variant('a-v2', 50)]));
    const previous = table(entry('a', '/p/a', [variant('a-v1', 100), variant('a-old-shadow', 0, true)]));

    const merged = mergeRouteTables({ desired, previous, deployed: states({ 'a-v1': current, 'a-v2': outdated }) });

    expect(merged.table.routes).toEqual([entry('a', '/p/a', [variant('a-v1', 100)])]);
  });

  it('leaves out every held-back model when there is no live table (first gateway deploy, or unreadable)', () => {
    const desired = table(entry('a', '/p/a', [variant('a', 100)]), entry('b', '/p/b', [variant('b', 100)]));

    const merged = mergeRouteTables({ desired, previous: undefined, deployed: states({ a: outdated, b: current }) });

    expect(merged.table.routes.map((r) => r.model)).toEqual(['b']);
    expect(merged.models.map((m) => [m.model, m.outcome])).toEqual([['a', 'left-out'], ['b', 'new']]);
  });
});

describe('the deployed-config mark', () => {
  const deployable = {
    model: {
      name: 'm', endpoint: 'probability', parameters: ['1'], route: '/probability/1', stickyHeader: 'x-user-id',
      batching: { enabled: true, maxBatchSize: 32, maxLatencyMs: 5 }, scaling: { minReplicas: 1, maxReplicas: 3, targetCpuUtilization: 70 },
      loadtest: { durationSeconds: 5, connections: 4, rowsPerRequest: 1, p99BudgetMs: 250 }, scheduling: { nodeSelector: {}, tolerations: [] },
      secretEnv: [], envFromSecrets: [], keepVersions: 1, location: { line: 1, column: 1 }, variants: [],
    },
    variant: { id: 'main', deployName: 'm', source: { kind: 'path', path: 'models/m' }, weight: 100, shadow: false },
  } satisfies Deployable;

  it('changes with the model files and the build config, never with route, weight or sticky header', () => {
    const mark = computeDeployedConfig(deployable, 'sha256:aaa');
    expect(mark).toMatch(/^[0-9a-f]{16}$/);
    expect(computeDeployedConfig(deployable, 'sha256:bbb')).not.toBe(mark);
    expect(computeDeployedConfig({ ...deployable, model: { ...deployable.model, scaling: { ...deployable.model.scaling, maxReplicas: 4 } } }, 'sha256:aaa')).not.toBe(mark);
    const rerouted = { model: { ...deployable.model, route: '/probability/2', parameters: ['2'], stickyHeader: 'x-other' }, variant: { ...deployable.variant, weight: 50 } };
    expect(computeDeployedConfig(rerouted, 'sha256:aaa')).toBe(mark);
  });

  it('goes on the Deployment\'s metadata only, never on its pod template', () => {
    const objects: KubeObject[] = [
      { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'm', annotations: { keep: 'me' } }, spec: { template: { metadata: { labels: { a: 'b' } } } } },
      { apiVersion: 'v1', kind: 'Service', metadata: { name: 'm' } },
    ];
    const [deployment, service] = withDeployedConfig(objects, '0123456789abcdef');
    expect(deployment?.metadata.annotations).toEqual({ keep: 'me', [DEPLOYED_CONFIG_ANNOTATION]: '0123456789abcdef' });
    expect(deployment?.spec).toEqual(objects[0]?.spec);
    expect(service).toEqual(objects[1]);
    expect(objects[0]?.metadata.annotations).toEqual({ keep: 'me' });
  });
});
