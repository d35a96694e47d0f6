import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { createRandom } from '../../lib/seeded-random.js';
import { createGateway } from '../../serving/gateway/create-gateway.js';
import { buildRouteTable } from '../../serving/gateway/route-table.js';
import type { FakeUpstream } from './fake-upstream.js';
import { closeStartedAfterEach } from './started-in-test.js';
import { fleet, model, variant } from './fleet-fixture.js';

const TAXI = '/probability/2/TAXI/trafficaware';
const BIKE = '/probability/1/BIKE/basic';
const BODY = JSON.stringify({ dataframe_split: { columns: ['x'], data: [[1.5]] } });

const started = closeStartedAfterEach();
const upstream = (name: string): Promise<FakeUpstream> => started.upstream(name);

/** A gateway over an A/B taxi model (a 70 / b 30, optional shadow) and a single-variant bike model. */
async function startGateway(ups: Record<string, FakeUpstream | string>, options: { shadow?: boolean; timeoutMs?: number; random?: () => number } = {}) {
  const taxiVariants = [variant('taxi-a', 70, { id: 'a' }), variant('taxi-b', 30, { id: 'b' })];
  if (options.shadow) taxiVariants.push(variant('taxi-shadow', 0, { id: 'candidate', shadow: true }));
  const spec = fleet([model('match-taxi', TAXI, taxiVariants, 'x-rider-id'), model('match-bike', BIKE, [variant('bike', 100, { id: 'main' })])]);
  const table = buildRouteTable(spec, (name) => {
    const u = ups[name];
    return typeof u === 'string' ? u : (u?.url ?? 'http://127.0.0.1:9');
  }, { inputsFor: (name) => (name === 'bike' ? { schema: { type: 'object', title: 'bike inputs' } } : undefined) });
  const gateway = await createGateway({ table, upstreamTimeoutMs: options.timeoutMs ?? 2_000, logger: pino({ level: 'silent' }), version: '1.2.3', ...(options.random ? { random: options.random } : {}) });
  started.gateways.push(gateway);
  const url = await gateway.listen(0);
  return { gateway, url };
}

interface GatewayErrorBody {
  error: string;
  route: string;
  model: string;
  variant: string;
  deployName: string;
  reason: string;
}

interface OpenApiDoc {
  openapi: string;
  info: { version: string };
  paths: Record<string, { post: {
    description: string;
    parameters: { name: string; in: string }[];
    requestBody: { content: Record<string, { schema: unknown }> };
    responses: Record<string, { content: Record<string, { schema: { $ref?: string } }> }>;
  } }>;
}

interface RouteSummary {
  routes: { route: string; variants: { id: string; weight: number }[] }[];
}

async function readJson<T>(res: Response): Promise<T> {
  return (await res.json()) as T;
}

function post(url: string, headers: Record<string, string> = {}, body = BODY): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
}

describe('gateway proxy', () => {
  it('forwards the body and content type as-is to the variant\'s /invocations and names who answered', async () => {
    const bike = await upstream('bike');
    const { url } = await startGateway({ bike });
    const res = await post(`${url}${BIKE}`, { 'content-type': 'application/json; format=pandas-split', 'x-request-id': 'req-1' });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ served_by: 'bike', echo: BODY });
    expect(bike.seen).toHaveLength(1);
    expect(bike.seen[0]).toMatchObject({ path: '/invocations', contentType: 'application/json; format=pandas-split', body: BODY });
    expect(bike.seen[0]?.headers['x-request-id']).toBe('req-1');
    expect(res.headers.get('x-modelfleet-model')).toBe('match-bike');
    expect(res.headers.get('x-modelfleet-variant')).toBe('main');
    expect(res.headers.get('x-modelfleet-deploy-name')).toBe('bike');
    // The model server's own identity headers pass through.
    expect(res.headers.get('x-model-version')).toBe('bike-v1');
    expect(res.headers.get('x-model-digest')).toBe('sha256:bike');
  });

  it('keeps one caller on one variant and splits 1,000 callers by weight within tolerance', async () => {
    const a = await upstream('taxi-a');
    const b = await upstream('taxi-b');
    const { url } = await startGateway({ 'taxi-a': a, 'taxi-b': b });
    const first = new Map<string, string | null>();
    for (let round = 0; round < 3; round++) {
      const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => post(`${url}${TAXI}`, { 'x-rider-id': `rider-${i}` })));
      for (const [i, res] of answers.entries()) {
        await res.arrayBuffer();
        const v = res.headers.get('x-modelfleet-variant');
        if (round === 0) first.set(`rider-${i}`, v);
        else expect(v).toBe(first.get(`rider-${i}`));
      }
    }
    // The spread of the hash itself is pick-variant.test.ts's subject; here it is enough that the
    // gateway buckets by the sticky header: the keys are fixed, so the share is the same on every run.
    const counts = { a: 0, b: 0 };
    for (let batch = 0; batch < 1000; batch += 50) {
      const answers = await Promise.all(Array.from({ length: 50 }, (_, j) => post(`${url}${TAXI}`, { 'x-rider-id': `caller-${batch + j}` })));
      for (const res of answers) {
        await res.arrayBuffer();
        counts[res.headers.get('x-modelfleet-variant') as 'a' | 'b'] += 1;
      }
    }
    expect(counts.a + counts.b).toBe(1000);
    // 70% of 1,000 is 700 (one standard deviation is 1.5 points); a 50/50 or reversed split would land far outside ±5 points.
    expect(counts.a / 1000).toBeGreaterThan(0.65);
    expect(counts.a / 1000).toBeLessThan(0.75);
  });

  it('splits callers without a key at random by weight, drawing once per request', async () => {
    const a = await upstream('taxi-a');
    const b = await upstream('taxi-b');
    // Seeded, so the split is the same on every run: this can fail only when the weights are not applied.
    const seeded = createRandom(2024);
    let draws = 0;
    const random = () => {
      draws++;
      return seeded.next();
    };
    const { url } = await startGateway({ 'taxi-a': a, 'taxi-b': b }, { random });
    for (let i = 0; i < 400; i += 40) await Promise.all(Array.from({ length: 40 }, () => post(`${url}${TAXI}`).then((r) => r.arrayBuffer())));
    expect(a.seen.length + b.seen.length).toBe(400);
    expect(draws).toBe(400);
    expect(a.seen.length).toBeGreaterThan(400 * 0.6);
    expect(a.seen.length).toBeLessThan(400 * 0.8);
  });

  it('mirrors each request to the shadow and answers from the serving variant', async () => {
    const a = await upstream('taxi-a');
    const b = await upstream('taxi-b');
    const shadow = await upstream('taxi-shadow');
    const { url } = await startGateway({ 'taxi-a': a, 'taxi-b': b, 'taxi-shadow': shadow }, { shadow: true });
    for (let i = 0; i < 10; i++) {
      const res = await post(`${url}${TAXI}`, { 'x-rider-id': `r${i}` });
      expect(['a', 'b']).toContain(res.headers.get('x-modelfleet-variant'));
      expect((await readJson<{ served_by: string }>(res)).served_by).not.toBe('taxi-shadow');
    }
    await expect.poll(() => shadow.seen.length).toBe(10);
    expect(shadow.seen.every((s) => s.body === BODY && s.path === '/invocations')).toBe(true);
  });

  it('answers without waiting for a shadow that has not answered, and normally when the shadow is down', async () => {
    const a = await upstream('taxi-a');
    const b = await upstream('taxi-b');
    const slow = await upstream('taxi-shadow');
    const release = slow.hold();
    const { url, gateway } = await startGateway({ 'taxi-a': a, 'taxi-b': b, 'taxi-shadow': slow }, { shadow: true, timeoutMs: 10_000 });
    const shadowOutcomes = () => gateway.metrics.registry.getSingleMetricAsString('modelfleet_gateway_shadow_requests_total');
    const res = await post(`${url}${TAXI}`, { 'x-rider-id': 'r1' });
    expect(res.status).toBe(200);
    await res.arrayBuffer();
    // The caller has its answer while the shadow still holds the mirrored request: nothing waited
    // for the shadow, not even until its timeout (which would have counted an error).
    await expect.poll(() => slow.held).toBe(1);
    expect(await shadowOutcomes()).not.toMatch(/variant="candidate"/);
    release();
    await expect.poll(shadowOutcomes).toMatch(/variant="candidate",deploy_name="taxi-shadow",outcome="ok"} 1/);

    await slow.kill();
    const down = await post(`${url}${TAXI}`, { 'x-rider-id': 'r1' });
    expect(down.status).toBe(200);
    await expect.poll(async () => (await gateway.metrics.registry.getSingleMetricAsString('modelfleet_gateway_shadow_requests_total'))).toMatch(/variant="candidate",deploy_name="taxi-shadow",outcome="error"} [1-9]/);
  });

  it('answers a clear JSON 503 when a model server does not answer in time', async () => {
    const bike = await upstream('bike');
    // The model server takes the request and never answers: only the gateway's timeout can end it.
    bike.hold();
    const { url, gateway } = await startGateway({ bike }, { timeoutMs: 300 });
    const res = await post(`${url}${BIKE}`);
    expect(res.status).toBe(503);
    expect(bike.held).toBe(1);
    const body = await readJson<GatewayErrorBody>(res);
    expect(body).toMatchObject({ error: 'model unavailable', route: BIKE, model: 'match-bike', variant: 'main', deployName: 'bike' });
    expect(body.reason).toMatch(/did not answer within 300 ms/);
    expect(res.headers.get('retry-after')).toBe('1');
    expect(await gateway.metrics.registry.getSingleMetricAsString('modelfleet_gateway_upstream_timeouts_total')).toMatch(/route="\/probability\/1\/BIKE\/basic",model="match-bike",variant="main",deploy_name="bike"} 1/);
  });

  it('answers a clear JSON 503 when a model server is not running', async () => {
    const dead = await upstream('bike');
    await dead.kill();
    const { url } = await startGateway({ bike: dead });
    const res = await post(`${url}${BIKE}`);
    expect(res.status).toBe(503);
    const body = await readJson<GatewayErrorBody>(res);
    expect(body).toMatchObject({ error: 'model unavailable', route: BIKE, model: 'match-bike' });
    expect(body.reason).toMatch(/not reachable \(ECONNREFUSED\)/);
  });

  it('answers 404 with every known route for an unknown path, and 405 for a GET on a model route', async () => {
    const { url } = await startGateway({});
    const res = await post(`${url}/probability/9/NOPE`);
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: 'no route', path: '/probability/9/NOPE', routes: [BIKE, TAXI] });
    const get = await fetch(`${url}${BIKE}`);
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
  });

  it('refuses bodies above the size limit with 413', async () => {
    const bike = await upstream('bike');
    const { url } = await startGateway({ bike });
    const res = await post(`${url}${BIKE}`, {}, 'x'.repeat(11 * 1024 * 1024));
    expect(res.status).toBe(413);
    expect(bike.seen).toHaveLength(0);
  });
});

describe('gateway endpoints', () => {
  it('publishes an OpenAPI 3 document with every route and its input schema', async () => {
    const { url } = await startGateway({});
    const doc = await readJson<OpenApiDoc>(await fetch(`${url}/openapi.json`));
    expect(doc.openapi).toBe('3.0.3');
    expect(doc.info.version).toBe('1.2.3');
    expect(Object.keys(doc.paths).sort()).toEqual([BIKE, TAXI]);
    expect(doc.paths[BIKE]?.post.requestBody.content['application/json']?.schema).toEqual({ type: 'object', title: 'bike inputs' });
    expect(doc.paths[TAXI]?.post.parameters[0]).toMatchObject({ name: 'x-rider-id', in: 'header' });
    expect(doc.paths[TAXI]?.post.description).toMatch(/a 70% \(taxi-a/);
    expect(doc.paths[TAXI]?.post.responses['503']?.content['application/json']?.schema.$ref).toBe('#/components/schemas/GatewayError');
  });

  it('serves a self-contained docs page naming every route', async () => {
    const { url } = await startGateway({});
    const res = await fetch(`${url}/docs`);
    expect(res.headers.get('content-type')).toMatch(/text\/html/);
    const html = await res.text();
    expect(html).toContain(`POST ${TAXI}`);
    expect(html).toContain(`POST ${BIKE}`);
    expect(html).toContain(`curl -s -X POST ${url}${TAXI}`);
    expect(html).not.toMatch(/<script|https?:\/\/(?!127)/);
  });

  it('counts requests and latency per route, variant and status code in Prometheus format', async () => {
    const bike = await upstream('bike');
    const { url } = await startGateway({ bike });
    for (let i = 0; i < 3; i++) await (await post(`${url}${BIKE}`)).arrayBuffer();
    await (await post(`${url}/nope`)).arrayBuffer();
    const res = await fetch(`${url}/metrics`);
    expect(res.headers.get('content-type')).toMatch(/text\/plain/);
    const text = await res.text();
    const labels = 'route="/probability/1/BIKE/basic",model="match-bike",variant="main",deploy_name="bike"';
    expect(text).toContain(`modelfleet_gateway_requests_total{${labels},code="200"} 3`);
    expect(text).toContain(`modelfleet_gateway_request_duration_seconds_count{${labels}} 3`);
    expect(text).toContain('modelfleet_gateway_unknown_route_requests_total 1');
    expect(text).toContain('modelfleet_gateway_routes 2');
  });

  it('answers health, readiness and the route summary', async () => {
    const { url } = await startGateway({});
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    expect(await (await fetch(`${url}/readyz`)).json()).toEqual({ status: 'ready', routes: 2 });
    const summary = await readJson<RouteSummary>(await fetch(`${url}/routes`));
    expect(summary.routes.map((r) => r.route)).toEqual([BIKE, TAXI]);
    expect(summary.routes[1]?.variants.map((v) => [v.id, v.weight])).toEqual([['a', 70], ['b', 30]]);
  });
});
