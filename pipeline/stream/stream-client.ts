import { randomBytes } from 'node:crypto';
import { Partitioners } from 'kafkajs';
import { pino } from 'pino';
import { openRedis, type RedisSettings } from '../../serving/worker/redis-connection.js';
import { openKafka, type KafkaSettings } from '../../serving/worker/stream/kafka-connection.js';
import { REDIS_KEY_FIELD, REDIS_VALUE_FIELD } from '../../serving/worker/stream/redis-stream-transport.js';

/** One message as `stream send` writes it and `stream tail` reads it: headers are the Redis entry's other fields. */
export interface ClientRecord {
  readonly key: string | null;
  readonly value: string | null;
  readonly headers: Readonly<Record<string, string>>;
}

export type ClientConnection = { readonly transport: 'redis'; readonly redis: RedisSettings } | { readonly transport: 'kafka'; readonly kafka: KafkaSettings };

/**
 * What a person (or a test) needs to try a streaming model: send messages to its input topic, and
 * read its output or dead-letter topic. The worker's own transports are for consuming in a group
 * and committing; this is a plain producer and a reader that commits nothing.
 */
export interface StreamClient {
  send(topic: string, records: readonly ClientRecord[]): Promise<void>;
  /**
   * Calls `onRecord` for each record of the topic, from its start (`fromStart`) or from now, until
   * `signal` aborts.
   */
  read(topic: string, options: { readonly fromStart: boolean; readonly signal: AbortSignal; readonly onRecord: (record: ClientRecord) => void }): Promise<void>;
  close(): Promise<void>;
}

export async function openStreamClient(connection: ClientConnection): Promise<StreamClient> {
  return connection.transport === 'kafka' ? kafkaClient(connection.kafka) : redisClient(connection.redis);
}

function redisClient(settings: RedisSettings): StreamClient {
  const redis = openRedis(settings, { name: 'modelfleet-stream-client', waitForever: false });
  return {
    async send(topic, records) {
      const pipeline = redis.pipeline();
      for (const r of records) pipeline.xadd(topic, '*', ...(r.key === null ? [] : [REDIS_KEY_FIELD, r.key]), ...(r.value === null ? [] : [REDIS_VALUE_FIELD, r.value]), ...Object.entries(r.headers).flat());
      const results = await pipeline.exec();
      const failure = results?.find(([err]) => err !== null)?.[0];
      if (failure) throw failure;
    },
    async read(topic, { fromStart, signal, onRecord }) {
      // XREAD … BLOCK holds its connection: a connection of its own, cut when the signal aborts.
      const reader = redis.duplicate();
      reader.on('error', () => undefined);
      const stop = () => reader.disconnect();
      signal.addEventListener('abort', stop, { once: true });
      let from = fromStart ? '0-0' : '$';
      try {
        while (!signal.aborted) {
          const reply = (await reader.xread('COUNT', 1_000, 'BLOCK', 1_000, 'STREAMS', topic, from).catch((err: unknown) => {
            if (signal.aborted) return null;
            throw err;
          })) as Array<[string, Array<[string, string[]]>]> | null;
          for (const [id, fields] of reply?.[0]?.[1] ?? []) {
            onRecord(fromFields(fields));
            from = id;
          }
        }
      } finally {
        signal.removeEventListener('abort', stop);
        reader.disconnect();
      }
    },
    async close() {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}

function fromFields(fields: readonly string[]): ClientRecord {
  let key: string | null = null;
  let value: string | null = null;
  const headers: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const [name, text] = [fields[i] as string, fields[i + 1] as string];
    if (name === REDIS_KEY_FIELD) key = text;
    else if (name === REDIS_VALUE_FIELD) value = text;
    else headers[name] = text;
  }
  return { key, value, headers };
}

async function kafkaClient(settings: KafkaSettings): Promise<StreamClient> {
  // kafkajs' own warnings go to stderr: stdout is for the records `stream tail` prints.
  const kafka = openKafka(settings, 'modelfleet-stream-client', pino({ level: 'warn' }, pino.destination(2)));
  const producer = kafka.producer({ allowAutoTopicCreation: true, createPartitioner: Partitioners.DefaultPartitioner });
  let connected: Promise<void> | undefined;
  return {
    async send(topic, records) {
      connected ??= producer.connect();
      await connected;
      await producer.send({ topic, acks: -1, messages: records.map((r) => ({ key: r.key, value: r.value, headers: { ...r.headers } })) });
    },
    async read(topic, { fromStart, signal, onRecord }) {
      // A group of its own that commits nothing: reading never moves the worker's offsets.
      const consumer = kafka.consumer({ groupId: `modelfleet-tail-${randomBytes(6).toString('hex')}`, sessionTimeout: settings.sessionTimeoutMs, maxWaitTimeInMs: 500 });
      await consumer.connect();
      try {
        await consumer.subscribe({ topics: [topic], fromBeginning: fromStart });
        await consumer.run({
          autoCommit: false,
          eachBatch: ({ batch }) => {
            for (const m of batch.messages) {
              const headers: Record<string, string> = {};
              for (const [name, value] of Object.entries(m.headers ?? {})) if (value !== undefined) headers[name] = String(value);
              onRecord({ key: m.key ? m.key.toString('utf8') : null, value: m.value ? m.value.toString('utf8') : null, headers });
            }
            return Promise.resolve();
          },
        });
        if (!signal.aborted) await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
      } finally {
        await consumer.disconnect();
      }
    },
    async close() {
      if (connected) await producer.disconnect();
    },
  };
}
