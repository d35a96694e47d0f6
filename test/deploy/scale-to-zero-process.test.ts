import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadFleet } from '../../generator/fleet/load-fleet.js';
import type { FleetSpec } from '../../generator/fleet/types.js';
import { isInstanceAlive, stopInstance } from '../../pipeline/instance-runtime/recorded-instance.js';
import { deployLocal } from '../../pipeline/local-target/deploy-local.js';
import { deployLocalGateway } from '../../pipeline/local-target/local-gateway.js';
import { readLocalState } from '../../pipeline/local-target/local-state.js';
import { runDown } from '../../pipeline/up/run-up.js';
import { COLD_START_HEADER } from '../../serving/gateway/proxy-request.js';

const repo = resolve(import.meta.dirname, '../..');
const SLEEPY = '/probability/2/TAXI/sleepy';
const BROKEN = '/probability/2/TAXI/broken';
const AWAKE = '/probability/2/TAXI/awake';
const SMALL = '/probability/2/TAXI/small';
let dir: string;
let root: string;
let fleet: FleetSpec;
let gatewayUrl: string;
const row = [0.73, 1250, 0.42, 1767225600, 1];
const bodyOf = (rows: number): string => JSON.stringify({ dataframe_split: { columns: ['route_decision_score', 'farevalueinminor', 'offer_throughput_rate', 'eventtime', 'backtoback'], data: Array.from({ length: rows }, () => row) } });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'modelfleet-scale-to-zero-'));
  root = join(dir, '.modelfleet');
  process.env.MODELFLEET_STATE_DIR = root;
  process.env.MODELFLEET_GATEWAY_PORT = '0';
  for (const name of ['sleepy', 'broken', 'awake', 'small']) await cp(join(repo, 'examples/models/match-logreg-v1'), join(dir, 'models', name), { recursive: true });
  const entry = (name: string, extra: string): string => `  - name: match-${name}\n    parameters: [2, TAXI, ${name}]\n    path: models/${name}\n${extra}`;
  await writeFile(join(dir, 'models.yaml'), `defaults:\n  endpoint: probability\nmodels:\n`
    + entry('sleepy', '    scaling: { minReplicas: 0 }\n    scaleToZero: { maxPending: 60 }\n')
    + entry('broken', '    scaling: { minReplicas: 0 }\n    scaleToZero: { maxHoldMs: 2500 }\n')
    + entry('awake', '')
    + entry('small', '    scaling: { minReplicas: 0 }\n    scaleToZero: { maxPending: 3 }\n'));
  fleet = loadFleet(join(dir, 'models.yaml'));
  await Promise.all(['sleepy', 'broken', 'awake', 'small'].map((name) => deployLocal({ fleet, deployName: `match-${name}`, runtime: { kind: 'process', modelDir: join(dir, 'models', name) }, docker: undefined, env: { MODEL_NAME: `match-${name}` }, root })));
  gatewayUrl = (await deployLocalGateway(fleet, undefined, () => undefined, root)).url;
}, 180_000);

afterAll(async () => {
  await runDown(() => undefined);
  await rm(dir, { recursive: true, force: true });
});

/** Stops a model's instance the way the gateway's idle sweep does: the record stays, the process goes. */
async function putToSleep(deployName: string): Promise<void> {
  const record = (await readLocalState(root)).models[deployName];
  if (!record) throw new Error(`${deployName} is not deployed`);
  await stopInstance(record, undefined, 2);
  // A SIGKILL after the grace period takes effect a moment later.
  const deadline = Date.now() + 10_000;
  while ((await isInstanceAlive(record, undefined)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  expect(await isInstanceAlive(record, undefined)).toBe(false);
}

async function post(route: string, body: string): Promise<{ status: number; cold: string | null; retryAfter: string | null; json: Record<string, unknown> }> {
  const res = await fetch(`${gatewayUrl}${route}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal: AbortSignal.timeout(30_000) });
  return { status: res.status, cold: res.headers.get(COLD_START_HEADER), retryAfter: res.headers.get('retry-after'), json: (await res.json()) as Record<string, unknown> };
}

describe('scale to zero on the local target (processes)', () => {
  it('starts a sleeping model on its first request, on its port, and answers 200 with the cold-start header', async () => {
    await putToSleep('match-sleepy');
    const before = (await readLocalState(root)).models['match-sleepy'];
    const first = await post(SLEEPY, bodyOf(1));
    expect(first.status).toBe(200);
    expect(first.cold).not.toBeNull();
    expect((first.json.predictions as number[]).length).toBe(1);
    // The new pid is recorded while the held requests already go out.
    let after = (await readLocalState(root)).models['match-sleepy'];
    for (let i = 0; i < 100 && after?.pid === before?.pid; i++) {
      await new Promise((r) => setTimeout(r, 50));
      after = (await readLocalState(root)).models['match-sleepy'];
    }
    expect(after?.port).toBe(before?.port);
    expect(after?.pid).not.toBe(before?.pid);
    expect(after && (await isInstanceAlive(after, undefined))).toBe(true);
    expect((await post(SLEEPY, bodyOf(1))).cold).toBeNull();
  }, 60_000);

  it('answers 50 concurrent requests at a sleeping model, every one with its own prediction', async () => {
    await putToSleep('match-sleepy');
    // Request i carries i+1 rows, so each answer shows it was the caller's own request, answered once.
    const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => post(SLEEPY, bodyOf(i + 1))));
    expect(answers.filter((a) => a.status !== 200).map((a) => a.json.reason)).toEqual([]);
    expect(answers.map((a) => a.status)).toEqual(Array(50).fill(200));
    expect(answers.map((a) => (a.json.predictions as number[]).length)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
  }, 60_000);

  it('turns away requests beyond maxPending at once with 503 and Retry-After, and answers the held ones', async () => {
    await putToSleep('match-small');
    const started = Date.now();
    const answers = await Promise.all(Array.from({ length: 10 }, () => post(SMALL, bodyOf(1)).then((a) => ({ ...a, ms: Date.now() - started }))));
    const refused = answers.filter((a) => a.status === 503);
    expect(answers.filter((a) => a.status === 200)).toHaveLength(3);
    expect(refused).toHaveLength(7);
    for (const answer of refused) {
      expect(answer.retryAfter).toBe('1');
      expect(String(answer.json.reason)).toContain('scaleToZero.maxPending');
    }
    // Turned away before the model was up: faster than the slowest held request, which waited for it.
    expect(Math.max(...refused.map((a) => a.ms))).toBeLessThan(Math.max(...answers.filter((a) => a.status === 200).map((a) => a.ms)));
  }, 60_000);

  it('answers 503 with the reason after maxHoldMs when the model cannot start, and the other routes keep serving', async () => {
    await putToSleep('match-broken');
    await writeFile(join(dir, 'models/broken/model.onnx'), 'this is not an ONNX model');
    const failing = post(BROKEN, bodyOf(1));
    const started = Date.now();
    for (let i = 0; i < 5; i++) expect((await post(AWAKE, bodyOf(1))).status).toBe(200);
    const answer = await failing;
    expect(answer.status).toBe(503);
    expect(answer.retryAfter).toBe('1');
    expect(Date.now() - started).toBeGreaterThanOrEqual(2_000);
    expect(String(answer.json.reason)).toContain('2500 ms (scaleToZero.maxHoldMs)');
    expect(String(answer.json.reason)).toMatch(/process (exited|ended)|code/);
  }, 60_000);
});
