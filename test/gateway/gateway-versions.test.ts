import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { createGateway } from '../../serving/gateway/create-gateway.js';
import { validateRouteTable } from '../../serving/gateway/route-table-file.js';
import { buildRouteTable, type RouteTable, type VariantVersions } from '../../serving/gateway/route-table.js';
import type { FakeUpstream } from './fake-upstream.js';
import { closeStartedAfterEach } from './started-in-test.js';
import { fleet, model, variant } from './fleet-fixture.js';

const TAXI = '/probability/2/TAXI/trafficaware';
const BIKE = '/probability/1/BIKE/basic';
const BODY = JSON.stringify({ dataframe_split: { columns: ['x'], data: [[1.5]] } });

const started = closeStartedAfterEach();
const upstream = (name: string): Promise<FakeUpstream> => started.upstream(name);

/** An A/B taxi model (a 70 / b 30, a at version 7 with 6 and 5 kept, b at version 9) and a bike model without versions. */
type Upstreams = Record<'a7' | 'a6' | 'a5' | 'b9' | 'bike', FakeUpstream>;

async function versionedTable(): Promise<{ table: RouteTable; ups: Upstreams }> {
  const ups: Upstreams = {
    a7: await upstream('a7'), a6: await upstream('a6'), a5: await upstream('a5'), b9: await upstream('b9'), bike: await upstream('bike'),
  };
  const spec = fleet([
    model('match-taxi', TAXI, [variant('taxi-a', 70, { id: 'a' }), variant('taxi-b', 30, { id: 'b' })], 'x-rider-id'),
    model('match-bike', BIKE, [variant('bike', 100, { id: 'main' })]),
  ]);
  const versions: Record<string, VariantVersions> = {
    'taxi-a': { current: '7', kept: [{ version: '6', upstream: ups.a6.url, source: 'path:/m/6' }, { version: '5', upstream: `${ups.a5.url}/`, source: 'path:/m/5' }] },
    'taxi-b': { current: '9', kept: [] },
  };
  const upstreamOf: Record<string, string> = { 'taxi-a': ups.a7.url, 'taxi-b': ups.b9.url, bike: ups.bike.url };
  const table = buildRouteTable(spec, (name) => upstreamOf[name] ?? 'http://127.0.0.1:9', { versionsFor: (name) => versions[name] });
  return { table, ups };
}

async function startGateway(table: RouteTable): Promise<string> {
  const gateway = await createGateway({ table, upstreamTimeoutMs: 2_000, logger: pino({ level: 'silent' }), version: '1.2.3', random: () => 0.01 });
  started.gateways.push(gateway);
  return gateway.listen(0);
}

const post = (url: string, headers: Record<string, string> = {}) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: BODY });

describe('version paths', () => {
  it('puts the current version on variants and the kept versions on the route, and a model without versions carries neither', async () => {
    const { table } = await versionedTable();
    const taxi = table.routes.find((r) => r.route === TAXI);
    expect(taxi?.variants.map((v) => v.version)).toEqual(['7', '9']);
    expect(taxi?.kept?.map((k) => [k.id, k.deployName, k.version, k.predictPath])).toEqual([['a', 'taxi-a', '6', '/invocations'], ['a', 'taxi-a', '5', '/invocations']]);
    expect(taxi?.kept?.[1]?.upstream.endsWith('/')).toBe(false);
    const bike = table.routes.find((r) => r.route === BIKE);
    expect(bike && 'kept' in bike).toBe(false);
    expect(bike?.variants[0] && 'version' in bike.variants[0]).toBe(false);
    // The route file round-trips through validation unchanged.
    expect(validateRouteTable(JSON.parse(JSON.stringify(table)), 'routes.json')).toEqual(table);
  });

  it('answers /<route>/versions/<v> from exactly that version, current or kept, with no split and a version header', async () => {
    const { table, ups } = await versionedTable();
    const url = await startGateway(table);
    for (const [version, served] of [['7', 'a7'], ['9', 'b9'], ['6', 'a6'], ['5', 'a5']] as const) {
      for (let i = 0; i < 4; i++) {
        const res = await post(`${url}${TAXI}/versions/${version}`, { 'x-rider-id': `rider-${i}` });
        expect(res.status).toBe(200);
        expect(((await res.json()) as { served_by: string }).served_by).toBe(served);
        expect(res.headers.get('x-modelfleet-version')).toBe(version);
        expect(res.headers.get('x-modelfleet-model')).toBe('match-taxi');
        expect(res.headers.get('x-modelfleet-deploy-name')).toBe(served === 'b9' ? 'taxi-b' : 'taxi-a');
      }
    }
    expect(ups.a6.seen.map((s) => s.path)).toEqual(['/invocations', '/invocations', '/invocations', '/invocations']);
    // A trailing slash reaches the same version.
    const slash = await post(`${url}${TAXI}/versions/6/`);
    expect(((await slash.json()) as { served_by: string }).served_by).toBe('a6');
  });

  it('keeps the A/B split on the route itself, answered by current versions only', async () => {
    const { table, ups } = await versionedTable();
    const url = await startGateway(table);
    const served = new Set<string>();
    for (let i = 0; i < 40; i++) {
      const res = await post(`${url}${TAXI}`, { 'x-rider-id': `rider-${i}` });
      served.add(((await res.json()) as { served_by: string }).served_by);
    }
    expect([...served].sort()).toEqual(['a7', 'b9']);
    expect(ups.a6.seen).toHaveLength(0);
    expect(ups.a5.seen).toHaveLength(0);
  });

  it('answers an unknown version of a known route with 404 and the versions that exist; other paths keep the plain 404', async () => {
    const { table } = await versionedTable();
    const url = await startGateway(table);
    const res = await post(`${url}${TAXI}/versions/4`);
    expect(res.status).toBe(404);
    const body = (await res.json()) as { error: string; route: string; version: string; reason: string; versions: string[] };
    expect(body).toMatchObject({ error: 'no such version', route: TAXI, version: '4', versions: ['7', '9', '6', '5'] });
    expect(body.reason).toContain('"4"');
    const bike = (await (await post(`${url}${BIKE}/versions/1`)).json()) as { versions: string[]; reason: string };
    expect(bike.versions).toEqual([]);
    const other = await post(`${url}/probability/9/versions/1`);
    expect(other.status).toBe(404);
    expect(((await other.json()) as { error: string }).error).toBe('no route');
  });

  it('shows the version paths in /routes and in the OpenAPI document', async () => {
    const { table } = await versionedTable();
    const url = await startGateway(table);
    const routes = (await (await fetch(`${url}/routes`)).json()) as { routes: { route: string; variants: { version?: string; path?: string }[]; kept?: { version: string; path: string }[] }[] };
    const taxi = routes.routes.find((r) => r.route === TAXI);
    expect(taxi?.variants.map((v) => v.path)).toEqual([`${TAXI}/versions/7`, `${TAXI}/versions/9`]);
    expect(taxi?.kept?.map((k) => k.path)).toEqual([`${TAXI}/versions/6`, `${TAXI}/versions/5`]);
    const doc = (await (await fetch(`${url}/openapi.json`)).json()) as { paths: Record<string, { post: { summary: string; description: string; operationId: string } }> };
    expect(Object.keys(doc.paths).filter((p) => p.startsWith(TAXI)).sort()).toEqual([TAXI, ...['5', '6', '7', '9'].map((v) => `${TAXI}/versions/${v}`)]);
    expect(doc.paths[`${TAXI}/versions/6`]?.post.description).toContain('kept from an earlier deploy');
    expect(new Set(Object.values(doc.paths).map((p) => p.post.operationId)).size).toBe(Object.keys(doc.paths).length);
  });

  it('routes every version of a Kubernetes table through its own Service, and leaves the route itself without a version header', async () => {
    // As gateway:deploy writes it on Kubernetes: the route reaches the model's Service (whichever
    // version it selects now); each running version, the serving one too, is listed with its own Service.
    const ups = { service: await upstream('service'), unit7: await upstream('unit7'), unit6: await upstream('unit6') };
    const spec = fleet([model('match-taxi', TAXI, [variant('taxi-a', 100, { id: 'a' })])]);
    const table = buildRouteTable(spec, () => ups.service.url, {
      versionsFor: () => ({ kept: [{ version: '7', upstream: ups.unit7.url, source: 'image:r/taxi-a:7' }, { version: '6', upstream: ups.unit6.url, source: 'image:r/taxi-a:6' }] }),
    });
    expect(validateRouteTable(JSON.parse(JSON.stringify(table)), 'routes.json')).toEqual(table);
    const url = await startGateway(table);
    const plain = await post(`${url}${TAXI}`);
    expect(((await plain.json()) as { served_by: string }).served_by).toBe('service');
    expect(plain.headers.get('x-modelfleet-version')).toBeNull();
    for (const [version, served] of [['7', 'unit7'], ['6', 'unit6']] as const) {
      const res = await post(`${url}${TAXI}/versions/${version}`);
      expect(((await res.json()) as { served_by: string }).served_by).toBe(served);
      expect(res.headers.get('x-modelfleet-version')).toBe(version);
    }
    expect(((await (await post(`${url}${TAXI}/versions/5`)).json()) as { versions: string[] }).versions).toEqual(['7', '6']);
  });

  it('refuses route files whose kept versions are malformed, twice kept, or of no variant, and routes under another route\'s /versions/', async () => {
    const { table } = await versionedTable();
    const taxi = table.routes.find((r) => r.route === TAXI);
    const withKept = (kept: unknown): unknown => ({ ...table, routes: table.routes.map((r) => (r.route === TAXI ? { ...r, kept } : r)) });
    const first = taxi?.kept?.[0];
    expect(() => validateRouteTable(withKept([{ ...first, version: 'a/b' }]), 'routes.json')).toThrow(/routes\.\d\.kept\.0\.version/);
    expect(() => validateRouteTable(withKept([first, first]), 'routes.json')).toThrow(/version 6 is kept twice/);
    expect(() => validateRouteTable(withKept([{ ...first, deployName: 'taxi-z' }]), 'routes.json')).toThrow(/taxi-z is no variant/);
    const shadowing = { ...table, routes: [...table.routes, { ...table.routes[0], route: `${TAXI}/versions/6` }] };
    expect(() => validateRouteTable(shadowing, 'routes.json')).toThrow(/lies under .*\/versions\//);
  });
});
