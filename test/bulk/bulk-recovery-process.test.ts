import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { LocalRedisServer } from '../../pipeline/bulk/local-redis.js';
import { chunkStreamKey, jobKey, resultsKey, WORKER_GROUP } from '../../serving/worker/bulk-protocol.js';
import {
  csvRows, jobIdFrom, makeBulkFleet, MODEL, parseResultsCsv, redisClient, ROOT, runCli, servePredictions, startRedis, startWorkerProcess, waitFor, writeCsv, type WorkerProcess,
} from './support/bulk-fixture.js';

/** Claim quickly: the tests kill workers and wait for their chunks to be claimed. */
const FAST_CLAIMS = { MODELFLEET_BULK_CLAIM_IDLE_MS: '1000', MODELFLEET_BULK_CLAIM_INTERVAL_MS: '200', MODELFLEET_BULK_MAX_DELIVERIES: '4' };

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

async function setUp(bulk: Record<string, unknown>, fsync: 'always' | 'everysec') {
  const fleet = await makeBulkFleet(bulk);
  cleanups.push(() => fleet.cleanup());
  const redis = await startRedis(fleet.dir, fsync);
  cleanups.push(() => redis.kill());
  const client = redisClient(redis.url);
  cleanups.push(async () => client.disconnect());
  const workers: WorkerProcess[] = [];
  cleanups.push(async () => { for (const w of workers) w.child.kill('SIGKILL'); });
  const startWorker = async (name: string) => {
    const worker = await startWorkerProcess(fleet.modelDir, redis.url, { ...FAST_CLAIMS, MODELFLEET_WORKER_NAME: name });
    workers.push(worker);
    return worker;
  };
  return { fleet, redis, client, startWorker };
}

/** Every row answered once, in order, equal to serve; the job's counters count each chunk once. */
async function expectAnsweredOnce(options: { redisUrl: string; client: ReturnType<typeof redisClient>; jobId: string; rows: readonly string[]; modelDir: string; dir: string; chunks: number }): Promise<void> {
  const out = join(options.dir, `${options.jobId}.csv`);
  const written = await runCli(['bulk', 'results', options.jobId, '--out', out, '--redis', options.redisUrl]);
  expect(written.stderr).toBe('');
  const results = parseResultsCsv(await readFile(out, 'utf8'));
  expect(results).toHaveLength(options.rows.length);
  expect(results.every((r, i) => r.row === i && r.error === '')).toBe(true);
  const expected = await servePredictions(options.modelDir, options.rows);
  expect(results.filter((r, i) => r.prediction !== String(expected[i])).slice(0, 3)).toEqual([]);
  const job = await options.client.hgetall(jobKey(options.jobId));
  expect({ rowsOk: Number(job.rowsOk), rowsFailed: Number(job.rowsFailed), chunksDone: Number(job.chunksDone) }).toEqual({ rowsOk: options.rows.length, rowsFailed: 0, chunksDone: options.chunks });
  expect(await options.client.hlen(resultsKey(options.jobId))).toBe(options.chunks);
  expect(((await options.client.xpending(chunkStreamKey(MODEL), WORKER_GROUP)) as [number])[0]).toBe(0);
}

describe('a bulk job survives failures', () => {
  it('answers every row exactly once when a worker is SIGKILLed mid-job: its chunks are claimed by another', async () => {
    const { fleet, redis, client, startWorker } = await setUp({ chunkRows: 100, maxQueuedChunks: 10_000 }, 'everysec');
    const rows = csvRows(120_000, 5);
    const input = join(fleet.dir, 'kill.csv');
    await writeCsv(input, rows);
    const doomed = await startWorker('doomed');

    const submitted = await runCli(['bulk', 'submit', '--model', MODEL, '--input', input, '--file', fleet.file, '--redis', redis.url, '--detach']);
    expect(submitted.code).toBe(0);
    const jobId = jobIdFrom(submitted.stdout);
    await waitFor(async () => Number(await client.hget(jobKey(jobId), 'chunksDone')) >= 100, 30_000, 'the first worker to answer 100 chunks');
    // Freeze the worker at a moment it holds chunks it has not acknowledged, then kill it there.
    const heldBy = async (name: string) => {
      const summary = (await client.xpending(chunkStreamKey(MODEL), WORKER_GROUP)) as [number, string, string, Array<[string, string]> | null];
      return Number(summary[3]?.find(([consumer]) => consumer === name)?.[1] ?? 0);
    };
    let leftByDoomed = 0;
    for (let attempt = 0; attempt < 200 && leftByDoomed === 0; attempt++) {
      doomed.child.kill('SIGSTOP');
      leftByDoomed = await heldBy('doomed');
      if (leftByDoomed === 0) {
        doomed.child.kill('SIGCONT');
        await new Promise((r) => setTimeout(r, 3));
      }
    }
    doomed.child.kill('SIGKILL');
    await doomed.exited;
    const doneAtKill = Number(await client.hget(jobKey(jobId), 'chunksDone'));
    expect(doneAtKill).toBeLessThan(1_200);
    // The killed worker held chunks it never acknowledged: those are what the survivor must claim.
    expect(leftByDoomed).toBeGreaterThan(0);

    const survivor = await startWorker('survivor');
    await waitFor(async () => (await client.hget(jobKey(jobId), 'state')) === 'done', 60_000, 'the job to finish', 100);

    await expectAnsweredOnce({ redisUrl: redis.url, client, jobId, rows, modelDir: fleet.modelDir, dir: fleet.dir, chunks: 1_200 });
    const metrics = await (await fetch(`${survivor.url}/metrics`)).text();
    const claimed = Number(/^modelfleet_worker_claimed_total\{[^}]*\} (\d+)/m.exec(metrics)?.[1] ?? 0);
    expect(claimed).toBeGreaterThanOrEqual(leftByDoomed);
  }, 120_000);

  it('stops a worker gracefully on SIGTERM: it answers the chunks in hand, holds none, and exits 0', async () => {
    const { fleet, redis, client, startWorker } = await setUp({ chunkRows: 100, maxQueuedChunks: 10_000 }, 'everysec');
    const rows = csvRows(100_000, 17);
    const input = join(fleet.dir, 'term.csv');
    await writeCsv(input, rows);
    const leaving = await startWorker('leaving');
    expect(await (await fetch(`${leaving.url}/healthz`)).json()).toEqual({ status: 'ok' });
    expect((await fetch(`${leaving.url}/readyz`)).status).toBe(200);

    const submitted = await runCli(['bulk', 'submit', '--model', MODEL, '--input', input, '--file', fleet.file, '--redis', redis.url, '--detach']);
    const jobId = jobIdFrom(submitted.stdout);
    await waitFor(async () => Number(await client.hget(jobKey(jobId), 'chunksDone')) >= 50, 30_000, '50 chunks answered');
    leaving.child.kill('SIGTERM');

    expect(await leaving.exited).toBe(0);
    expect(leaving.output()).toMatch(/stopping: no new chunks; answering the ones in hand/);
    const consumers = (await client.xinfo('CONSUMERS', chunkStreamKey(MODEL), WORKER_GROUP)) as unknown[][];
    const left = consumers.map((c) => Object.fromEntries(Array.from({ length: c.length / 2 }, (_, i) => [c[2 * i], c[2 * i + 1]]))).find((c) => c.name === 'leaving');
    expect(left?.pending).toBe(0);
    expect(Number(await client.hget(jobKey(jobId), 'chunksDone'))).toBeLessThan(1_000);

    await startWorker('staying');
    await waitFor(async () => (await client.hget(jobKey(jobId), 'state')) === 'done', 60_000, 'the job to finish', 100);
    await expectAnsweredOnce({ redisUrl: redis.url, client, jobId, rows, modelDir: fleet.modelDir, dir: fleet.dir, chunks: 1_000 });
  }, 120_000);

  it('dead-letters a chunk delivered more than bulk.maxDeliveries times, answers its rows with the reason, and finishes the job', async () => {
    const { fleet, redis, client, startWorker } = await setUp({ chunkRows: 100 }, 'everysec');
    const input = join(fleet.dir, 'poison.csv');
    await writeCsv(input, csvRows(300, 23));
    const submitted = await runCli(['bulk', 'submit', '--model', MODEL, '--input', input, '--file', fleet.file, '--redis', redis.url, '--detach']);
    const jobId = jobIdFrom(submitted.stdout);
    // A consumer that takes the first chunk and dies with it, four times over.
    const stream = chunkStreamKey(MODEL);
    const [[, [[id]]]] = (await client.xreadgroup('GROUP', WORKER_GROUP, 'ghost', 'COUNT', 1, 'STREAMS', stream, '>')) as [[string, [[string, string[]]]]];
    for (let i = 0; i < 3; i++) await client.xclaim(stream, WORKER_GROUP, 'ghost', 0, id);

    await startWorker('careful');
    await waitFor(async () => (await client.hget(jobKey(jobId), 'state')) === 'done', 30_000, 'the job to finish', 100);

    const out = join(fleet.dir, 'poison-results.csv');
    expect((await runCli(['bulk', 'results', jobId, '--out', out, '--redis', redis.url])).code).toBe(0);
    const results = parseResultsCsv(await readFile(out, 'utf8'));
    expect(results.slice(0, 100).every((r) => /^dead_letter: the chunk was given up after 5 deliveries: no worker acknowledged it in 4 deliveries/.test(r.error))).toBe(true);
    expect(results.slice(100).every((r) => r.error === '' && r.prediction !== '')).toBe(true);
    const dead = (await client.xrange(`modelfleet:bulk:${MODEL}:dead-letters`, '-', '+')) as Array<[string, string[]]>;
    expect(dead).toHaveLength(1);
    expect(dead[0]?.[1].slice(0, 6)).toEqual(['id', id, 'reason', expect.stringMatching(/^no worker acknowledged it/), 'deliveries', '5']);
  }, 60_000);

  it('completes a job when Redis is killed mid-job and restarted: nothing lost, nothing doubled', async () => {
    // appendfsync always: every write Redis acknowledged is on disk, so even SIGKILL loses none.
    const { fleet, redis, client, startWorker } = await setUp({ chunkRows: 100, maxQueuedChunks: 20 }, 'always');
    const rows = csvRows(60_000, 9);
    const input = join(fleet.dir, 'restart.csv');
    await writeCsv(input, rows);
    await startWorker('steady');

    // The submitter is still queuing (maxQueuedChunks holds it back) when Redis dies: it must wait, not fail.
    const submit = spawn(process.execPath, [join(ROOT, 'bin', 'modelfleet.js'), 'bulk', 'submit', '--model', MODEL, '--input', input, '--file', fleet.file, '--redis', redis.url], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    submit.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    submit.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const exited = new Promise<number | null>((resolve) => submit.once('exit', resolve));
    cleanups.push(async () => { submit.kill('SIGKILL'); });
    await waitFor(async () => /^job (\S+):/m.test(stdout), 20_000, 'the job id');
    const jobId = jobIdFrom(stdout);
    await waitFor(async () => Number(await client.hget(jobKey(jobId), 'chunksDone')) >= 60, 30_000, '60 chunks answered');

    await (redis as LocalRedisServer).kill();
    await new Promise((r) => setTimeout(r, 1_500));
    await redis.startAgain();

    expect(await exited, `submit output: ${stdout}\n${stderr}`).toBe(0);
    expect(stdout).toMatch(/done in .*: 60,000 rows ok, 0 failed/);
    expect(stdout).toMatch(/lost the connection to Redis/);
    await expectAnsweredOnce({ redisUrl: redis.url, client, jobId, rows, modelDir: fleet.modelDir, dir: fleet.dir, chunks: 600 });
  }, 120_000);
});
