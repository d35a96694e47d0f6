import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import autocannon from 'autocannon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadFleet } from '../../generator/fleet/load-fleet.js';
import type { FleetSpec } from '../../generator/fleet/types.js';
import { isUserError } from '../../lib/errors/user-error.js';
import { deployLocal } from '../../pipeline/local-target/deploy-local.js';
import { deployLocalGateway } from '../../pipeline/local-target/local-gateway.js';
import { readLocalState } from '../../pipeline/local-target/local-state.js';
import { runDown } from '../../pipeline/up/run-up.js';

const repo = resolve(import.meta.dirname, '../..');
const NAME = 'match-local';
const ROUTE = '/probability/2/TAXI/local';
let dir: string;
let root: string;
let fleet: FleetSpec;
let gatewayUrl: string;
let body: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'modelfleet-local-target-'));
  root = join(dir, '.modelfleet');
  process.env.MODELFLEET_STATE_DIR = root;
  process.env.MODELFLEET_GATEWAY_PORT = '0';
  await cp(join(repo, 'examples/models/match-logreg-v1'), join(dir, 'models/v1'), { recursive: true });
  await cp(join(repo, 'examples/models/match-logreg-v2'), join(dir, 'models/v2'), { recursive: true });
  // A version that can never get ready: its ONNX file is not a model.
  await cp(join(repo, 'examples/models/match-logreg-v1'), join(dir, 'models/broken'), { recursive: true });
  await writeFile(join(dir, 'models/broken/model.onnx'), 'this is not an ONNX model');
  await writeFile(join(dir, 'models.yaml'), `models:\n  - name: ${NAME}\n    endpoint: probability\n    parameters: [2, TAXI, local]\n    path: models/v1\n`);
  fleet = loadFleet(join(dir, 'models.yaml'));
  body = JSON.stringify({ dataframe_split: { columns: ['route_decision_score', 'farevalueinminor', 'offer_throughput_rate', 'eventtime', 'backtoback'], data: [[0.73, 1250, 0.42, 1767225600, 1]] } });

  await deployLocal({ fleet, deployName: NAME, runtime: { kind: 'process', modelDir: join(dir, 'models/v1') }, docker: undefined, env: { MODEL_NAME: NAME }, root });
  gatewayUrl = (await deployLocalGateway(fleet, undefined, () => undefined, root)).url;
}, 120_000);

afterAll(async () => {
  await runDown(() => undefined);
  await rm(dir, { recursive: true, force: true });
});

async function predict(): Promise<number> {
  const response = await fetch(`${gatewayUrl}${ROUTE}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  expect(response.status).toBe(200);
  return ((await response.json()) as { predictions: number[] }).predictions[0] as number;
}

/**
 * Makes `version` the one the local target serves, whatever an earlier test left running, so each
 * test starts from the state it names (deploying what already serves is a quick "unchanged").
 */
async function serve(version: 'v1' | 'v2'): Promise<void> {
  const result = await deployLocal({ fleet, deployName: NAME, runtime: { kind: 'process', modelDir: join(dir, 'models', version) }, docker: undefined, env: { MODEL_NAME: NAME }, root, readyTimeoutMs: 30_000 });
  expect(['deployed', 'unchanged']).toContain(result.outcome);
  expect((await readLocalState(root)).models[NAME]?.serves).toBe(join(dir, 'models', version));
}

function load(seconds: number): Promise<autocannon.Result> {
  return autocannon({ url: `${gatewayUrl}${ROUTE}`, method: 'POST', headers: { 'content-type': 'application/json' }, body, connections: 4, duration: seconds, timeout: 5 });
}

describe('local target', () => {
  it('keeps the old instance answering every request while a version that never gets ready is tried, then fails and keeps the state', async () => {
    await serve('v1');
    const before = (await readLocalState(root)).models[NAME];
    const prediction = await predict();
    const running = load(6);
    await new Promise((r) => setTimeout(r, 500));
    const lines: string[] = [];
    let failure: unknown;
    try {
      await deployLocal({ fleet, deployName: NAME, runtime: { kind: 'process', modelDir: join(dir, 'models/broken') }, docker: undefined, env: { MODEL_NAME: NAME }, root, readyTimeoutMs: 4_000, report: (l) => lines.push(l) });
    } catch (err) {
      failure = err;
    }
    const result = await running;

    expect(isUserError(failure) && failure.code).toBe('DEPLOY_LOCAL_NOT_READY');
    expect((failure as Error).message).toMatch(new RegExp(`model ${NAME}: the new instance did not become ready .*The previous instance on 127\\.0\\.0\\.1:${before?.port} keeps serving`));
    expect(lines.join('\n')).toMatch(/last 20 log lines/);
    expect(result.requests.total).toBeGreaterThan(200);
    expect(result.non2xx).toBe(0);
    expect(result.errors).toBe(0);
    expect(result.timeouts).toBe(0);
    const after = (await readLocalState(root)).models[NAME];
    expect(after).toEqual(before);
    expect(await predict()).toBe(prediction);
  }, 60_000);

  it('swaps in a new version under load without failing a request, then stops the old instance', async () => {
    await serve('v1');
    const before = (await readLocalState(root)).models[NAME];
    const oldPrediction = await predict();
    const running = load(6);
    await new Promise((r) => setTimeout(r, 500));
    const deployed = await deployLocal({ fleet, deployName: NAME, runtime: { kind: 'process', modelDir: join(dir, 'models/v2') }, docker: undefined, env: { MODEL_NAME: NAME }, root, readyTimeoutMs: 30_000 });
    const result = await running;

    expect(deployed.outcome).toBe('deployed');
    expect(result.non2xx).toBe(0);
    expect(result.errors).toBe(0);
    expect(await predict()).not.toBe(oldPrediction);
    const after = (await readLocalState(root)).models[NAME];
    expect(after?.port).not.toBe(before?.port);
    expect(after?.serves).toBe(join(dir, 'models/v2'));
    await expect.poll(() => fetch(`http://127.0.0.1:${before?.port}/readyz`).then(() => 'up', () => 'down'), { timeout: 15_000 }).toBe('down');
    const routes = JSON.parse(await readFile(join(root, 'local', 'routes.json'), 'utf8')) as { routes: Array<{ variants: Array<{ upstream: string }> }> };
    expect(routes.routes[0]?.variants[0]?.upstream).toBe(`http://127.0.0.1:${after?.port}`);
  }, 60_000);

  it('reports "unchanged" when the same version is deployed again', async () => {
    await serve('v2');
    const current = (await readLocalState(root)).models[NAME];
    const again = await deployLocal({ fleet, deployName: NAME, runtime: { kind: 'process', modelDir: join(dir, 'models/v2') }, docker: undefined, env: { MODEL_NAME: NAME }, root });
    expect(again.outcome).toBe('unchanged');
    expect((await readLocalState(root)).models[NAME]).toEqual(current);
  }, 60_000);
});
