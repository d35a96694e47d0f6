/**
 * `modelfleet canary` against a running gateway: its /metrics before and after the window,
 * with the traffic in between sent for real through the gateway to a model server.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadFleet } from '../../generator/fleet/load-fleet.js';
import { runCanary } from '../../pipeline/canary/run-canary.js';
import { UserError } from '../../lib/errors/user-error.js';
import { createGateway, type Gateway } from '../../serving/gateway/create-gateway.js';
import { buildRouteTable } from '../../serving/gateway/route-table.js';
import { startFakeUpstream, type FakeUpstream } from '../gateway/fake-upstream.js';

const ROUTE = '/probability/2/TAXI/canary';
const BODY = JSON.stringify({ dataframe_split: { columns: ['x'], data: [[1]] } });
let dir: string;
let upstream: FakeUpstream;
let other: FakeUpstream;
let gateway: Gateway;
let gatewayUrl: string;

function fleetYaml(metricsUrl: string): string {
  return `environments:
  - name: staging
  - { name: production, gate: canary, canary: { metricsUrl: "${metricsUrl}", minRequests: 30 } }
models:
  - { name: canary-2-taxi, endpoint: probability, parameters: [2, TAXI, canary], path: models/m }
  - { name: other-1-bike, endpoint: probability, parameters: [1, BIKE, other], path: models/m }
`;
}

/** Sends `n` scoring requests through the gateway to `route`, one after another. */
async function send(n: number, route = ROUTE): Promise<void> {
  for (let i = 0; i < n; i += 1) {
    const response = await fetch(`${gatewayUrl}${route}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: BODY, signal: AbortSignal.timeout(5_000) });
    await response.arrayBuffer();
  }
}

async function check(during: () => Promise<void>, lines: string[] = []) {
  return runCanary({ file: join(dir, 'models.yaml'), model: 'canary-2-taxi', environment: 'production', target: 'kube', windowSeconds: 1, print: (line) => lines.push(line), sleep: during });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'modelfleet-canary-'));
  upstream = await startFakeUpstream('canary');
  other = await startFakeUpstream('other');
  await writeFile(join(dir, 'models.yaml'), fleetYaml('http://127.0.0.1:9/metrics'));
  const fleet = loadFleet(join(dir, 'models.yaml'));
  gateway = await createGateway({ table: buildRouteTable(fleet, (name) => (name === 'canary-2-taxi' ? upstream.url : other.url)), logger: pino({ level: 'silent' }), upstreamTimeoutMs: 2_000 });
  gatewayUrl = await gateway.listen(0);
  await writeFile(join(dir, 'models.yaml'), fleetYaml(`${gatewayUrl}/metrics`));
  // Traffic before the window does not count.
  await send(20);
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.kill();
  await other?.kill();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('modelfleet canary', () => {
  it('passes when the model\'s requests in the window meet the targets, and says what it measured', async () => {
    const lines: string[] = [];
    const verdict = await check(() => send(40), lines);
    expect(verdict).toMatchObject({ passed: true, requests: 40, successRate: 100 });
    expect(lines[0]).toContain(`canary-2-taxi in staging: reading the gateway's metrics (${gatewayUrl}/metrics) over 1s; production needs ≥ 30 requests, success ≥ 99%, p99 ≤ 500 ms`);
    expect(lines[1]).toMatch(/^canary-2-taxi in staging over 1s: 40 requests, success 100\.0%, p99 \d+ ms: passed; canary-2-taxi may go into production$/);
  });

  it('counts only its own model: traffic to another route does not make up for too little', async () => {
    const failed = await check(async () => {
      await send(10);
      await send(60, '/probability/1/BIKE/other');
    }).catch((err: unknown) => err);
    expect(failed).toBeInstanceOf(UserError);
    expect((failed as UserError).code).toBe('CANARY_FAILED');
    expect((failed as UserError).message).toBe('canary-2-taxi in staging over 1s: 10 requests, success 100.0%, p99 ' + /p99 (\d+) ms/.exec((failed as UserError).message)?.[1] + ' ms: 10 request(s), fewer than the 30 the check needs. canary-2-taxi does not go into production.');
    expect((failed as UserError).hint).toContain('modelfleet promote --model canary-2-taxi --from staging --to production');
  });

  it('fails when the model stops answering in the window: its 503s count against the success rate', async () => {
    const failed = await check(async () => {
      await send(35);
      await upstream.kill();
      await send(5);
    }).catch((err: unknown) => err as UserError);
    expect(failed).toBeInstanceOf(UserError);
    expect((failed as UserError).message).toMatch(/40 requests, success 87\.5%.*success rate 87\.5% is below 99% \(5 of 40 answered 5xx\)/);
  });

  it('names the metrics it cannot read, and the fix', async () => {
    await writeFile(join(dir, 'models.yaml'), fleetYaml('http://127.0.0.1:9/metrics'));
    const failed = await check(async () => undefined).catch((err: unknown) => err as UserError);
    expect(failed).toMatchObject({ code: 'CANARY_NO_METRICS' });
    expect((failed as UserError).message).toMatch(/^staging's gateway metrics at http:\/\/127\.0\.0\.1:9\/metrics did not answer: /);
    await writeFile(join(dir, 'models.yaml'), fleetYaml(`${gatewayUrl}/metrics`).replace(/metricsUrl: "[^"]*", /, ''));
    const noUrl = await check(async () => undefined).catch((err: unknown) => err as UserError);
    expect(noUrl).toMatchObject({ code: 'CANARY_NO_METRICS' });
    expect((noUrl as UserError).hint).toContain('Give staging a `url:` (its gateway) or production `canary: { metricsUrl: https://…/metrics }`');
  });
});
