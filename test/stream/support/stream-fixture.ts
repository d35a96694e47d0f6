import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Kafka, logLevel } from 'kafkajs';
import { createRandom } from '../../../lib/seeded-random.js';
import { LocalRedisServer } from '../../../pipeline/bulk/local-redis.js';
import { openStreamClient, type ClientConnection } from '../../../pipeline/stream/stream-client.js';
import { redisSettingsFrom } from '../../../serving/worker/redis-connection.js';
import { kafkaSettingsFrom } from '../../../serving/worker/stream/kafka-connection.js';
import { COLUMNS, EXAMPLE, MODEL, redisClient, ROOT, spawnWorker, type WorkerProcess } from '../../bulk/support/bulk-fixture.js';

export type Transport = 'redis' | 'kafka';

/** One message as sent or read back: key, body, and (read back) the headers or extra fields. */
export interface TestRecord {
  readonly key: string | null;
  readonly value: string;
  readonly headers: Readonly<Record<string, string>>;
}

/** A broker for one test file: librdkafka's mock cluster (or KAFKA_BOOTSTRAP), or a redis-server of its own. */
export interface TestBroker {
  readonly transport: Transport;
  /** Environment of a worker that talks to this broker. */
  readonly workerEnv: Readonly<Record<string, string>>;
  /** A client for the test's own sends and reads. */
  client(): Promise<TestClient>;
  stop(): Promise<void>;
}

export interface TestClient {
  send(topic: string, records: ReadonlyArray<{ key: string | null; value: string | null }>): Promise<void>;
  /** How many records the topic holds. */
  count(topic: string): Promise<number>;
  /** Every record of the topic, in order per partition. */
  readAll(topic: string): Promise<TestRecord[]>;
  /**
   * Reads the topic from its start as records arrive, into `records`. The mock cluster keeps about
   * 5 MB per partition and drops the oldest records past that: a large output is read while it is
   * written, not afterwards.
   */
  follow(topic: string): Promise<{ readonly records: readonly TestRecord[]; stop(): Promise<void> }>;
  close(): Promise<void>;
}

/** Topic names of one test, unique so that tests against a real broker never meet old messages. */
export function testTopics(label: string): { input: string; output: string; deadLetter: string; group: string } {
  const id = `${label}-${randomBytes(4).toString('hex')}`;
  return { input: `test.${id}.inputs`, output: `test.${id}.outputs`, deadLetter: `test.${id}.dead-letter`, group: `test.${id}` };
}

export async function startBroker(transport: Transport, dir: string): Promise<TestBroker> {
  return transport === 'kafka' ? startKafka() : startRedisBroker(dir);
}

async function startRedisBroker(dir: string): Promise<TestBroker> {
  const server = await LocalRedisServer.start({ dir: join(dir, 'redis'), appendFsync: 'everysec' });
  return {
    transport: 'redis',
    workerEnv: { MODELFLEET_STREAM_TRANSPORT: 'redis', REDIS_URL: server.url },
    client: () => redisTestClient(server.url),
    stop: () => server.stop(),
  };
}

/** Records sent in one call: the produce requests stay well under a broker's request size limit. */
const SEND_CHUNK = 5_000;

/**
 * The test's client on top of `stream send`/`tail`'s own (pipeline/stream/stream-client.ts), plus
 * what only tests need: how many records a topic holds, and all of them at once.
 */
async function testClient(connection: ClientConnection, extra: { count(topic: string): Promise<number>; readAll?(topic: string): Promise<TestRecord[]>; close(): Promise<void> }): Promise<TestClient> {
  const client = await openStreamClient(connection);
  const follow = (topic: string) => {
    const records: TestRecord[] = [];
    const done = new AbortController();
    let failure: unknown;
    const reading = client.read(topic, { fromStart: true, signal: done.signal, onRecord: (r) => records.push({ key: r.key, value: r.value ?? '', headers: r.headers }) })
      .catch((err: unknown) => { failure = err; });
    return Promise.resolve({
      records,
      async stop() {
        done.abort();
        await reading;
        if (failure !== undefined) throw failure;
      },
    });
  };
  return {
    async send(topic, records) {
      for (let i = 0; i < records.length; i += SEND_CHUNK) await client.send(topic, records.slice(i, i + SEND_CHUNK).map((r) => ({ ...r, headers: {} })));
    },
    count: extra.count,
    async readAll(topic) {
      if (extra.readAll) return extra.readAll(topic);
      const total = await extra.count(topic);
      if (total === 0) return [];
      const reader = await follow(topic);
      const deadline = Date.now() + 60_000;
      while (reader.records.length < total && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      await reader.stop();
      if (reader.records.length < total) throw new Error(`read ${reader.records.length} of the ${total} records of ${topic} in 60 s`);
      return [...reader.records];
    },
    follow,
    async close() {
      await client.close();
      await extra.close();
    },
  };
}

function redisTestClient(url: string): Promise<TestClient> {
  const redis = redisClient(url);
  return testClient({ transport: 'redis', redis: redisSettingsFrom({}, url) }, {
    count: async (topic) => Number(await redis.xlen(topic)),
    async readAll(topic) {
      const out: TestRecord[] = [];
      let from = '-';
      for (;;) {
        const entries = (await redis.xrange(topic, from, '+', 'COUNT', 10_000));
        for (const [, fields] of entries) out.push(toRecord(fields));
        if (entries.length < 10_000) return out;
        from = `(${entries[entries.length - 1]?.[0] ?? '0-0'}`;
      }
    },
    close: async () => { await redis.quit(); },
  });
}

function toRecord(fields: readonly string[]): TestRecord {
  const all: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) all[fields[i] as string] = fields[i + 1] as string;
  const { key, value, ...headers } = all;
  return { key: key ?? null, value: value ?? '', headers };
}

/**
 * KAFKA_BOOTSTRAP when set (a real broker), else scripts/kafka-mock-cluster.py: librdkafka's mock
 * cluster, held by a python process for the length of the test file.
 */
async function startKafka(): Promise<TestBroker> {
  const given = process.env.KAFKA_BOOTSTRAP?.trim();
  let holder: ChildProcess | undefined;
  let bootstrap: string;
  if (given) {
    bootstrap = given;
  } else {
    holder = spawn('/usr/bin/python3', [join(ROOT, 'scripts', 'kafka-mock-cluster.py')], { stdio: ['pipe', 'pipe', 'inherit'] });
    const stdout = holder.stdout;
    if (!stdout) throw new Error('the mock cluster has no stdout');
    bootstrap = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the Kafka mock cluster printed no bootstrap servers in 20 s (is python3-confluent-kafka installed? bash scripts/setup-kafka-mock.sh)')), 20_000);
      holder?.once('exit', (code) => reject(new Error(`the Kafka mock cluster exited with ${code}; run bash scripts/setup-kafka-mock.sh`)));
      createInterface({ input: stdout }).once('line', (line) => { clearTimeout(timer); resolve(line.trim()); });
    });
  }
  // The mock answers a fetch only when its wait is over, never as soon as messages arrive: short waits.
  const workerEnv = { MODELFLEET_STREAM_TRANSPORT: 'kafka', KAFKA_BOOTSTRAP: bootstrap, KAFKA_SESSION_TIMEOUT_MS: '6000', MODELFLEET_STREAM_READ_BLOCK_MS: '100' };
  return {
    transport: 'kafka',
    workerEnv,
    client: () => kafkaTestClient(bootstrap, workerEnv),
    async stop() {
      if (!holder || holder.exitCode !== null) return;
      const exited = new Promise((resolve) => holder?.once('exit', resolve));
      holder.stdin?.end();
      holder.kill('SIGTERM');
      await exited;
    },
  };
}

async function kafkaTestClient(bootstrap: string, env: Readonly<Record<string, string>>): Promise<TestClient> {
  const kafka = new Kafka({ clientId: 'modelfleet-test', brokers: bootstrap.split(','), logLevel: logLevel.NOTHING, connectionTimeout: 5_000 });
  const admin = kafka.admin();
  await admin.connect();
  return testClient({ transport: 'kafka', kafka: kafkaSettingsFrom(env) }, {
    async count(topic) {
      try {
        return (await admin.fetchTopicOffsets(topic)).reduce((n, p) => n + Number(p.high) - Number(p.low), 0);
      } catch {
        return 0;
      }
    },
    close: () => admin.disconnect(),
  });
}

/** Deterministic rows of the example model's five double columns, as the JSON objects a message holds and as CSV. */
export function rows(count: number, seed = 11): Array<{ json: string; csv: string }> {
  const random = createRandom(seed);
  return Array.from({ length: count }, (_, i) => {
    const values = [Number(random.float(0, 1).toFixed(6)), random.int(100, 5000), Number(random.float(0, 1).toFixed(4)), 1_767_225_600 + i, random.int(0, 1)];
    return { json: JSON.stringify(Object.fromEntries(COLUMNS.map((c, k) => [c, values[k]]))), csv: values.join(',') };
  });
}

export type StreamWorkerProcess = WorkerProcess;

/** `modelfleet worker --stream` as a real process (the compiled CLI), on a free port for /healthz and /metrics. */
export async function startStreamWorkerProcess(modelDir: string, env: Readonly<Record<string, string>>): Promise<StreamWorkerProcess> {
  return spawnWorker(['--stream', '--model-dir', modelDir], env, 'the stream worker');
}

/** A temp folder with the example logistic regression and a models.yaml whose model has this `stream:` block. */
export async function makeStreamFleet(stream: Record<string, unknown>): Promise<{ dir: string; file: string; modelDir: string; cleanup(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'modelfleet-stream-fleet-'));
  const modelDir = join(dir, 'examples', 'models', EXAMPLE);
  await cp(join(ROOT, 'examples', 'models', EXAMPLE), modelDir, { recursive: true });
  const file = join(dir, 'models.yaml');
  await writeFile(file, ['defaults:', '  endpoint: probability', 'models:', `  - name: ${MODEL}`, '    parameters: [7, MOTO, baseline]', `    path: examples/models/${EXAMPLE}`, `    stream: ${JSON.stringify(stream)}`, ''].join('\n'));
  return { dir, file, modelDir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}
