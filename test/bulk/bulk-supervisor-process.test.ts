import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalRedisServer } from '../../pipeline/bulk/local-redis.js';
import { runSupervisor } from '../../pipeline/bulk/supervisor/run-supervisor.js';
import { jobKey } from '../../serving/worker/bulk-protocol.js';
import { csvRows, jobIdFrom, makeBulkFleet, MODEL, redisClient, runCli, waitFor, writeCsv } from './support/bulk-fixture.js';

let fleet: Awaited<ReturnType<typeof makeBulkFleet>>;
let redis: LocalRedisServer;

beforeAll(async () => {
  fleet = await makeBulkFleet({ chunkRows: 200, maxWorkers: 2, lagPerWorker: 5, claimIdleSeconds: 1, cooldownSeconds: 3 });
  const { startRedis } = await import('./support/bulk-fixture.js');
  redis = await startRedis(fleet.dir);
}, 30_000);

afterAll(async () => {
  await redis?.kill();
  await fleet?.cleanup();
});

/** Whether a pid names a running process. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('the local supervisor', () => {
  it('starts workers from zero when a job arrives, up to bulk.maxWorkers, and stops them all after the cooldown', async () => {
    const lines: string[] = [];
    const stop = new AbortController();
    const running = runSupervisor({ file: fleet.file, buildDir: join(fleet.dir, 'build'), redisFlag: redis.url, pollMs: 200, logDir: join(fleet.dir, 'logs'), signal: stop.signal, print: (line) => lines.push(line) });
    const client = redisClient(redis.url);
    try {
      await new Promise((r) => setTimeout(r, 1_000));
      expect(lines.filter((l) => l.includes('started worker'))).toEqual([]);

      const input = join(fleet.dir, 'scale.csv');
      await writeCsv(input, csvRows(40_000, 13));
      const submitted = await runCli(['bulk', 'submit', '--model', MODEL, '--input', input, '--file', fleet.file, '--redis', redis.url, '--detach']);
      expect(submitted.code).toBe(0);
      const jobId = jobIdFrom(submitted.stdout);
      await waitFor(async () => (await client.hget(jobKey(jobId), 'state')) === 'done', 60_000, 'the job to finish', 100);

      const started = lines.filter((l) => l.includes('started worker'));
      expect(started.length).toBeGreaterThanOrEqual(1);
      expect(started.length).toBeLessThanOrEqual(2);
      expect(started[0]).toMatch(/^match-7-moto-baseline: lag \d+, in progress \d+: started worker 1\/2/);
      const pids = started.map((l) => Number(/pid (\d+)/.exec(l)?.[1]));
      await waitFor(async () => lines.some((l) => /no work for 3s: stopping \d worker/.test(l)), 20_000, 'the pool to stop after the cooldown', 100);
      await waitFor(async () => pids.every((pid) => !alive(pid)), 20_000, 'the workers to exit');
      expect(Number(await client.hget(jobKey(jobId), 'rowsOk'))).toBe(40_000);
    } finally {
      stop.abort();
      await running;
      client.disconnect();
    }
  }, 90_000);
});
