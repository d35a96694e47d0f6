import type { Redis } from 'ioredis';
import { openRedis, type RedisSettings } from '../redis-connection.js';
import { readBacklog } from '../redis-bulk-source.js';
import type { Backlog } from '../work-source.js';
import { TRACE_HEADERS } from './stream-work-source.js';
import type { OutgoingRecord, StreamBatch, StreamMessage, StreamTransport } from './stream-transport.js';

export interface RedisStreamOptions {
  readonly redis: RedisSettings;
  readonly input: string;
  readonly output: string;
  readonly deadLetter: string;
  readonly group: string;
  /** This worker's name in the consumer group (unique per process). */
  readonly consumer: string;
  readonly batchSize: number;
  /** An entry unacknowledged this long is presumed abandoned by a dead worker and claimed. */
  readonly claimIdleMs: number;
  readonly onStatus?: (status: 'lost' | 'ready', detail: string) => void;
}

/** Field names of an input entry; an output entry carries them too, with the trace fields. */
export const REDIS_KEY_FIELD = 'key';
export const REDIS_VALUE_FIELD = 'value';

/** A released entry gets this idle time, so the next XAUTOCLAIM of any worker takes it at once. */
const RELEASED_IDLE_MS = 365 * 24 * 3600 * 1000;

type Entry = [string, string[] | null];

/**
 * Redis Streams: entries of the input stream, read in the consumer group (XREADGROUP); each
 * batch's predictions and dead letters are added (XADD) and the batch acknowledged (XACK) in one
 * MULTI/EXEC, so an acknowledged entry always has its output and a worker killed before EXEC
 * leaves the whole batch pending, to be claimed (XAUTOCLAIM) by the next worker. Two connections:
 * XREADGROUP … BLOCK holds its connection while it waits.
 */
export class RedisStreamTransport implements StreamTransport {
  readonly description: string;
  readonly #options: RedisStreamOptions;
  readonly #commands: Redis;
  readonly #blocking: Redis;
  /** Why a batch was released, by its first entry id, for the next attempt's dead letter (this process only). */
  readonly #notes = new Map<string, string>();
  #claimCursor = '0-0';

  constructor(options: RedisStreamOptions) {
    this.#options = options;
    this.description = `redis stream ${options.input} (group ${options.group})`;
    const connection = (role: string) => openRedis(options.redis, { name: `modelfleet-stream-${role}-${options.consumer}`, waitForever: true, ...(options.onStatus ? { onStatus: options.onStatus } : {}) });
    this.#commands = connection('commands');
    this.#blocking = connection('reads');
  }

  get connected(): boolean {
    return this.#commands.status === 'ready' && this.#blocking.status === 'ready';
  }

  async start(): Promise<void> {
    try {
      // From the stream's start: messages sent before the first worker ever ran are scored too.
      await this.#commands.xgroup('CREATE', this.#options.input, this.#options.group, '0', 'MKSTREAM');
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('BUSYGROUP')) throw err;
    }
  }

  async fetch(max: number, waitMs: number): Promise<StreamBatch[]> {
    let reply: unknown;
    try {
      reply = await this.#blocking.xreadgroup('GROUP', this.#options.group, this.#options.consumer, 'COUNT', max * this.#options.batchSize, 'BLOCK', waitMs, 'STREAMS', this.#options.input, '>');
    } catch (err) {
      // Redis came back without the group (it lost its data): create it again and read on.
      if (err instanceof Error && err.message.startsWith('NOGROUP')) {
        await this.start();
        return [];
      }
      throw err;
    }
    const entries = ((reply as Array<[string, Entry[]]> | null)?.[0]?.[1]) ?? [];
    return this.#batches(entries, () => 1);
  }

  async recover(max: number): Promise<StreamBatch[]> {
    const reply = (await this.#commands.xautoclaim(this.#options.input, this.#options.group, this.#options.consumer, this.#options.claimIdleMs, this.#claimCursor, 'COUNT', max * this.#options.batchSize)) as [string, Entry[], string[]?];
    this.#claimCursor = reply[0] ?? '0-0';
    // Entries deleted from the stream while pending come back as null bodies; there is nothing to score.
    const entries = (reply[1] ?? []).filter((entry): entry is [string, string[]] => entry[1] !== null);
    if (entries.length === 0) return [];
    const first = entries[0]?.[0] as string;
    const last = entries[entries.length - 1]?.[0] as string;
    // XAUTOCLAIM does not say how often an entry was delivered; XPENDING does (the claim counted one more).
    const pending = (await this.#commands.xpending(this.#options.input, this.#options.group, first, last, entries.length * 2 + 10, this.#options.consumer)) as Array<[string, string, number, number]>;
    const counts = new Map(pending.map(([id, , , count]) => [id, Number(count)]));
    return this.#batches(entries, (id) => counts.get(id) ?? 2);
  }

  async publishAndCommit(batch: StreamBatch, outputs: readonly OutgoingRecord[], deadLetters: readonly OutgoingRecord[]): Promise<void> {
    const transaction = this.#commands.multi();
    for (const record of outputs) transaction.xadd(this.#options.output, '*', ...this.#fields(batch, record));
    for (const record of deadLetters) transaction.xadd(this.#options.deadLetter, '*', ...this.#fields(batch, record));
    transaction.xack(this.#options.input, this.#options.group, ...batch.messages.map((m) => m.position));
    const results = await transaction.exec();
    const failure = results?.find(([err]) => err !== null)?.[0];
    if (results === null || failure) throw new Error(`Redis refused the batch's writes: ${failure?.message ?? 'the transaction was aborted'}`);
    this.#notes.delete(batch.messages[0]?.position ?? '');
  }

  async release(batch: StreamBatch, reason: string): Promise<void> {
    this.#notes.set(batch.messages[0]?.position ?? '', reason.slice(0, 2_000));
    // JUSTID: the delivery count stays; IDLE: the entries look abandoned, so the next claim takes them.
    await this.#commands.xclaim(this.#options.input, this.#options.group, this.#options.consumer, 0, ...batch.messages.map((m) => m.position), 'IDLE', RELEASED_IDLE_MS, 'JUSTID');
  }

  async backlog(): Promise<Backlog> {
    return readBacklog(this.#commands, this.#options.input, this.#options.group);
  }

  interruptReads(): void {
    this.#blocking.disconnect();
  }

  async close(): Promise<void> {
    this.#blocking.disconnect();
    await this.#commands.quit().catch(() => this.#commands.disconnect());
  }

  #batches(entries: ReadonlyArray<[string, string[] | null]>, deliveries: (id: string) => number): StreamBatch[] {
    const batches: StreamBatch[] = [];
    for (let i = 0; i < entries.length; i += this.#options.batchSize) {
      const slice = entries.slice(i, i + this.#options.batchSize);
      const messages = slice.map(([id, fields]) => toMessage(id, fields ?? []));
      const first = messages[0]?.position ?? '';
      batches.push({
        id: `${first}..${messages[messages.length - 1]?.position ?? ''}`,
        messages,
        deliveries: Math.max(...slice.map(([id]) => deliveries(id))),
        lastFailure: this.#notes.get(first),
      });
    }
    return batches;
  }

  #fields(batch: StreamBatch, record: OutgoingRecord): string[] {
    const input = batch.messages[record.index];
    const fields = input?.key === null || input?.key === undefined ? [] : [REDIS_KEY_FIELD, input.key];
    fields.push(REDIS_VALUE_FIELD, record.value, TRACE_HEADERS.input, input?.position ?? '');
    for (const [name, value] of Object.entries(record.headers)) fields.push(name, value);
    return fields;
  }
}

function toMessage(id: string, fields: readonly string[]): StreamMessage {
  let key: string | null = null;
  let value: string | null = null;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (fields[i] === REDIS_KEY_FIELD) key = fields[i + 1] ?? null;
    else if (fields[i] === REDIS_VALUE_FIELD) value = fields[i + 1] ?? null;
  }
  return { key, value, position: id };
}
