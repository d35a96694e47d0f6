import { pino } from 'pino';
import { Counter, Gauge, Histogram, Summary } from 'prom-client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createGateway, type Gateway } from '../../serving/gateway/create-gateway.js';
import { buildRouteTable } from '../../serving/gateway/route-table.js';
import { startFakeUpstream, type FakeUpstream } from './fake-upstream.js';
import { fleet, model, variant } from './fleet-fixture.js';

const TAXI = '/probability/2/TAXI/trafficaware';
const BIKE = '/probability/1/BIKE/basic';
// Not even JSON: the gateway must pass bytes through without reading them.
const BODY = '{"dataframe_split": {"columns": ["x"], "data": [[1.5]] '.padEnd(3000, ' ');

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  vi.restoreAllMocks();
  for (const step of cleanup.splice(0).reverse()) await step();
});

/** Calls made from the gateway's own code (the test's fake model servers decode bodies; that is allowed). */
function fromGateway(stacks: readonly string[]): number {
  return stacks.filter((stack) => stack.includes('/serving/gateway/')).length;
}

/** Lets `target[method]` work as before and records the stack of every call. */
function recordStacks<T extends object>(target: T, method: keyof T & string): string[] {
  const stacks: string[] = [];
  const original = (target as Record<string, (...args: unknown[]) => unknown>)[method] as (...args: unknown[]) => unknown;
  vi.spyOn(target as Record<string, (...args: unknown[]) => unknown>, method).mockImplementation(function spied(this: unknown, ...args: unknown[]) {
    stacks.push(new Error().stack ?? '');
    return original.apply(this, args);
  });
  return stacks;
}

describe('the gateway\'s per-request path', () => {
  it('creates no metric children and never decodes or parses a body, on every path a request can take', async () => {
    const ups: Record<string, FakeUpstream> = {};
    for (const name of ['taxi-a', 'taxi-b', 'taxi-shadow', 'taxi-a-kept', 'bike']) {
      ups[name] = await startFakeUpstream(name);
      cleanup.push(() => (ups[name] as FakeUpstream).kill());
    }
    const taxi = model('match-taxi', TAXI, [variant('taxi-a', 60, { id: 'a' }), variant('taxi-b', 40, { id: 'b' }), variant('taxi-shadow', 0, { id: 'candidate', shadow: true })], 'x-rider-id');
    const bike = model('match-bike', BIKE, [variant('bike', 100, { id: 'main' })]);
    const table = buildRouteTable(fleet([taxi, bike]), (name) => (ups[name] as FakeUpstream).url, {
      versionsFor: (name) => (name === 'taxi-a' ? { current: '2', kept: [{ version: '1', upstream: (ups['taxi-a-kept'] as FakeUpstream).url, source: 'path:/m/1' }] } : undefined),
    });
    const gateway: Gateway = await createGateway({ table, upstreamTimeoutMs: 300, logger: pino({ level: 'silent' }) });
    cleanup.push(() => gateway.close());
    const url = await gateway.listen(0);
    const post = async (path: string, headers: Record<string, string> = {}): Promise<number> => {
      const res = await fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: BODY });
      await res.arrayBuffer();
      return res.status;
    };
    // Warm up: the variants' counters exist from the moment the table was compiled.
    expect(await post(TAXI, { 'x-rider-id': 'warm' })).toBe(200);

    const statsFor = vi.spyOn(gateway.metrics, 'statsFor');
    const labels = [Counter, Gauge, Histogram, Summary].map((kind) => vi.spyOn(kind.prototype, 'labels'));
    const incs = gateway.metrics.registry.getMetricsAsArray().flatMap((metric) => {
      const countable = metric as unknown as { inc?: () => void };
      return typeof countable.inc === 'function' ? [vi.spyOn(countable as { inc: () => void }, 'inc')] : [];
    });
    const parseStacks = recordStacks(JSON, 'parse');
    const decodeStacks = recordStacks(Buffer.prototype, 'toString');
    const textStacks = recordStacks(TextDecoder.prototype, 'decode');

    // Sticky, key-less, mirrored to a shadow, a single-variant route, a current and a kept version's path (never mirrored).
    for (let i = 0; i < 20; i++) expect(await post(TAXI, { 'x-rider-id': `rider-${i}` })).toBe(200);
    for (let i = 0; i < 10; i++) expect(await post(TAXI)).toBe(200);
    for (let i = 0; i < 10; i++) expect(await post(BIKE)).toBe(200);
    for (let i = 0; i < 5; i++) expect(await post(`${TAXI}/versions/2`)).toBe(200);
    for (let i = 0; i < 5; i++) expect(await post(`${TAXI}/versions/1`)).toBe(200);
    await vi.waitFor(() => expect((ups['taxi-shadow'] as FakeUpstream).seen.length).toBe(31));
    // A model server that does not answer in time, then one that is gone: clear 503s.
    const release = (ups.bike as FakeUpstream).hold();
    expect(await post(BIKE)).toBe(503);
    release();
    await (ups.bike as FakeUpstream).kill();
    expect(await post(BIKE)).toBe(503);

    expect(statsFor).not.toHaveBeenCalled();
    for (const spy of labels) expect(spy).not.toHaveBeenCalled();
    for (const spy of incs) expect(spy).not.toHaveBeenCalled();
    expect(fromGateway(parseStacks), 'JSON.parse from serving/gateway').toBe(0);
    expect(fromGateway(decodeStacks), 'Buffer#toString from serving/gateway').toBe(0);
    expect(fromGateway(textStacks), 'TextDecoder#decode from serving/gateway').toBe(0);
    // The guard watches real calls: the fake model servers decoded every body they received.
    expect(decodeStacks.length).toBeGreaterThan(30);

    // The body reached the model servers byte for byte, and every request was counted.
    expect((ups['taxi-a'] as FakeUpstream).seen.concat((ups['taxi-b'] as FakeUpstream).seen).every((s) => s.body === BODY)).toBe(true);
    vi.restoreAllMocks();
    const text = await (await fetch(`${url}/metrics`)).text();
    expect(text).toMatch(/modelfleet_gateway_requests_total\{route="\/probability\/1\/BIKE\/basic",model="match-bike",variant="main",deploy_name="bike",code="503"\} 2/);
    expect(text).toMatch(/modelfleet_gateway_upstream_timeouts_total\{route="\/probability\/1\/BIKE\/basic",model="match-bike",variant="main",deploy_name="bike"\} 1/);
    expect(text).toMatch(/modelfleet_gateway_shadow_requests_total\{[^}]*variant="candidate"[^}]*outcome="ok"\} 31/);
    expect((ups['taxi-a-kept'] as FakeUpstream).seen).toHaveLength(5);
    expect(text).toMatch(/modelfleet_gateway_requests_total\{route="\/probability\/2\/TAXI\/trafficaware",model="match-taxi",variant="a@1",deploy_name="taxi-a",code="200"\} 5/);
  });
});
