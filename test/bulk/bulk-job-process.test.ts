import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalRedisServer } from '../../pipeline/bulk/local-redis.js';
import { chunkStreamKey, jobKey, resultsKey, WORKER_GROUP } from '../../serving/worker/bulk-protocol.js';
import {
  COLUMNS, csvRows, jobIdFrom, makeBulkFleet, MODEL, parseResultsCsv, redisClient, runCli, servePredictions, startRedis, startWorkerProcess, writeCsv, type WorkerProcess,
} from './support/bulk-fixture.js';

let fleet: Awaited<ReturnType<typeof makeBulkFleet>>;
let redis: LocalRedisServer;
const workers: WorkerProcess[] = [];

beforeAll(async () => {
  fleet = await makeBulkFleet({ chunkRows: 500, maxQueuedChunks: 50 });
  redis = await startRedis(fleet.dir);
  for (let i = 0; i < 2; i++) workers.push(await startWorkerProcess(fleet.modelDir, redis.url, { MODELFLEET_WORKER_NAME: `test-worker-${i}` }));
}, 60_000);

afterAll(async () => {
  for (const worker of workers) worker.child.kill('SIGKILL');
  await redis?.kill();
  await fleet?.cleanup();
});

const submitArgs = (input: string, ...more: string[]) => ['bulk', 'submit', '--model', MODEL, '--input', input, '--file', fleet.file, '--redis', redis.url, ...more];

describe('a bulk job against a real Redis and two workers', () => {
  it('answers every row of a 100,000-row job exactly once, each equal to what serve returns for it', async () => {
    const rows = csvRows(100_000);
    const input = join(fleet.dir, 'trips.csv');
    const out = join(fleet.dir, 'trips-results.csv');
    await writeCsv(input, rows);

    const submitted = await runCli(submitArgs(input, '--results', out));

    expect(submitted.stderr).not.toMatch(/error\[/);
    expect(submitted.code).toBe(0);
    const results = parseResultsCsv(await readFile(out, 'utf8'));
    expect(results).toHaveLength(100_000);
    expect(results.every((r, i) => r.row === i && r.error === '')).toBe(true);
    const expected = await servePredictions(fleet.modelDir, rows);
    const differing = results.filter((r, i) => r.prediction !== String(expected[i]));
    expect(differing.slice(0, 3)).toEqual([]);

    const client = redisClient(redis.url);
    try {
      const id = jobIdFrom(submitted.stdout);
      const job = await client.hgetall(jobKey(id));
      expect({ state: job.state, rowsOk: job.rowsOk, rowsFailed: job.rowsFailed, chunksDone: job.chunksDone, chunksTotal: job.chunksTotal })
        .toEqual({ state: 'done', rowsOk: '100000', rowsFailed: '0', chunksDone: '200', chunksTotal: '200' });
      expect(await client.hlen(resultsKey(id))).toBe(200);
      // Every chunk acknowledged; the workers trim what was acknowledged.
      const summary = (await client.xpending(chunkStreamKey(MODEL), WORKER_GROUP)) as [number, ...unknown[]];
      expect(summary[0]).toBe(0);
      expect(await client.ttl(jobKey(id))).toBeGreaterThan(0);
    } finally {
      client.disconnect();
    }
  }, 120_000);

  it('gives bad rows per-row errors, the same reasons serve gives, and answers the rest', async () => {
    const good = csvRows(1_200, 11);
    const bad = new Map<number, string>([
      [3, 'abc,1250,0.5,1767225600,1'],
      [600, '0.5,,0.5,1767225600,1'],
      [601, '0.5,1250,0.5,1767225600'],
      [1_000, '0.5,1250,inf,1767225600,1'],
      [1_150, '"0.5",1250,0.5,"17672\n25600",1'],
    ]);
    const rows = good.map((row, i) => bad.get(i) ?? row);
    const input = join(fleet.dir, 'bad.csv');
    const out = join(fleet.dir, 'bad-results.csv');
    await writeCsv(input, rows);

    const submitted = await runCli(submitArgs(input, '--results', out));

    expect(submitted.code).toBe(0);
    expect(submitted.stdout).toMatch(/1,195 rows ok, 5 failed/);
    const results = parseResultsCsv(await readFile(out, 'utf8'));
    expect(results).toHaveLength(1_200);
    expect(results.filter((r) => r.error !== '').map((r) => r.row)).toEqual([...bad.keys()]);
    expect(results[3]?.error).toBe('wrong_type: "route_decision_score" (double) needs a number, got the string "abc"');
    expect(results[600]?.error).toMatch(/^null_value: "farevalueinminor" \(double\) is required/);
    expect(results[601]?.error).toBe('row_length: the row has 4 values for 5 columns');
    expect(results[1_000]?.error).toMatch(/^non_finite: /);
    expect(results[1_150]?.error).toMatch(/^wrong_type: "eventtime"/);
    const goodIndexes = rows.map((_, i) => i).filter((i) => !bad.has(i));
    const expected = await servePredictions(fleet.modelDir, goodIndexes.map((i) => rows[i] as string));
    expect(goodIndexes.map((i) => results[i]?.prediction)).toEqual(expected.map(String));
  }, 60_000);

  it('answers JSON Lines rows and refuses bad lines one by one', async () => {
    const input = join(fleet.dir, 'rows.jsonl');
    const out = join(fleet.dir, 'rows-results.jsonl');
    const record = (i: number) => JSON.stringify(Object.fromEntries(COLUMNS.map((c, k) => [c, k === 3 ? 1_767_225_600 + i : (i % 7) / 7 + k])));
    const lines = Array.from({ length: 30 }, (_, i) => record(i));
    lines[4] = '{"route_decision_score": 0.5,';
    lines[9] = JSON.stringify({ ...JSON.parse(record(9)) as object, tip: 2 });
    await writeFile(input, `${lines.join('\n')}\n`);

    const submitted = await runCli(submitArgs(input, '--results', out));

    expect(submitted.code).toBe(0);
    const results = (await readFile(out, 'utf8')).trimEnd().split('\n').map((l) => JSON.parse(l) as { row: number; prediction?: number; error?: string });
    expect(results.map((r) => r.row)).toEqual(lines.map((_, i) => i));
    expect(results[4]?.error).toMatch(/^malformed_json: the line is not valid JSON/);
    expect(results[9]?.error).toMatch(/^unknown_column: unknown column "tip"/);
    expect(results.filter((r) => r.error === undefined).every((r) => typeof r.prediction === 'number')).toBe(true);
  }, 60_000);

  it('refuses a file whose header does not fit the signature, before anything is queued', async () => {
    const input = join(fleet.dir, 'wrong-header.csv');
    await writeFile(input, 'route_decision_score,fare,offer_throughput_rate,eventtime,backtoback\n0.1,2,0.3,4,1\n');
    const client = redisClient(redis.url);
    // Entries ever added (the workers trim acknowledged ones meanwhile, so the length would not tell).
    const added = async () => {
      const info = (await client.xinfo('STREAM', chunkStreamKey(MODEL))) as unknown[];
      return Number(info[info.indexOf('entries-added') + 1]);
    };
    const before = await added();

    const submitted = await runCli(submitArgs(input));

    expect(submitted.code).toBe(1);
    expect(submitted.stderr).toMatch(/^error\[BULK_HEADER_MISMATCH\]: .*wrong-header\.csv does not fit the model's signature \(nothing was queued\): unknown column "fare"; required column "farevalueinminor" \(double\) is missing/);
    expect(submitted.stderr).toMatch(/hint: The model takes: route_decision_score \(double\), farevalueinminor \(double\)/);
    expect(await added()).toBe(before);
    client.disconnect();
  }, 30_000);

  it('cancels a job: its chunks are skipped and it never reports done', async () => {
    for (const worker of workers) worker.child.kill('SIGSTOP');
    const client = redisClient(redis.url);
    try {
      const input = join(fleet.dir, 'cancel.csv');
      await writeCsv(input, csvRows(5_000, 3));
      const submitted = await runCli(submitArgs(input, '--detach'));
      expect(submitted.code).toBe(0);
      const id = jobIdFrom(submitted.stdout);

      const cancelled = await runCli(['bulk', 'cancel', id, '--redis', redis.url]);
      expect(cancelled.stdout).toMatch(/cancelled \(it was queued\)/);
      for (const worker of workers) worker.child.kill('SIGCONT');
      const deadline = Date.now() + 20_000;
      while (Number(((await client.xpending(chunkStreamKey(MODEL), WORKER_GROUP)) as [number])[0]) > 0 || (await client.xinfo('GROUPS', chunkStreamKey(MODEL)) as unknown[][]).some((g) => Number(g[g.indexOf('lag') + 1]) > 0)) {
        if (Date.now() > deadline) throw new Error('the cancelled chunks were not drained');
        await new Promise((r) => setTimeout(r, 100));
      }

      expect(await client.hget(jobKey(id), 'state')).toBe('cancelled');
      expect(await client.hlen(resultsKey(id))).toBe(0);
      const status = await runCli(['bulk', 'status', id, '--redis', redis.url]);
      expect(status.stdout).toMatch(new RegExp(`^job ${id}: cancelled`));
      const results = await runCli(['bulk', 'results', id, '--out', join(fleet.dir, 'never.csv'), '--redis', redis.url]);
      expect(results.code).toBe(1);
      expect(results.stderr).toMatch(/^error\[BULK_JOB_NOT_DONE\]: job \S+ is cancelled/);
    } finally {
      for (const worker of workers) worker.child.kill('SIGCONT');
      client.disconnect();
    }
  }, 60_000);
});
