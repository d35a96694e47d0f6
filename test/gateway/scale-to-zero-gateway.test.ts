import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { ModelSpec } from '../../generator/fleet/types.js';
import type { Waker } from '../../serving/gateway/cold-start-gate.js';
import { createGateway, type Gateway } from '../../serving/gateway/create-gateway.js';
import { COLD_START_HEADER, VARIANT_HEADER } from '../../serving/gateway/proxy-request.js';
import { buildRouteTable } from '../../serving/gateway/route-table.js';
import { fleet, model, variant } from './fleet-fixture.js';
import { createSleepyUpstream, sleepyWaker, type SleepyUpstream } from './sleepy-upstream.js';

const TAXI = '/probability/2/TAXI/trafficaware';
const BIKE = '/probability/1/BIKE/basic';

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

function sleepy(spec: ModelSpec, settings: { idleSeconds?: number; maxHoldMs?: number; maxPending?: number } = {}, batch = 1): ModelSpec {
  return {
    ...spec,
    scaling: { ...spec.scaling, minReplicas: 0 },
    batching: { enabled: batch > 1, maxBatchSize: batch, maxLatencyMs: 5 },
    scaleToZero: { idleSeconds: settings.idleSeconds ?? 300, maxHoldMs: settings.maxHoldMs ?? 5_000, maxPending: settings.maxPending ?? 100 },
  };
}

async function upstreams(...names: string[]): Promise<Record<string, SleepyUpstream>> {
  const all: Record<string, SleepyUpstream> = {};
  for (const name of names) {
    const up = await createSleepyUpstream(name);
    all[name] = up;
    cleanup.push(() => up.stop());
  }
  return all;
}

async function start(models: readonly ModelSpec[], ups: Record<string, SleepyUpstream>, waker: Waker): Promise<{ gateway: Gateway; url: string }> {
  const table = buildRouteTable(fleet(models), (name) => (ups[name] as SleepyUpstream).url);
  const gateway = await createGateway({ table, waker, upstreamTimeoutMs: 2_000, logger: pino({ level: 'silent' }) });
  cleanup.push(() => gateway.close());
  return { gateway, url: await gateway.listen(0) };
}

interface Answer {
  readonly status: number;
  readonly cold: string | null;
  readonly retryAfter: string | null;
  readonly variant: string | null;
  readonly body: Record<string, unknown>;
  readonly ms: number;
}

async function post(url: string, body: string, headers: Record<string, string> = {}): Promise<Answer> {
  const started = performance.now();
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  return {
    status: res.status,
    cold: res.headers.get(COLD_START_HEADER),
    retryAfter: res.headers.get('retry-after'),
    variant: res.headers.get(VARIANT_HEADER),
    body: (await res.json()) as Record<string, unknown>,
    ms: performance.now() - started,
  };
}

describe('a gateway in front of variants that scale to zero', () => {
  it('wakes a sleeping model on its first request, answers 200 with the cold-start header, and counts the cold start', async () => {
    const ups = await upstreams('taxi');
    const waker = sleepyWaker(ups);
    const { gateway, url } = await start([sleepy(model('match-taxi', TAXI, [variant('taxi', 100, { id: 'main' })]))], ups, waker);

    const first = await post(`${url}${TAXI}`, '{"n":1}');
    expect(first.status).toBe(200);
    expect(first.body.echo).toBe('{"n":1}');
    expect(Number(first.cold)).toBeGreaterThanOrEqual(40);
    expect(waker.wakes).toEqual(['taxi']);

    const warm = await post(`${url}${TAXI}`, '{"n":2}');
    expect(warm.status).toBe(200);
    expect(warm.cold).toBeNull();
    expect(waker.wakes).toEqual(['taxi']);

    const metrics = await gateway.metrics.render();
    expect(metrics).toMatch(/modelfleet_gateway_cold_starts_total\{[^}]*deploy_name="taxi"\} 1/);
    expect(metrics).toMatch(/modelfleet_gateway_cold_start_hold_seconds_count\{[^}]*deploy_name="taxi"\} 1/);
    expect(metrics).toMatch(/modelfleet_gateway_pending_requests\{[^}]*deploy_name="taxi"\} 0/);
  });

  it('answers 50 concurrent requests at a sleeping model, each exactly once, released at the backend\'s concurrency', async () => {
    const ups = await upstreams('taxi');
    const waker = sleepyWaker(ups, 150);
    const { url } = await start([sleepy(model('match-taxi', TAXI, [variant('taxi', 100, { id: 'main' })]), {}, 4)], ups, waker);

    const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => post(`${url}${TAXI}`, JSON.stringify({ n: i }))));
    expect(answers.map((a) => a.status)).toEqual(Array(50).fill(200));
    expect(answers.map((a) => a.body.echo)).toEqual(Array.from({ length: 50 }, (_, i) => JSON.stringify({ n: i })));
    const seen = [...(ups.taxi as SleepyUpstream).bodies].sort();
    expect(seen).toEqual(Array.from({ length: 50 }, (_, i) => JSON.stringify({ n: i })).sort());
    expect(waker.wakes).toEqual(['taxi']);
    expect((ups.taxi as SleepyUpstream).maxConcurrent).toBeLessThanOrEqual(4);
    expect(answers.every((a) => a.cold !== null)).toBe(true);
  });

  it('turns away requests beyond maxPending at once with 503 and Retry-After', async () => {
    const ups = await upstreams('taxi');
    let wakeUp = (): void => undefined;
    const waker: Waker = { wake: () => new Promise<void>((resolve) => { wakeUp = resolve; }).then(() => (ups.taxi as SleepyUpstream).start()) };
    const { url } = await start([sleepy(model('match-taxi', TAXI, [variant('taxi', 100, { id: 'main' })]), { maxPending: 5, maxHoldMs: 20_000 })], ups, waker);

    const held = Array.from({ length: 5 }, (_, i) => post(`${url}${TAXI}`, JSON.stringify({ n: i })));
    // Wait until all five are held (the sixth must find the queue full, not race them).
    await new Promise((r) => setTimeout(r, 300));
    const refused = await Promise.all(Array.from({ length: 3 }, () => post(`${url}${TAXI}`, '{"late":true}')));
    for (const answer of refused) {
      expect(answer.status).toBe(503);
      expect(answer.retryAfter).toBe('1');
      expect(String(answer.body.reason)).toContain('scaleToZero.maxPending');
      expect(answer.ms).toBeLessThan(5_000);
    }
    wakeUp();
    expect((await Promise.all(held)).map((a) => a.status)).toEqual([200, 200, 200, 200, 200]);
  });

  it('answers 503 with the reason after maxHoldMs when the model fails to start, while other routes keep serving', async () => {
    const ups = await upstreams('taxi', 'bike');
    await (ups.bike as SleepyUpstream).start();
    const waker: Waker = { wake: () => new Promise<void>((_, reject) => setTimeout(() => reject(new Error('the container exited with code 1: model.onnx not found')), 50)) };
    const models = [
      sleepy(model('match-taxi', TAXI, [variant('taxi', 100, { id: 'main' })]), { maxHoldMs: 800 }),
      model('match-bike', BIKE, [variant('bike', 100, { id: 'main' })]),
    ];
    const { url } = await start(models, ups, waker);

    const failing = post(`${url}${TAXI}`, '{"n":1}');
    const others = await Promise.all(Array.from({ length: 5 }, () => post(`${url}${BIKE}`, '{"b":1}')));
    expect(others.map((a) => a.status)).toEqual([200, 200, 200, 200, 200]);
    const answer = await failing;
    expect(answer.status).toBe(503);
    expect(answer.retryAfter).toBe('1');
    expect(answer.ms).toBeGreaterThanOrEqual(700);
    expect(String(answer.body.reason)).toContain('800 ms (scaleToZero.maxHoldMs)');
    expect(String(answer.body.reason)).toContain('model.onnx not found');
  });

  it('puts a variant to sleep after idleSeconds without requests, and wakes it again on the next one', async () => {
    const ups = await upstreams('taxi');
    await (ups.taxi as SleepyUpstream).start();
    const waker = sleepyWaker(ups);
    const { url } = await start([sleepy(model('match-taxi', TAXI, [variant('taxi', 100, { id: 'main' })]), { idleSeconds: 1 })], ups, waker);

    expect((await post(`${url}${TAXI}`, '{"n":1}')).cold).toBeNull();
    const deadline = Date.now() + 10_000;
    while (waker.sleeps.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(waker.sleeps).toEqual(['taxi']);
    await new Promise((r) => setTimeout(r, 50));
    expect((ups.taxi as SleepyUpstream).awake).toBe(false);

    const again = await post(`${url}${TAXI}`, '{"n":2}');
    expect(again.status).toBe(200);
    expect(again.cold).not.toBeNull();
    expect(waker.wakes).toEqual(['taxi']);
  });

  it('reports each sleeping variant\'s demand at /-/demand/<deployName> for a scaler, held requests included', async () => {
    const ups = await upstreams('taxi');
    let wakeUp = (): void => undefined;
    const waker: Waker = { wake: () => new Promise<void>((resolve) => { wakeUp = resolve; }).then(() => (ups.taxi as SleepyUpstream).start()) };
    const { url } = await start([sleepy(model('match-taxi', TAXI, [variant('taxi', 100, { id: 'main' })]))], ups, waker);
    const demand = async (name: string): Promise<{ status: number; body: Record<string, unknown> }> => {
      const res = await fetch(`${url}/-/demand/${name}`);
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    const held = [post(`${url}${TAXI}`, '{"n":1}'), post(`${url}${TAXI}`, '{"n":2}')];
    await new Promise((r) => setTimeout(r, 300));
    const during = await demand('taxi');
    expect(during.status).toBe(200);
    expect(during.body).toMatchObject({ deployName: 'taxi', pending: 2, inFlight: 2, recent: true, demand: 5 });
    wakeUp();
    expect((await Promise.all(held)).map((a) => a.status)).toEqual([200, 200]);
    expect((await demand('taxi')).body).toMatchObject({ pending: 0, inFlight: 0 });
    expect((await demand('nope')).status).toBe(404);
  });

  it('keeps a sticky caller on its usual A/B variant across a cold start', async () => {
    const ups = await upstreams('taxi-a', 'taxi-b');
    const waker = sleepyWaker(ups);
    const ab = sleepy(model('match-taxi', TAXI, [variant('taxi-a', 50, { id: 'a' }), variant('taxi-b', 50, { id: 'b' })], 'x-rider-id'));
    const { url } = await start([ab], ups, waker);

    const riders = Array.from({ length: 12 }, (_, i) => `rider-${i}`);
    const cold = await Promise.all(riders.map((r) => post(`${url}${TAXI}`, '{}', { 'x-rider-id': r })));
    expect(cold.every((a) => a.status === 200)).toBe(true);
    const warm = await Promise.all(riders.map((r) => post(`${url}${TAXI}`, '{}', { 'x-rider-id': r })));
    expect(warm.map((a) => a.variant)).toEqual(cold.map((a) => a.variant));
    expect(new Set(cold.map((a) => a.variant)).size).toBe(2);
  });
});
