import { Partitioners, type Admin, type Consumer, type EachBatchPayload, type KafkaMessage, type Message, type Producer } from 'kafkajs';
import type { Logger } from '../../../lib/log.js';
import type { Backlog } from '../work-source.js';
import { openKafka, type KafkaSettings } from './kafka-connection.js';
import { TRACE_HEADERS } from './stream-work-source.js';
import type { OutgoingRecord, StreamBatch, StreamTransport } from './stream-transport.js';

export interface KafkaStreamOptions {
  readonly kafka: KafkaSettings;
  readonly input: string;
  readonly output: string;
  readonly deadLetter: string;
  readonly group: string;
  /** This worker's client id (unique per process). */
  readonly consumer: string;
  readonly batchSize: number;
  /** Partitions whose batches are scored at once. */
  readonly partitionsAtOnce: number;
  /** Longest a fetch waits for new messages (a broker answers sooner as soon as there are some). */
  readonly fetchWaitMs: number;
}

/** How a batch ended for the partition loop that handed it out. */
type Settled = 'published' | 'released' | 'dropped';

interface KafkaBatch extends StreamBatch {
  readonly partition: number;
  readonly firstOffset: string;
  readonly lastOffset: string;
  /** The input keys as sent (bytes), given back unchanged on every output. */
  readonly keys: ReadonlyArray<Buffer | null>;
  /** Resolved once the records are acknowledged (or the batch released / dropped). */
  readonly settled: Promise<Settled>;
  /** How `settled` resolved, once it has. */
  readonly outcome: Settled | undefined;
  settle(how: Settled): void;
  /** Resolved by the partition loop once the offset after the batch is committed (false: it was not). */
  readonly committed: Promise<boolean>;
  markCommitted(done: boolean): void;
  /** The batch before it from the same partition: outputs keep the partition's order. */
  readonly previous: Promise<unknown>;
  /** A batch before it failed: this one will be delivered again, so publishing it now is only a duplicate. */
  abandoned: boolean;
}

/** Nothing should wait for ever on a stopped consumer; a disconnect that hangs is cut after this. */
const DISCONNECT_TIMEOUT_MS = 15_000;

/**
 * Kafka through kafkajs: the input topic read in the consumer group, with auto-commit off. Each
 * fetched partition batch is cut into scoring batches that the queue worker takes; the partition
 * loop waits for them in offset order and commits the offset after each batch only once its
 * predictions and dead letters were acknowledged by all in-sync replicas (acks = -1). A worker
 * killed in between leaves the offset behind, and the batch is delivered again (at-least-once;
 * duplicates are bounded by the batches in hand). Outputs are produced in the partition's order,
 * keyed like the input, so a key's predictions stay in order.
 */
export class KafkaTransport implements StreamTransport<KafkaBatch> {
  readonly description: string;
  readonly #options: KafkaStreamOptions;
  readonly #log: Logger;
  readonly #consumer: Consumer;
  readonly #producer: Producer;
  readonly #admin: Admin;
  readonly #ready: KafkaBatch[] = [];
  /** Failed attempts by `partition:firstOffset`, and the last reason, for the delivery count. */
  readonly #failures = new Map<string, { count: number; reason: string }>();
  readonly #lastOfPartition = new Map<number, Promise<unknown>>();
  #wake: (() => void) | undefined;
  #connected = false;
  #adminConnected: Promise<void> | undefined;
  #closing = false;
  #fatal: string | undefined;

  constructor(options: KafkaStreamOptions, log: Logger) {
    this.#options = options;
    this.#log = log;
    this.description = `kafka topic ${options.input} (group ${options.group})`;
    const kafka = openKafka(options.kafka, `modelfleet-stream-${options.consumer}`, log);
    const sessionTimeout = options.kafka.sessionTimeoutMs;
    this.#consumer = kafka.consumer({
      groupId: options.group,
      sessionTimeout,
      heartbeatInterval: Math.max(100, Math.min(3_000, Math.floor(sessionTimeout / 3))),
      rebalanceTimeout: Math.max(sessionTimeout, 10_000),
      allowAutoTopicCreation: false,
      maxWaitTimeInMs: options.fetchWaitMs,
    });
    // The Java client's partitioner (murmur2 of the key): a key's predictions land where other clients would put that key.
    this.#producer = kafka.producer({ allowAutoTopicCreation: true, idempotent: false, createPartitioner: Partitioners.DefaultPartitioner });
    this.#admin = kafka.admin();
    this.#consumer.on(this.#consumer.events.CONNECT, () => { this.#connected = true; });
    this.#consumer.on(this.#consumer.events.DISCONNECT, () => { this.#connected = false; });
    this.#consumer.on(this.#consumer.events.CRASH, (event) => {
      this.#connected = false;
      if (event.payload.restart) {
        this.#log.warn({ err: event.payload.error.message }, 'the Kafka consumer crashed; kafkajs restarts it');
        return;
      }
      // kafkajs gave up (an error it does not retry): /healthz fails so that the pod is restarted.
      this.#fatal = `the Kafka consumer stopped: ${event.payload.error.message}`;
      this.#log.error({ err: event.payload.error.message }, 'the Kafka consumer stopped for good; /healthz now fails');
    });
  }

  get connected(): boolean {
    return this.#connected;
  }

  get fatal(): string | undefined {
    return this.#fatal;
  }

  async start(): Promise<void> {
    await this.#producer.connect();
    await this.#consumer.connect();
    this.#connected = true;
    // From the topic's start when the group has no offsets yet: messages sent before the first worker ran are scored too.
    await this.#consumer.subscribe({ topics: [this.#options.input], fromBeginning: true });
    await this.#consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.#options.partitionsAtOnce,
      eachBatch: (payload) => this.#eachBatch(payload),
    });
  }

  async fetch(max: number, waitMs: number): Promise<KafkaBatch[]> {
    if (this.#ready.length === 0 && !this.#closing) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, waitMs);
        this.#wake = () => { clearTimeout(timer); resolve(); };
      });
      this.#wake = undefined;
    }
    return this.#ready.splice(0, max);
  }

  /** A dead member's partitions are reassigned by the group's rebalance; there is nothing to claim. */
  recover(): Promise<KafkaBatch[]> {
    return Promise.resolve([]);
  }

  async publishAndCommit(batch: KafkaBatch, outputs: readonly OutgoingRecord[], deadLetters: readonly OutgoingRecord[]): Promise<void> {
    await batch.previous;
    if (batch.abandoned || this.#closing) {
      batch.settle('dropped');
      await batch.committed;
      return;
    }
    const topicMessages = [
      { topic: this.#options.output, messages: outputs.map((record) => this.#message(batch, record)) },
      { topic: this.#options.deadLetter, messages: deadLetters.map((record) => this.#message(batch, record)) },
    ].filter((t) => t.messages.length > 0);
    try {
      if (topicMessages.length > 0) await this.#producer.sendBatch({ topicMessages, acks: -1 });
    } catch (err) {
      batch.settle('released');
      throw err;
    }
    batch.settle('published');
    if (!(await batch.committed)) {
      this.#log.info({ batch: batch.id }, 'the batch was published but its offset not committed (the partition moved, or a batch before it failed); it will be delivered again');
      return;
    }
    this.#failures.delete(`${batch.partition}:${batch.firstOffset}`);
  }

  release(batch: KafkaBatch, reason: string): Promise<void> {
    const key = `${batch.partition}:${batch.firstOffset}`;
    this.#failures.set(key, { count: (this.#failures.get(key)?.count ?? 0) + 1, reason });
    batch.settle('released');
    return Promise.resolve();
  }

  async backlog(): Promise<Backlog> {
    this.#adminConnected ??= this.#admin.connect().catch((err: unknown) => {
      this.#adminConnected = undefined;
      throw err;
    });
    await this.#adminConnected;
    const [ends, committed] = await Promise.all([
      this.#admin.fetchTopicOffsets(this.#options.input),
      this.#admin.fetchOffsets({ groupId: this.#options.group, topics: [this.#options.input] }),
    ]);
    const done = new Map((committed[0]?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]));
    let waiting = 0n;
    for (const end of ends) {
      const commit = done.get(end.partition) ?? -1n;
      const from = commit >= 0n ? commit : BigInt(end.low);
      if (BigInt(end.high) > from) waiting += BigInt(end.high) - from;
    }
    const inProgress = this.#ready.reduce((n, b) => n + b.messages.length, 0);
    return { waiting: Number(waiting), inProgress };
  }

  interruptReads(): void {
    this.#wake?.();
  }

  async close(): Promise<void> {
    this.#closing = true;
    // Batches fetched from Kafka and never scored stay uncommitted: the group hands them out again.
    for (const batch of this.#ready.splice(0)) batch.settle('dropped');
    this.#wake?.();
    await withTimeout(this.#consumer.disconnect(), DISCONNECT_TIMEOUT_MS, () => this.#log.warn('the Kafka consumer did not leave its group in time'));
    await withTimeout(this.#producer.disconnect(), DISCONNECT_TIMEOUT_MS, () => undefined);
    if (this.#adminConnected) await withTimeout(this.#admin.disconnect(), DISCONNECT_TIMEOUT_MS, () => undefined);
  }

  async #eachBatch({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    const batches: KafkaBatch[] = [];
    for (let i = 0; i < batch.messages.length; i += this.#options.batchSize) {
      batches.push(this.#batch(batch.topic, batch.partition, batch.messages.slice(i, i + this.#options.batchSize)));
    }
    if (this.#closing) {
      for (const b of batches) b.settle('dropped');
      return;
    }
    this.#ready.push(...batches);
    this.#wake?.();
    let k = 0;
    while (k < batches.length) {
      const how = await (batches[k] as KafkaBatch).settled;
      if (how !== 'published' || !isRunning() || isStale()) break;
      // Batches after it that are acknowledged already go in the same commit: one round trip, not one each.
      let last = k;
      while (batches[last + 1]?.outcome === 'published') last++;
      const covered = batches.slice(k, last + 1);
      const lastOffset = (batches[last] as KafkaBatch).lastOffset;
      try {
        await this.#consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: (BigInt(lastOffset) + 1n).toString() }]);
      } catch (err) {
        this.#log.warn({ err: (err as Error).message, batch: covered[0]?.id }, 'committing an offset failed; the batch will be delivered again');
        break;
      }
      resolveOffset(lastOffset);
      for (const done of covered) done.markCommitted(true);
      k = last + 1;
      await heartbeat().catch(() => undefined);
    }
    if (k === batches.length) return;
    // The rest is delivered again from the first uncommitted offset: drop what nobody took, abandon the rest.
    const first = batches[k] as KafkaBatch;
    for (const rest of batches.slice(k)) {
      rest.abandoned = true;
      const queued = this.#ready.indexOf(rest);
      if (queued >= 0) {
        this.#ready.splice(queued, 1);
        rest.settle('dropped');
      }
      rest.markCommitted(false);
    }
    if (isRunning() && !isStale() && !this.#closing) this.#consumer.seek({ topic: batch.topic, partition: batch.partition, offset: first.firstOffset });
  }

  #batch(topic: string, partition: number, messages: readonly KafkaMessage[]): KafkaBatch {
    const firstOffset = messages[0]?.offset ?? '0';
    const lastOffset = messages[messages.length - 1]?.offset ?? firstOffset;
    const failure = this.#failures.get(`${partition}:${firstOffset}`);
    let resolveSettled: (how: Settled) => void = () => {};
    let markCommitted: (done: boolean) => void = () => {};
    const settled = new Promise<Settled>((resolve) => { resolveSettled = resolve; });
    const committed = new Promise<boolean>((resolve) => { markCommitted = resolve; });
    const previous = this.#lastOfPartition.get(partition) ?? Promise.resolve();
    this.#lastOfPartition.set(partition, settled);
    const kafkaBatch: KafkaBatch = {
      id: `${topic}/${partition}@${firstOffset}..${lastOffset}`,
      messages: messages.map((m) => ({ key: m.key ? m.key.toString('utf8') : null, value: m.value ? m.value.toString('utf8') : null, position: `${topic}/${partition}/${m.offset}` })),
      deliveries: 1 + (failure?.count ?? 0),
      lastFailure: failure?.reason,
      partition,
      firstOffset,
      lastOffset,
      keys: messages.map((m) => m.key),
      settled,
      outcome: undefined,
      settle(how) {
        if (kafkaBatch.outcome !== undefined) return;
        (kafkaBatch as { outcome: Settled | undefined }).outcome = how;
        resolveSettled(how);
      },
      committed,
      markCommitted,
      previous,
      abandoned: false,
    };
    return kafkaBatch;
  }

  #message(batch: KafkaBatch, record: OutgoingRecord): Message {
    return {
      key: batch.keys[record.index] ?? null,
      value: record.value,
      headers: { ...record.headers, [TRACE_HEADERS.input]: batch.messages[record.index]?.position ?? '' },
    };
  }
}

async function withTimeout(work: Promise<unknown>, ms: number, onTimeout: () => void): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => { timer = setTimeout(() => resolve('timeout'), ms); });
  const how = await Promise.race([work.then(() => 'done' as const, () => 'done' as const), timeout]);
  clearTimeout(timer);
  if (how === 'timeout') onTimeout();
}
