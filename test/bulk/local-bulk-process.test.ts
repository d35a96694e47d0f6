import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadFleet } from '../../generator/fleet/load-fleet.js';
import { readLocalBulkState } from '../../pipeline/bulk/local-bulk-state.js';
import { startLocalBulk, stopLocalBulk } from '../../pipeline/bulk/local-bulk.js';
import { csvRows, makeBulkFleet, MODEL, runCli, waitFor, writeCsv } from './support/bulk-fixture.js';

let fleet: Awaited<ReturnType<typeof makeBulkFleet>>;
const previousStateDir = process.env.MODELFLEET_STATE_DIR;

beforeAll(async () => {
  fleet = await makeBulkFleet({ chunkRows: 500, maxWorkers: 1, claimIdleSeconds: 1, cooldownSeconds: 2 });
  process.env.MODELFLEET_STATE_DIR = join(fleet.dir, '.modelfleet');
});

afterAll(async () => {
  await stopLocalBulk(() => undefined).catch(() => undefined);
  if (previousStateDir === undefined) delete process.env.MODELFLEET_STATE_DIR;
  else process.env.MODELFLEET_STATE_DIR = previousStateDir;
  await fleet.cleanup();
});

function alive(pid: number | undefined): boolean {
  try {
    process.kill(pid ?? -1, 0);
    return true;
  } catch {
    return false;
  }
}

describe('the local target\'s bulk part (modelfleet up / down)', () => {
  it('starts Redis and the supervisor, serves a job submitted without --redis, and stops both', async () => {
    const lines: string[] = [];
    const url = await startLocalBulk(loadFleet(fleet.file), { file: fleet.file, out: join(fleet.dir, 'build'), print: (l) => lines.push(l) });
    expect(url).toMatch(/^redis:\/\/127\.0\.0\.1:\d+$/);
    const state = await readLocalBulkState();
    expect(alive(state.redis?.pid) && alive(state.supervisor?.pid)).toBe(true);

    const input = join(fleet.dir, 'local.csv');
    await writeCsv(input, csvRows(3_000, 29));
    const env = { MODELFLEET_STATE_DIR: join(fleet.dir, '.modelfleet'), REDIS_URL: '', REDIS_ADDRESS: '' };
    const submitted = await runCli(['bulk', 'submit', '--model', MODEL, '--input', input, '--file', fleet.file, '--results', join(fleet.dir, 'local-results.csv')], { cwd: fleet.dir, env });

    expect(submitted.stderr).not.toMatch(/error\[/);
    expect(submitted.stdout).toMatch(/3,000 rows ok, 0 failed/);
    await stopLocalBulk((l) => lines.push(l));
    await waitFor(async () => !alive(state.redis?.pid) && !alive(state.supervisor?.pid), 20_000, 'Redis and the supervisor to stop');
    expect(lines.join('\n')).toMatch(/stopped the bulk supervisor and its workers/);
    expect(await readLocalBulkState()).toEqual({});
  }, 90_000);
});
