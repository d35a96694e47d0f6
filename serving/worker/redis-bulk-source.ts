import type { Redis } from 'ioredis';
import { COMPLETE_CHUNK, TRIM_ACKNOWLEDGED } from './bulk-scripts.js';
import {
  chunkStreamKey,
  deadLetterKey,
  decodeChunk,
  encodeChunkResult,
  failureNotesKey,
  jobKey,
  resultsKey,
  WORKER_GROUP,
  type ChunkMessage,
} from './bulk-protocol.js';
import type { ChunkOutcome } from './chunk-scorer.js';
import { openRedis, type RedisSettings } from './redis-connection.js';
import type { Backlog, Delivery, WorkInput, WorkSource } from './work-source.js';

export interface ChunkDelivery extends Delivery {
  /** The chunk, or undefined when the entry is not a readable chunk (`problem` says why). */
  readonly message: ChunkMessage | undefined;
  readonly problem: string | undefined;
}

export interface RedisBulkSourceOptions {
  readonly redis: RedisSettings;
  readonly deployName: string;
  /** This worker's name in the consumer group (unique per process). */
  readonly consumer: string;
  /** An entry unacknowledged for this long is presumed abandoned and claimed (XAUTOCLAIM). */
  readonly claimIdleMs: number;
  readonly onStatus?: (status: 'lost' | 'ready', detail: string) => void;
  readonly now?: () => number;
}

/** How long a job's settings and state are trusted before they are read again (a cancel shows up within this). */
const JOB_CACHE_MS = 1_000;
/** Dead-letter streams keep about this many entries. */
const DEAD_LETTER_MAX = 10_000;
/** Failure notes outlive any retry schedule; they go with the entry's acknowledgement. */
const FAILURE_NOTE_TTL_SECONDS = 7 * 24 * 3600;
/** A released entry gets this idle time, so the next XAUTOCLAIM of any worker takes it at once. */
const RELEASED_IDLE_MS = 365 * 24 * 3600 * 1000;
/** Consumers of the group that hold nothing and were idle this long are removed (dead workers' names). */
const STALE_CONSUMER_MS = 3600 * 1000;

interface JobSettings {
  readonly state: string | undefined;
  readonly format: 'csv' | 'jsonl';
  readonly header: string;
  readonly ttlSeconds: number;
  readonly at: number;
}

/**
 * The bulk transport: chunks from the deployable's Redis stream, read in the consumer group
 * `workers`; answers into the job's results hash; acknowledgement in the same Lua script as the
 * write. Two connections: XREADGROUP … BLOCK holds its connection while it waits, so writes use
 * the other one.
 */
export class RedisBulkSource implements WorkSource<ChunkDelivery> {
  readonly description: string;
  readonly #options: RedisBulkSourceOptions;
  readonly #stream: string;
  readonly #commands: Redis;
  readonly #blocking: Redis;
  readonly #jobs = new Map<string, JobSettings>();
  readonly #now: () => number;
  #claimCursor = '0-0';

  constructor(options: RedisBulkSourceOptions) {
    this.#options = options;
    this.#stream = chunkStreamKey(options.deployName);
    this.description = this.#stream;
    this.#now = options.now ?? Date.now;
    const connection = (role: string) => openRedis(options.redis, { name: `modelfleet-worker-${role}-${options.consumer}`, waitForever: true, ...(options.onStatus ? { onStatus: options.onStatus } : {}) });
    this.#commands = connection('commands');
    this.#blocking = connection('reads');
  }

  get connected(): boolean {
    return this.#commands.status === 'ready' && this.#blocking.status === 'ready';
  }

  async start(): Promise<void> {
    try {
      await this.#commands.xgroup('CREATE', this.#stream, WORKER_GROUP, '0', 'MKSTREAM');
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('BUSYGROUP')) throw err;
    }
    await this.#removeStaleConsumers();
  }

  async fetch(max: number, waitMs: number): Promise<ChunkDelivery[]> {
    let reply: unknown;
    try {
      reply = await this.#blocking.xreadgroup('GROUP', WORKER_GROUP, this.#options.consumer, 'COUNT', max, 'BLOCK', waitMs, 'STREAMS', this.#stream, '>');
    } catch (err) {
      // Redis came back without the group (it lost its data): create it again and read on.
      if (err instanceof Error && err.message.startsWith('NOGROUP')) {
        await this.start();
        return [];
      }
      throw err;
    }
    const entries = ((reply as Array<[string, Array<[string, string[] | null]>]> | null)?.[0]?.[1]) ?? [];
    return entries.map(([id, fields]) => toDelivery(id, fields, 1, undefined));
  }

  async recover(max: number): Promise<ChunkDelivery[]> {
    const reply = (await this.#commands.xautoclaim(this.#stream, WORKER_GROUP, this.#options.consumer, this.#options.claimIdleMs, this.#claimCursor, 'COUNT', max)) as [string, Array<[string, string[] | null]>, string[]?];
    this.#claimCursor = reply[0] ?? '0-0';
    const entries = reply[1] ?? [];
    if (entries.length === 0) return [];
    const ids = entries.map(([id]) => id);
    // XAUTOCLAIM does not say how often an entry was delivered; XPENDING does (the claim counted one more).
    const pending = (await this.#commands.xpending(this.#stream, WORKER_GROUP, ids[0] as string, ids[ids.length - 1] as string, ids.length * 2 + 10, this.#options.consumer)) as Array<[string, string, number, number]>;
    const deliveries = new Map(pending.map(([id, , , count]) => [id, Number(count)]));
    const notes = await this.#commands.hmget(failureNotesKey(this.#options.deployName), ...ids);
    return entries.map(([id, fields], i) => toDelivery(id, fields, deliveries.get(id) ?? 2, notes[i] ?? undefined));
  }

  async input(delivery: ChunkDelivery): Promise<WorkInput> {
    const message = delivery.message;
    if (!message) return { kind: 'skip', reason: delivery.problem ?? 'not a chunk' };
    const job = await this.#job(message.job);
    if (job.state === undefined) return { kind: 'skip', reason: `job ${message.job} no longer exists (its results expired, or it was never created)` };
    if (job.state === 'cancelled' || job.state === 'failed') return { kind: 'skip', reason: `job ${message.job} is ${job.state}` };
    return { kind: 'score', input: { format: job.format, header: job.header, text: message.data, rows: message.rows } };
  }

  async complete(delivery: ChunkDelivery, outcome: ChunkOutcome): Promise<void> {
    const message = delivery.message;
    if (!message) return this.skip(delivery, delivery.problem ?? 'not a chunk');
    const job = await this.#job(message.job);
    const payload = encodeChunkResult({ predictions: outcome.predictions, errors: outcome.errors });
    await COMPLETE_CHUNK.run(this.#commands, [this.#stream, jobKey(message.job), resultsKey(message.job)],
      [WORKER_GROUP, delivery.id, message.chunk, payload, outcome.ok, outcome.failed, Math.max(1, job.ttlSeconds), this.#now()]);
    if (delivery.lastFailure !== undefined) await this.#commands.hdel(failureNotesKey(this.#options.deployName), delivery.id);
  }

  async skip(delivery: ChunkDelivery, _reason?: string): Promise<void> {
    await this.#commands.xack(this.#stream, WORKER_GROUP, delivery.id);
    if (delivery.lastFailure !== undefined) await this.#commands.hdel(failureNotesKey(this.#options.deployName), delivery.id);
  }

  async release(delivery: ChunkDelivery, reason: string): Promise<void> {
    const notes = failureNotesKey(this.#options.deployName);
    await this.#commands.hset(notes, delivery.id, reason.slice(0, 2_000));
    await this.#commands.expire(notes, FAILURE_NOTE_TTL_SECONDS);
    // JUSTID: the delivery count stays; IDLE: the entry looks abandoned, so the next claim takes it.
    await this.#commands.xclaim(this.#stream, WORKER_GROUP, this.#options.consumer, 0, delivery.id, 'IDLE', RELEASED_IDLE_MS, 'JUSTID');
  }

  async deadLetter(delivery: ChunkDelivery, reason: string): Promise<void> {
    const message = delivery.message;
    await this.#commands.xadd(deadLetterKey(this.#options.deployName), 'MAXLEN', '~', DEAD_LETTER_MAX, '*',
      'id', delivery.id, 'reason', reason, 'deliveries', String(delivery.deliveries),
      ...(message ? ['j', message.job, 'c', String(message.chunk), 'r', String(message.firstRow), 'n', String(message.rows), 'd', message.data] : []));
    if (!message) return this.skip(delivery);
    const error = `dead_letter: the chunk was given up after ${delivery.deliveries} deliveries: ${reason}`;
    const outcome: ChunkOutcome = {
      rows: message.rows,
      ok: 0,
      failed: message.rows,
      predictions: new Array<unknown>(message.rows).fill(null),
      errors: Array.from({ length: message.rows }, (_, i) => [i, error] as const),
    };
    await this.complete(delivery, outcome);
  }

  async maintain(): Promise<void> {
    await TRIM_ACKNOWLEDGED.run(this.#commands, [this.#stream], [WORKER_GROUP]);
  }

  async backlog(): Promise<Backlog> {
    return readBacklog(this.#commands, this.#stream);
  }

  /**
   * Ends a read that is still waiting (Redis unreachable during a stop). Entries Redis delivered
   * to that read stay pending to this worker and are claimed by another after the claim idle time.
   */
  interruptReads(): void {
    this.#blocking.disconnect();
  }

  async close(): Promise<void> {
    this.#blocking.disconnect();
    await this.#commands.quit().catch(() => this.#commands.disconnect());
  }

  async #job(id: string): Promise<JobSettings> {
    const cached = this.#jobs.get(id);
    const now = this.#now();
    if (cached && now - cached.at < JOB_CACHE_MS) return cached;
    const [state, format, header, ttl] = await this.#commands.hmget(jobKey(id), 'state', 'format', 'header', 'ttl');
    const settings: JobSettings = { state: state ?? undefined, format: format === 'jsonl' ? 'jsonl' : 'csv', header: header ?? '', ttlSeconds: Number(ttl ?? 0) || 86_400, at: now };
    if (this.#jobs.size > 1_000) this.#jobs.clear();
    this.#jobs.set(id, settings);
    return settings;
  }

  async #removeStaleConsumers(): Promise<void> {
    const consumers = (await this.#commands.xinfo('CONSUMERS', this.#stream, WORKER_GROUP)) as unknown[][];
    for (const fields of consumers) {
      const info = pairs(fields);
      if (Number(info.pending) === 0 && Number(info.idle) > STALE_CONSUMER_MS && info.name !== this.#options.consumer) {
        await this.#commands.xgroup('DELCONSUMER', this.#stream, WORKER_GROUP, String(info.name));
      }
    }
  }
}

/** The consumer group's lag (entries not yet delivered) and pending entries (delivered, unacknowledged). */
export async function readBacklog(redis: Redis, stream: string, groupName: string = WORKER_GROUP): Promise<Backlog> {
  let groups: unknown[][];
  try {
    groups = (await redis.xinfo('GROUPS', stream)) as unknown[][];
  } catch (err) {
    if (err instanceof Error && /no such key/i.test(err.message)) return { waiting: 0, inProgress: 0 };
    throw err;
  }
  const group = groups.map(pairs).find((g) => g.name === groupName);
  if (!group) {
    // No worker ever started: everything on the stream waits.
    return { waiting: Number(await redis.xlen(stream)), inProgress: 0 };
  }
  const inProgress = Number(group.pending ?? 0);
  // Redis cannot tell the lag after some deletions (XDEL); the stream's length less what is in progress bounds it.
  const lag = group.lag === null || group.lag === undefined ? Math.max(0, Number(await redis.xlen(stream)) - inProgress) : Number(group.lag);
  return { waiting: lag, inProgress };
}

function pairs(fields: readonly unknown[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) out[String(fields[i])] = fields[i + 1];
  return out;
}

function toDelivery(id: string, fields: string[] | null, deliveries: number, lastFailure: string | undefined): ChunkDelivery {
  const decoded = decodeChunk(fields);
  return 'problem' in decoded
    ? { id, deliveries, lastFailure, message: undefined, problem: decoded.problem }
    : { id, deliveries, lastFailure, message: decoded, problem: undefined };
}
