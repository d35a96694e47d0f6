import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeBulkFleet, MODEL, servePredictions, waitFor } from '../../bulk/support/bulk-fixture.js';
import { rows, startBroker, startStreamWorkerProcess, testTopics, type StreamWorkerProcess, type TestBroker, type TestClient, type TestRecord, type Transport } from './stream-fixture.js';

/**
 * The floor every stream transport is held to, run against real processes: the compiled
 * `modelfleet worker --stream` and the broker (redis-server, or librdkafka's mock cluster /
 * KAFKA_BOOTSTRAP).
 */
export function streamSuite(transport: Transport): void {
  describe(`modelfleet worker --stream over ${transport}`, () => {
    let dir: string;
    let broker: TestBroker;
    let client: TestClient;
    let fleet: Awaited<ReturnType<typeof makeBulkFleet>>;
    const workers: StreamWorkerProcess[] = [];

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), `modelfleet-stream-${transport}-`));
      fleet = await makeBulkFleet();
      broker = await startBroker(transport, dir);
      client = await broker.client();
    }, 60_000);

    afterAll(async () => {
      for (const w of workers) if (w.child.exitCode === null) w.child.kill('SIGKILL');
      await client?.close();
      await broker?.stop();
      await fleet?.cleanup();
      await rm(dir, { recursive: true, force: true });
    }, 60_000);

    const start = async (topics: ReturnType<typeof testTopics>, name: string, env: Record<string, string> = {}) => {
      const worker = await startStreamWorkerProcess(fleet.modelDir, {
        ...broker.workerEnv,
        MODELFLEET_STREAM_INPUT: topics.input, MODELFLEET_STREAM_OUTPUT: topics.output, MODELFLEET_STREAM_DEAD_LETTER: topics.deadLetter, MODELFLEET_STREAM_GROUP: topics.group,
        MODELFLEET_WORKER_NAME: name, MODELFLEET_STREAM_CLAIM_IDLE_MS: '2000', MODELFLEET_STREAM_CLAIM_INTERVAL_MS: '500', ...env,
      });
      workers.push(worker);
      return worker;
    };
    const byKey = (records: readonly TestRecord[]) => {
      const map = new Map<string, TestRecord[]>();
      for (const r of records) map.set(r.key ?? '', [...(map.get(r.key ?? '') ?? []), r]);
      return map;
    };

    it('answers 100,000 messages with 100,000 predictions, each what serve answers for the row, keys kept and traced', async () => {
      const topics = testTopics('all');
      const input = rows(100_000);
      await client.send(topics.input, input.map((r, i) => ({ key: `k${i}`, value: r.json })));
      const expected = await servePredictions(fleet.modelDir, input.map((r) => r.csv));
      const reader = await client.follow(topics.output);
      const started = Date.now();
      const worker = await start(topics, 'correct');
      await waitFor(() => Promise.resolve(reader.records.length >= input.length), 90_000, 'every prediction', 250);
      const elapsed = (Date.now() - started) / 1000;
      await new Promise((r) => setTimeout(r, 500));
      await reader.stop();
      const out = reader.records;
      expect(out).toHaveLength(input.length);
      expect(await client.count(topics.deadLetter)).toBe(0);
      const keys = byKey(out);
      expect(keys.size).toBe(input.length);
      const mismatches = expected.filter((prediction, i) => {
        const got = keys.get(`k${i}`)?.[0];
        return got === undefined || JSON.stringify(JSON.parse(got.value)) !== JSON.stringify(prediction);
      });
      expect(mismatches).toHaveLength(0);
      const first = keys.get('k0')?.[0];
      expect(first?.headers['modelfleet-model']).toBe(MODEL);
      expect(first?.headers['modelfleet-version']).toMatch(/^[0-9a-f]{12}$/);
      expect(first?.headers['modelfleet-digest']).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(first?.headers['modelfleet-input']).toMatch(transport === 'kafka' ? new RegExp(`^${topics.input.replaceAll('.', '\\.')}/[0-9]+/[0-9]+$`) : /^[0-9]+-[0-9]+$/);
      const metrics = await (await fetch(`${worker.url}/metrics`)).text();
      expect(metrics).toMatch(/modelfleet_stream_messages_total\{outcome="ok",model="[^"]+",version="[^"]+"\} 100000/);
      expect(metrics).toMatch(/modelfleet_stream_lag_messages\{/);
      console.log(`${transport}: 100,000 messages scored in ${elapsed.toFixed(1)} s from the worker's start (${Math.round(input.length / elapsed)} msg/s)`);
      worker.child.kill('SIGTERM');
      expect(await worker.exited).toBe(0);
      expect(worker.output()).toMatch(/stopped cleanly/);
    }, 120_000);

    it('loses nothing when the worker is killed mid-stream: every input has an output, duplicates within the batches in hand and identical', async () => {
      const topics = testTopics('kill');
      const batchSize = 50;
      const maxInFlight = 2;
      const input = rows(40_000, 5);
      await client.send(topics.input, input.map((r, i) => ({ key: `k${i}`, value: r.json })));
      const env = { MODELFLEET_STREAM_BATCH_SIZE: String(batchSize), MODELFLEET_STREAM_MAX_IN_FLIGHT: String(maxInFlight) };
      const doomed = await start(topics, 'doomed', env);
      await waitFor(async () => (await client.count(topics.output)) >= 2_000, 60_000, 'the first predictions', 20);
      doomed.child.kill('SIGKILL');
      await doomed.exited;
      const atKill = await client.count(topics.output);
      expect(atKill).toBeLessThan(input.length);
      await start(topics, 'survivor', env);
      await waitFor(async () => byKey(await client.readAll(topics.output)).size >= input.length, 90_000, 'an output for every input', 1_000);
      const out = await client.readAll(topics.output);
      const keys = byKey(out);
      expect(keys.size).toBe(input.length);
      const duplicates = out.length - keys.size;
      // A killed worker can have published at most the batches it held without committing them.
      expect(duplicates).toBeLessThanOrEqual(maxInFlight * batchSize);
      for (const copies of keys.values()) expect(new Set(copies.map((c) => c.value)).size).toBe(1);
      console.log(`${transport}: killed after ${atKill} predictions; ${duplicates} duplicates after the restart`);
    }, 120_000);

    it('stops on SIGTERM mid-stream after committing the batches in hand: a restart answers the rest without a duplicate', async () => {
      const topics = testTopics('term');
      const input = rows(30_000, 9);
      await client.send(topics.input, input.map((r, i) => ({ key: `k${i}`, value: r.json })));
      const env = { MODELFLEET_STREAM_BATCH_SIZE: '50', MODELFLEET_STREAM_MAX_IN_FLIGHT: '2' };
      const leaving = await start(topics, 'leaving', env);
      await waitFor(async () => (await client.count(topics.output)) >= 2_000, 60_000, 'the first predictions', 20);
      leaving.child.kill('SIGTERM');
      expect(await leaving.exited).toBe(0);
      expect(leaving.output()).toMatch(/stopping: no new batches; answering the ones in hand/);
      const atStop = await client.count(topics.output);
      expect(atStop).toBeLessThan(input.length);
      await start(topics, 'staying', env);
      await waitFor(async () => (await client.count(topics.output)) >= input.length, 90_000, 'an output for every input', 250);
      const out = await client.readAll(topics.output);
      expect(out).toHaveLength(input.length);
      expect(byKey(out).size).toBe(input.length);
    }, 120_000);

    it('sends bad messages to the dead-letter topic with the reason, and scores the rest', async () => {
      const topics = testTopics('bad');
      const good = rows(1_000, 3);
      const bad: Array<{ key: string; value: string | null; reason: RegExp }> = [
        { key: 'bad-json', value: '{"route_decision_score": 0.5,', reason: /^malformed_json: the message is not valid JSON/ },
        { key: 'bad-empty', value: null, reason: /^empty_message: the message has no body/ },
        { key: 'bad-missing', value: JSON.stringify({ route_decision_score: 0.5 }), reason: /missing/ },
        { key: 'bad-type', value: JSON.stringify({ ...(JSON.parse(good[0]?.json ?? '{}') as object), farevalueinminor: 'lots' }), reason: /farevalueinminor/ },
      ];
      const messages = good.map((r, i) => ({ key: `k${i}`, value: r.json as string | null }));
      bad.forEach((b, i) => messages.splice(100 + i * 200, 0, { key: b.key, value: b.value }));
      await client.send(topics.input, messages);
      const worker = await start(topics, 'careful');
      await waitFor(async () => (await client.count(topics.output)) >= good.length && (await client.count(topics.deadLetter)) >= bad.length, 60_000, 'predictions and dead letters', 250);
      const dead = byKey(await client.readAll(topics.deadLetter));
      expect([...dead.keys()].sort()).toEqual(bad.map((b) => b.key).sort());
      for (const b of bad) {
        const letter = dead.get(b.key)?.[0];
        expect(letter?.headers['modelfleet-error']).toMatch(b.reason);
        expect(letter?.headers['modelfleet-model']).toBe(MODEL);
        expect(letter?.value).toBe(b.value ?? '');
      }
      const out = byKey(await client.readAll(topics.output));
      expect(out.size).toBe(good.length);
      expect([...out.keys()].every((k) => k.startsWith('k'))).toBe(true);
      const metrics = await (await fetch(`${worker.url}/metrics`)).text();
      expect(metrics).toMatch(/modelfleet_stream_messages_total\{outcome="failed",model="[^"]+",version="[^"]+"\} 4/);
      worker.child.kill('SIGTERM');
      expect(await worker.exited).toBe(0);
    }, 90_000);
  });
}
