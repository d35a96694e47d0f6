import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createGateway, type Gateway } from '../../serving/gateway/create-gateway.js';
import { writeRouteTable } from '../../serving/gateway/route-table-file.js';
import { buildRouteTable } from '../../serving/gateway/route-table.js';
import { startFakeUpstream, type FakeUpstream } from './fake-upstream.js';
import { fleet, model, variant } from './fleet-fixture.js';

const BODY = JSON.stringify({ dataframe_split: { columns: ['x'], data: [[1.5]] } });
const ROUTES = ['/probability/1/BIKE/basic', '/probability/2/TAXI/trafficaware', '/probability/3/VAN/xl'];

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

/** Bounded load on one route: a few connections, a fixed duration, stops by itself. */
function load(url: string, seconds: number, headers: Record<string, string> = {}): Promise<autocannon.Result> {
  return autocannon({
    url,
    method: 'POST',
    connections: 4,
    duration: seconds,
    timeout: 5,
    headers: { 'content-type': 'application/json', ...headers },
    body: BODY,
  });
}

function count(result: autocannon.Result, status: number): number {
  return result.statusCodeStats?.[`${status}`]?.count ?? 0;
}

describe('gateway under load', () => {
  it('answers 503 only on the route whose model server died mid-load; the other routes keep answering 200', async () => {
    const ups: FakeUpstream[] = [];
    for (const name of ['bike', 'taxi', 'van']) ups.push(await startFakeUpstream(name));
    cleanup.push(() => Promise.all(ups.map((u) => u.kill())));
    const table = buildRouteTable(
      fleet(ROUTES.map((route, i) => model(['bike', 'taxi', 'van'][i] as string, route, [variant(['bike', 'taxi', 'van'][i] as string, 100)]))),
      (name) => ups.find((u) => u.name === name)?.url ?? '',
    );
    const gateway = await createGateway({ table, upstreamTimeoutMs: 1_000, logger: pino({ level: 'silent' }) });
    cleanup.push(() => gateway.close());
    const url = await gateway.listen(0);

    const runs = ROUTES.map((route) => load(`${url}${route}`, 3));
    setTimeout(() => void ups[1]?.kill(), 1_000);
    const [bike, taxi, van] = await Promise.all(runs);
    for (const healthy of [bike, van]) {
      expect(healthy?.errors).toBe(0);
      expect(healthy?.timeouts).toBe(0);
      expect(healthy?.non2xx).toBe(0);
      expect(count(healthy as autocannon.Result, 200)).toBeGreaterThan(50);
    }
    // The dead model's route: served before the kill, clear 503s after it, never a hang or a dropped connection.
    expect(taxi?.timeouts).toBe(0);
    expect(taxi?.errors).toBe(0);
    expect(count(taxi as autocannon.Result, 200)).toBeGreaterThan(10);
    expect(count(taxi as autocannon.Result, 503)).toBeGreaterThan(10);
    expect(count(taxi as autocannon.Result, 200) + count(taxi as autocannon.Result, 503)).toBe(taxi?.requests.total);
  });

  it('reloads its route table under load without failing or dropping a single request', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'modelfleet-gw-reload-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const old = await startFakeUpstream('old');
    const fresh = await startFakeUpstream('fresh');
    cleanup.push(() => Promise.all([old.kill(), fresh.kill()]));
    const route = ROUTES[1] as string;
    const tableFor = (target: FakeUpstream, weightA: number) => buildRouteTable(
      fleet([model('taxi', route, [variant(`taxi-a`, weightA, { id: 'a' }), variant('taxi-b', 100 - weightA, { id: 'b' })], 'x-rider-id')]),
      () => target.url,
    );
    const file = join(dir, 'routes.json');
    await writeRouteTable(file, tableFor(old, 50));
    const gateway: Gateway = await createGateway({ routesFile: file, upstreamTimeoutMs: 2_000, logger: pino({ level: 'silent' }) });
    cleanup.push(() => gateway.close());
    const url = await gateway.listen(0);

    const run = load(`${url}${route}`, 3);
    // Swap upstreams and weights ten times during the run, through the HTTP reload endpoint.
    for (let i = 0; i < 10; i++) {
      await new Promise((r) => setTimeout(r, 200));
      await writeRouteTable(file, tableFor(i % 2 === 0 ? fresh : old, (i * 10) % 100 + 10));
      const res = await fetch(`${url}/-/reload`, { method: 'POST' });
      expect(await res.json()).toMatchObject({ reloaded: true, changed: true });
    }
    const result = await run;
    expect(result.errors).toBe(0);
    expect(result.timeouts).toBe(0);
    expect(result.non2xx).toBe(0);
    expect(result.requests.total).toBeGreaterThan(200);
    expect(old.seen.length).toBeGreaterThan(0);
    expect(fresh.seen.length).toBeGreaterThan(0);
    expect(await gateway.metrics.registry.getSingleMetricAsString('modelfleet_gateway_route_table_reloads_total')).toContain('result="ok"} 10');
  });

  it('keeps serving the previous table when a reload reads a broken file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'modelfleet-gw-badreload-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const up = await startFakeUpstream('taxi');
    cleanup.push(() => up.kill());
    const file = join(dir, 'routes.json');
    await writeRouteTable(file, buildRouteTable(fleet([model('taxi', ROUTES[1] as string, [variant('taxi', 100)])]), () => up.url));
    const gateway = await createGateway({ routesFile: file, logger: pino({ level: 'silent' }) });
    cleanup.push(() => gateway.close());
    const url = await gateway.listen(0);
    const { writeFile } = await import('node:fs/promises');
    await writeFile(file, '{"format": 1, "routes": [{"route": "/x"');
    const res = await fetch(`${url}/-/reload`, { method: 'POST' });
    expect(res.status).toBe(422);
    expect(((await res.json()) as { reason: string }).reason).toMatch(/not valid JSON/);
    const still = await fetch(`${url}${ROUTES[1]}`, { method: 'POST', body: BODY, headers: { 'content-type': 'application/json' } });
    expect(still.status).toBe(200);
  });

  it('picks up a rewritten routes file by itself when watching it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'modelfleet-gw-watch-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const up = await startFakeUpstream('taxi');
    cleanup.push(() => up.kill());
    const file = join(dir, 'routes.json');
    const tableWith = (routes: string[]) => buildRouteTable(fleet(routes.map((r, i) => model(`m${i}`, r, [variant(`m${i}`, 100)]))), () => up.url);
    await writeRouteTable(file, tableWith([ROUTES[0] as string]));
    const gateway = await createGateway({ routesFile: file, watch: true, logger: pino({ level: 'silent' }) });
    cleanup.push(() => gateway.close());
    await writeRouteTable(file, tableWith(ROUTES));
    await expect.poll(() => gateway.table().routes.length, { timeout: 5_000 }).toBe(3);
  });
});

describe('gateway routes file in a Kubernetes ConfigMap volume', () => {
  it('reloads when the volume swaps its ..data symlink to a new version of the file', async () => {
    const { mkdir, rename, symlink } = await import('node:fs/promises');
    const dir = await mkdtemp(join(tmpdir(), 'modelfleet-gw-configmap-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const up = await startFakeUpstream('taxi');
    cleanup.push(() => up.kill());
    const tableWith = (routes: readonly string[]) => buildRouteTable(fleet(routes.map((r, i) => model(`m${i}`, r, [variant(`m${i}`, 100)]))), () => up.url);
    // The kubelet's layout: routes.json -> ..data/routes.json, ..data -> ..<timestamp>/.
    await mkdir(join(dir, '..v1'));
    await writeRouteTable(join(dir, '..v1', 'routes.json'), tableWith([ROUTES[0] as string]));
    await symlink('..v1', join(dir, '..data'));
    await symlink(join('..data', 'routes.json'), join(dir, 'routes.json'));
    const gateway = await createGateway({ routesFile: join(dir, 'routes.json'), watch: true, logger: pino({ level: 'silent' }) });
    cleanup.push(() => gateway.close());
    expect(gateway.table().routes).toHaveLength(1);

    await mkdir(join(dir, '..v2'));
    await writeRouteTable(join(dir, '..v2', 'routes.json'), tableWith(ROUTES));
    await symlink('..v2', join(dir, '..data_tmp'));
    await rename(join(dir, '..data_tmp'), join(dir, '..data'));
    await expect.poll(() => gateway.table().routes.length, { timeout: 5_000 }).toBe(3);
  });
});
