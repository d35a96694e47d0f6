import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MODEL, runCli } from '../bulk/support/bulk-fixture.js';
import { makeStreamFleet, rows, startBroker, startStreamWorkerProcess, testTopics, type StreamWorkerProcess, type TestBroker } from './support/stream-fixture.js';

describe('modelfleet stream send / tail', () => {
  let broker: TestBroker;
  let fleet: Awaited<ReturnType<typeof makeStreamFleet>>;
  let worker: StreamWorkerProcess | undefined;
  const topics = testTopics('cli');

  beforeAll(async () => {
    fleet = await makeStreamFleet({ transport: 'redis', input: topics.input, output: topics.output, deadLetter: topics.deadLetter, group: topics.group });
    broker = await startBroker('redis', fleet.dir);
  }, 60_000);

  afterAll(async () => {
    if (worker?.child.exitCode === null) worker.child.kill('SIGKILL');
    await broker?.stop();
    await fleet?.cleanup();
  });

  it('sends a JSON Lines file keyed by a field, and tails the predictions and the dead letters with their trace', async () => {
    const input = join(fleet.dir, 'events.jsonl');
    const lines = rows(20).map((r) => r.json);
    lines.splice(5, 0, '{"eventtime": "broken", ');
    await writeFile(input, `${lines.join('\n')}\n\n`);
    const env = { ...broker.workerEnv };
    worker = await startStreamWorkerProcess(fleet.modelDir, { ...env, MODELFLEET_STREAM_INPUT: topics.input, MODELFLEET_STREAM_OUTPUT: topics.output, MODELFLEET_STREAM_DEAD_LETTER: topics.deadLetter, MODELFLEET_STREAM_GROUP: topics.group });

    const sent = await runCli(['stream', 'send', '--model', MODEL, '--file', fleet.file, '--input', input, '--key', 'eventtime'], { env });
    expect(sent.stderr).toBe('');
    expect(sent.stdout).toContain(`sent 21 messages to ${topics.input} (redis); predictions go to ${topics.output}, refused messages to ${topics.deadLetter}`);

    const tail = await runCli(['stream', 'tail', '--model', MODEL, '--file', fleet.file, '--count', '20'], { env });
    expect(tail.code).toBe(0);
    const out = tail.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(out.map((r) => r.key).sort()).toEqual(Array.from({ length: 20 }, (_, i) => String(1_767_225_600 + i)).sort());
    expect(out[0]).toMatchObject({ model: MODEL, version: expect.stringMatching(/^[0-9a-f]{12}$/) as unknown, digest: expect.stringMatching(/^sha256:/) as unknown });
    expect(typeof out[0]?.prediction).not.toBe('undefined');

    // The broken line is not JSON: its key is its line number.
    const dead = await runCli(['stream', 'tail', '--model', MODEL, '--file', fleet.file, '--dead-letter', '--count', '1'], { env });
    expect(JSON.parse(dead.stdout)).toMatchObject({ key: '6', message: '{"eventtime": "broken", ', error: expect.stringMatching(/^malformed_json:/) as unknown });
  }, 60_000);

  it('names the fix when the model has no stream: block', async () => {
    const other = await makeStreamFleet({});
    await writeFile(other.file, (await readFile(other.file, 'utf8')).replace(/ {4}stream: \{\}\n/, ''));
    const result = await runCli(['stream', 'tail', '--model', MODEL, '--file', other.file, '--count', '1']);
    await other.cleanup();
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/error\[STREAM_NOT_ENABLED\]: model match-7-moto-baseline has no `stream:` block/);
  }, 30_000);

  it('exits 1, naming the broker, when Kafka never answers (the pod is restarted, not left idle)', async () => {
    const result = await runCli(['worker', '--stream', '--transport', 'kafka', '--bootstrap', '127.0.0.1:1', '--model-dir', fleet.modelDir, '--port', '0'], { env: { MODEL_NAME: MODEL } });
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/"msg":"the worker loop failed; stopping"/);
    expect(result.stdout).toMatch(/ECONNREFUSED 127\.0\.0\.1:1/);
    expect(result.stdout).not.toMatch(/stopped cleanly/);
  }, 60_000);
});
