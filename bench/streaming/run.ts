/**
 * Streaming predictions end to end on this machine, for each transport: one `modelfleet worker
 * --stream` process (the compiled CLI) in its consumer group, a producer sending messages of the
 * example logistic regression's five double columns, and a reader following the output topic.
 * Measured from the first message sent to the last prediction read, with the worker already in
 * its group; the producer's own rate is printed beside it.
 *
 *   node --import tsx bench/streaming/run.ts [--messages 100000] [--transport redis,kafka] [--batch-size 256]
 *
 * Kafka runs against librdkafka's mock cluster (scripts/setup-kafka-mock.sh), or a real broker with
 * KAFKA_BOOTSTRAP=host:port. The mock keeps about 5 MB per partition and drops older records, so
 * runs far above 100,000 messages measure the mock, not the worker. Everything runs on 127.0.0.1
 * and stops by itself.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { makeBulkFleet } from '../../test/bulk/support/bulk-fixture.js';
import { rows, startBroker, startStreamWorkerProcess, testTopics, type Transport } from '../../test/stream/support/stream-fixture.js';

const { values: flags } = parseArgs({
  options: {
    messages: { type: 'string', default: '100000' },
    transport: { type: 'string', default: 'redis,kafka' },
    'batch-size': { type: 'string', default: '256' },
  },
});
const MESSAGES = Number(flags.messages);
const TRANSPORTS = flags.transport.split(',') as Transport[];

async function run(transport: Transport): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), `modelfleet-bench-stream-${transport}-`));
  const fleet = await makeBulkFleet();
  const broker = await startBroker(transport, dir);
  const client = await broker.client();
  try {
    const topics = testTopics('bench');
    const input = rows(MESSAGES).map((r, i) => ({ key: `k${i}`, value: r.json }));
    // Creates the input topic (the mock has no CreateTopics) and lets the worker join before the clock starts.
    await client.send(topics.input, input.slice(0, 1));
    const reader = await client.follow(topics.output);
    const worker = await startStreamWorkerProcess(fleet.modelDir, {
      ...broker.workerEnv, MODELFLEET_STREAM_INPUT: topics.input, MODELFLEET_STREAM_OUTPUT: topics.output, MODELFLEET_STREAM_DEAD_LETTER: topics.deadLetter,
      MODELFLEET_STREAM_GROUP: topics.group, MODELFLEET_STREAM_BATCH_SIZE: flags['batch-size'], LOG_LEVEL: 'warn',
    });
    await waitUntil(() => reader.records.length >= 1, 60_000, 'the worker to answer its first message');
    const started = performance.now();
    await client.send(topics.input, input.slice(1));
    const sent = performance.now();
    await waitUntil(() => reader.records.length >= MESSAGES, 300_000, `${MESSAGES} predictions`);
    const done = performance.now();
    const seconds = (done - started) / 1000;
    console.log(`${transport}: ${MESSAGES - 1} messages end to end in ${seconds.toFixed(2)} s = ${Math.round((MESSAGES - 1) / seconds)} msg/s (producer alone: ${Math.round((MESSAGES - 1) / ((sent - started) / 1000))} msg/s; batch size ${flags['batch-size']})`);
    worker.child.kill('SIGTERM');
    await worker.exited;
    await reader.stop();
  } finally {
    await client.close();
    await broker.stop();
    await fleet.cleanup();
    await rm(dir, { recursive: true, force: true });
  }
}

async function waitUntil(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

for (const transport of TRANSPORTS) await run(transport);
