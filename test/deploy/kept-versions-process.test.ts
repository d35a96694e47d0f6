/**
 * Kept versions on the local target, through the CLI with plain processes: deploying v2 over v1
 * keeps v1 running at `<route>/versions/<v1>`, a rollback switches the route back to that very
 * process, `keepVersions: 0` keeps nothing, and `deploy --remove` and `down` stop kept instances too.
 */
import { cp, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeLocalTargetDir, type LocalTargetDir } from '../support/local-target-dir.js';

const repo = resolve(import.meta.dirname, '../..');
const NAME = 'match-kept';
const ROUTE = '/probability/3/TAXI/kept';
const BODY = JSON.stringify({ dataframe_split: { columns: ['route_decision_score', 'farevalueinminor', 'offer_throughput_rate', 'eventtime', 'backtoback'], data: [[0.73, 1250, 0.42, 1767225600, 1]] } });
let local: LocalTargetDir;
let dir: string;

function cli(args: readonly string[]): Promise<{ code: number; output: string }> {
  return local.cli(args);
}

async function writeFleet(folder: 'match-logreg-v1' | 'match-logreg-v2', keepVersions?: number): Promise<void> {
  await writeFile(join(dir, 'models.yaml'), `models:\n  - name: ${NAME}\n    endpoint: probability\n    parameters: [3, TAXI, kept]\n    path: examples/models/${folder}\n${keepVersions === undefined ? '' : `    keepVersions: ${keepVersions}\n`}`);
}

async function deploy(): Promise<string> {
  const result = await cli(['deploy', '--model', NAME, '--target', 'local', '--runtime', 'process']);
  expect(result.code, result.output).toBe(0);
  return result.output;
}

interface Instance { pid: number; port: number; version?: string }
interface State { models: Record<string, Instance>; kept?: Record<string, Instance[]>; gateway?: { port: number } }

async function state(): Promise<State> {
  return JSON.parse(await readFile(join(dir, '.modelfleet', 'local', 'state.json'), 'utf8')) as State;
}

async function score(path: string): Promise<{ status: number; version: string | null; body: { predictions?: number[]; versions?: string[]; error?: string } }> {
  const response = await fetch(`http://127.0.0.1:${(await state()).gateway?.port ?? 0}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: BODY, signal: AbortSignal.timeout(10_000) });
  return { status: response.status, version: response.headers.get('x-modelfleet-version'), body: (await response.json()) as { predictions?: number[] } };
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

beforeAll(async () => {
  local = await makeLocalTargetDir('modelfleet-kept-versions-', 0);
  dir = local.dir;
  for (const folder of ['match-logreg-v1', 'match-logreg-v2']) await cp(join(repo, 'examples/models', folder), join(dir, 'examples/models', folder), { recursive: true });
});

afterAll(async () => {
  await local?.remove();
});

describe('kept versions on the local target', () => {
  let v1: Instance;
  let v2: Instance;
  let p1: number | undefined;
  let p2: number | undefined;

  it('keeps v1 running beside v2, each reachable at its version path, with the route on v2', async () => {
    await writeFleet('match-logreg-v1');
    await deploy();
    const gateway = await cli(['deploy', '--gateway', '--target', 'local']);
    expect(gateway.code, gateway.output).toBe(0);
    v1 = (await state()).models[NAME] as Instance;
    expect(v1.version).toMatch(/^local-[0-9a-f]{12}$/);

    await writeFleet('match-logreg-v2');
    const output = await deploy();
    expect(output).toContain(`the previous version ${v1.version ?? ''} keeps running`);
    const after = await state();
    v2 = after.models[NAME] as Instance;
    expect(v2.version).toMatch(/^local-[0-9a-f]{12}$/);
    expect(v2.version).not.toBe(v1.version);
    expect(after.kept?.[NAME]?.map((k) => [k.pid, k.version])).toEqual([[v1.pid, v1.version]]);
    expect(isRunning(v1.pid)).toBe(true);

    const current = await score(ROUTE);
    const atV1 = await score(`${ROUTE}/versions/${v1.version ?? ''}`);
    const atV2 = await score(`${ROUTE}/versions/${v2.version ?? ''}`);
    expect([current.status, atV1.status, atV2.status]).toEqual([200, 200, 200]);
    expect([current.version, atV1.version, atV2.version]).toEqual([v2.version, v1.version, v2.version]);
    p1 = atV1.body.predictions?.[0];
    p2 = atV2.body.predictions?.[0];
    expect(p1).not.toBe(p2);
    expect(current.body.predictions?.[0]).toBe(p2);
  }, 120_000);

  it('lists the kept version in `modelfleet status`', async () => {
    const status = await cli(['status', '--target', 'local']);
    expect(status.code, status.output).toBe(0);
    expect(status.output).toContain(`kept ${v1.version ?? ''} on 127.0.0.1:${v1.port}`);
  }, 30_000);

  it('answers an unknown version with 404 and the versions that run', async () => {
    const missing = await score(`${ROUTE}/versions/local-000000000000`);
    expect(missing.status).toBe(404);
    expect(missing.body.error).toBe('no such version');
    expect(missing.body.versions).toEqual([v2.version, v1.version]);
  }, 30_000);

  it('switches the route back to the kept v1 process on rollback, starting nothing, and keeps v2', async () => {
    const rollback = await cli(['rollback', '--model', NAME, '--target', 'local']);
    expect(rollback.code, rollback.output).toBe(0);
    expect(rollback.output).toContain(`switched to the kept version ${v1.version ?? ''}`);
    expect(rollback.output).toContain('no new instance started');
    const after = await state();
    expect(after.models[NAME]?.pid).toBe(v1.pid);
    expect(after.models[NAME]?.port).toBe(v1.port);
    expect(after.kept?.[NAME]?.map((k) => k.pid)).toEqual([v2.pid]);
    const current = await score(ROUTE);
    expect(current.version).toBe(v1.version);
    expect(current.body.predictions?.[0]).toBe(p1);
    expect((await score(`${ROUTE}/versions/${v2.version ?? ''}`)).body.predictions?.[0]).toBe(p2);
  }, 120_000);

  it('keeps nothing with keepVersions: 0 (switching to v2 stops v1)', async () => {
    await writeFleet('match-logreg-v2', 0);
    const output = await deploy();
    expect(output).toContain('switched to the kept version');
    const after = await state();
    expect(after.models[NAME]?.pid).toBe(v2.pid);
    expect(after.kept?.[NAME]).toBeUndefined();
    await expect.poll(() => isRunning(v1.pid), { timeout: 15_000 }).toBe(false);
    const missing = await score(`${ROUTE}/versions/${v1.version ?? ''}`);
    expect(missing.status).toBe(404);
    expect(missing.body.versions).toEqual([v2.version]);
  }, 120_000);

  it('stops kept instances on `deploy --remove` and on `modelfleet down`', async () => {
    await writeFleet('match-logreg-v1');
    await deploy();
    const before = await state();
    expect(before.kept?.[NAME]?.[0]?.pid).toBe(v2.pid);
    const current = before.models[NAME] as Instance;
    const removed = await cli(['deploy', '--remove', NAME, '--target', 'local']);
    expect(removed.code, removed.output).toBe(0);
    expect(removed.output).toContain(`stopped its kept version ${v2.version ?? ''}`);
    await expect.poll(() => isRunning(v2.pid) || isRunning(current.pid), { timeout: 15_000 }).toBe(false);
    expect((await state()).kept).toBeUndefined();

    await deploy();
    await writeFleet('match-logreg-v2');
    await deploy();
    const running = await state();
    const pids = [running.models[NAME]?.pid, running.kept?.[NAME]?.[0]?.pid];
    expect(pids.every((pid) => typeof pid === 'number' && isRunning(pid))).toBe(true);
    const down = await cli(['down']);
    expect(down.code, down.output).toBe(0);
    expect(down.output).toContain(`kept version ${v1.version ?? ''}`);
    await expect.poll(() => pids.some((pid) => isRunning(pid as number)), { timeout: 15_000 }).toBe(false);
  }, 120_000);
});
