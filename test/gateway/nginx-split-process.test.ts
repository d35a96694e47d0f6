import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findFreePort } from '../../lib/free-port.js';
import { createGateway, type Gateway } from '../../serving/gateway/create-gateway.js';
import { findNginx, startNginx, type NginxProcess } from '../../serving/gateway/nginx-process.js';
import { writeRouteTable } from '../../serving/gateway/route-table-file.js';
import { buildRouteTable } from '../../serving/gateway/route-table.js';
import { startFakeUpstream, type FakeUpstream } from './fake-upstream.js';
import { fleet, model, variant } from './fleet-fixture.js';

/*
 * Real nginx (Debian's 1.22, scripts/setup-nginx.sh) running the configuration that
 * `modelfleet gateway nginx-config` writes, next to the gateway, both in front of the same model
 * servers on 127.0.0.1. nginx runs as the current user from a temp folder of its own and is stopped
 * afterwards.
 */
const ROOT = resolve(import.meta.dirname, '../..');
const TAXI = '/probability/2/TAXI/trafficaware';
const BIKE = '/probability/1/BIKE/basic';
const BODY = JSON.stringify({ dataframe_split: { columns: ['x'], data: [[1.5]] } });

let dir = '';
let nginx: NginxProcess | undefined;
let gateway: Gateway | undefined;
let nginxUrl = '';
let gatewayUrl = '';
const ups: Record<string, FakeUpstream> = {};

beforeAll(async () => {
  expect(findNginx(), 'nginx is installed (bash scripts/setup-nginx.sh)').toBeDefined();
  for (const name of ['taxi-a', 'taxi-b', 'taxi-shadow', 'bike']) ups[name] = await startFakeUpstream(name);
  const table = buildRouteTable(fleet([
    model('match-taxi', TAXI, [variant('taxi-a', 70, { id: 'a' }), variant('taxi-b', 30, { id: 'b' }), variant('taxi-shadow', 0, { id: 'candidate', shadow: true })], 'x-rider-id'),
    model('match-bike', BIKE, [variant('bike', 100, { id: 'main' })]),
  ]), (name) => (ups[name] as FakeUpstream).url);
  dir = await mkdtemp(join(tmpdir(), 'modelfleet-nginx-test-'));
  await writeRouteTable(join(dir, 'routes.json'), table);
  const port = await findFreePort();
  // The real command, as a team would run it.
  const cli = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'cli/entry.ts'), 'gateway', 'nginx-config', '--routes', join(dir, 'routes.json'),
    '--listen', `127.0.0.1:${port}`, '--worker-processes', '1', '--upstream-timeout-ms', '2000', '--out', join(dir, 'nginx', 'nginx.conf')], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  expect(cli.status, cli.stderr).toBe(0);
  nginxUrl = `http://127.0.0.1:${port}`;
  nginx = await startNginx(await readFile(join(dir, 'nginx', 'nginx.conf'), 'utf8'), { dir: join(dir, 'nginx'), readyUrl: `${nginxUrl}/healthz` });
  gateway = await createGateway({ table, upstreamTimeoutMs: 2_000, logger: pino({ level: 'silent' }) });
  gatewayUrl = await gateway.listen(0);
}, 90_000);

afterAll(async () => {
  const pid = nginx?.pid;
  await nginx?.stop();
  if (pid !== undefined) expect(() => process.kill(pid, 0)).toThrow();
  await gateway?.close();
  await Promise.all(Object.values(ups).map((u) => u.kill()));
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

async function variantThrough(origin: string, headers: Record<string, string>): Promise<string> {
  const res = await fetch(`${origin}${TAXI}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: BODY });
  await res.arrayBuffer();
  expect(res.status).toBe(200);
  return res.headers.get('x-modelfleet-variant') ?? '';
}

describe('nginx running `modelfleet gateway nginx-config` next to the gateway', () => {
  it('sends each of 1,000 callers to the same variant as the gateway, so both split 70/30 alike', async () => {
    let same = 0;
    const share = { gateway: 0, nginx: 0 };
    const callers = 1000;
    for (let batch = 0; batch < callers; batch += 50) {
      await Promise.all(Array.from({ length: 50 }, async (_, j) => {
        // Every caller key, including one that is UTF-8 on the wire.
        const key = (batch + j) % 500 === 7 ? Buffer.from(`rïder-${batch + j}`, 'utf8').toString('latin1') : `rider-${batch + j}`;
        const [g, n] = await Promise.all([variantThrough(gatewayUrl, { 'x-rider-id': key }), variantThrough(nginxUrl, { 'x-rider-id': key })]);
        if (g === n) same++;
        if (g === 'a') share.gateway++;
        if (n === 'a') share.nginx++;
      }));
    }
    // The floor: the same share within ±3 points. What the shared hash gives: every caller alike.
    expect(Math.abs(share.gateway - share.nginx) / callers).toBeLessThanOrEqual(0.03);
    expect(same).toBe(callers);
    expect(share.nginx / callers).toBeGreaterThan(0.66);
    expect(share.nginx / callers).toBeLessThan(0.74);
  });

  it('splits callers without a key at random by weight, mirrors every request to the shadow, and names who answered', async () => {
    const shadowBefore = (ups['taxi-shadow'] as FakeUpstream).seen.length;
    let a = 0;
    for (let i = 0; i < 400; i += 40) {
      const got = await Promise.all(Array.from({ length: 40 }, () => variantThrough(nginxUrl, {})));
      a += got.filter((v) => v === 'a').length;
    }
    expect(a / 400).toBeGreaterThan(0.6);
    expect(a / 400).toBeLessThan(0.8);
    await expect.poll(() => (ups['taxi-shadow'] as FakeUpstream).seen.length - shadowBefore, { timeout: 10_000 }).toBeGreaterThanOrEqual(400);
    const res = await fetch(`${nginxUrl}${BIKE}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-request-id': 'r-1' }, body: BODY });
    expect(await res.json()).toMatchObject({ served_by: 'bike', echo: BODY });
    expect(res.headers.get('x-modelfleet-model')).toBe('match-bike');
    expect(res.headers.get('x-modelfleet-deploy-name')).toBe('bike');
    expect(res.headers.get('x-model-version')).toBe('bike-v1');
    expect((ups.bike as FakeUpstream).seen.at(-1)?.headers['x-request-id']).toBe('r-1');
  });

  it('answers unknown paths 404, other methods 405 and a model server that is down with a JSON 503', async () => {
    const unknown = await fetch(`${nginxUrl}/probability/9/NOPE`, { method: 'POST', body: BODY });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ error: 'no route', routes: [BIKE, TAXI] });
    const get = await fetch(`${nginxUrl}${BIKE}`);
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
    await (ups.bike as FakeUpstream).kill();
    const down = await fetch(`${nginxUrl}${BIKE}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: BODY });
    expect(down.status).toBe(503);
    expect(down.headers.get('retry-after')).toBe('1');
    expect(await down.json()).toMatchObject({ error: 'model unavailable', model: 'match-bike', variant: 'main', deployName: 'bike' });
    expect(await (nginx as NginxProcess).errorLog()).not.toMatch(/\[emerg\]/);
  });
});
