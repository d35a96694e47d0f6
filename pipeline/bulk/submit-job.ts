import { basename } from 'node:path';
import type { Redis } from 'ioredis';
import { UserError } from '../../lib/errors/user-error.js';
import { END_JOB, FINISH_QUEUING, QUEUE_CHUNK } from '../../serving/worker/bulk-scripts.js';
import { chunkStreamKey, encodeChunk, jobKey, resultsKey, WORKER_GROUP, type JobState } from '../../serving/worker/bulk-protocol.js';
import type { RecordFormat } from '../../serving/worker/record-splitter.js';
import { readBacklog } from '../../serving/worker/redis-bulk-source.js';
import type { BulkTarget } from './bulk-target.js';
import { newJobId } from './job-id.js';
import { openInput } from './read-input.js';

export interface SubmitOptions {
  readonly target: BulkTarget;
  readonly redis: Redis;
  readonly file: string;
  readonly format: RecordFormat;
  /** Called once the job exists (its id is known), before the first chunk is queued. */
  readonly onJob?: (jobId: string) => void;
  /** Rows queued so far, and whether the submitter is waiting for room (backpressure). */
  readonly onQueued?: (rows: number, waiting: boolean) => void;
  /** Aborting stops the submission; the job is then cancelled. */
  readonly signal?: AbortSignal;
  readonly now?: () => number;
}

export interface Submission {
  readonly jobId: string;
  readonly rows: number;
  readonly chunks: number;
  /** The job's state once the last chunk was queued: queued, done, or cancelled (by `bulk cancel` meanwhile). */
  readonly state: JobState;
}

/** Chunk writes in flight at once: enough to hide round trips, few enough to stop promptly at the limit. */
const MAX_WRITES_IN_FLIGHT = 16;
/** How often the queue length is re-read while the submitter waits for room. */
const BACKPRESSURE_POLL_MS = 100;

/**
 * Submits a file as a bulk job: checks its columns against the signature (nothing is queued when
 * they do not fit), creates the job, and queues the rows in chunks of bulk.chunkRows on the
 * deployable's stream. Backpressure: while bulk.maxQueuedChunks chunks or more wait undelivered,
 * it waits, so Redis holds a bounded number of chunks whatever the file's size. Every write is
 * retried through Redis outages; a chunk queued twice (a write resent after a lost reply) is
 * scored twice but answered once.
 */
export async function submitJob(options: SubmitOptions): Promise<Submission> {
  const { target, redis } = options;
  const now = options.now ?? Date.now;
  const settings = target.settings;
  const input = await openInput(options.file, options.format, settings.chunkRows, target.signature);
  const jobId = newJobId(target.deployName, now());
  const job = jobKey(jobId);
  const stream = chunkStreamKey(target.deployName);
  await redis.hset(job, {
    model: target.deployName,
    state: 'queuing',
    format: input.format,
    header: input.header,
    input: basename(options.file),
    chunkRows: settings.chunkRows,
    ttl: settings.resultTtlSeconds,
    createdAt: now(),
  });
  await redis.expire(job, settings.resultTtlSeconds);
  // The group exists before any worker does, so its lag counts the queue from the first chunk on.
  await redis.xgroup('CREATE', stream, WORKER_GROUP, '0', 'MKSTREAM').catch((err: unknown) => {
    if (!(err instanceof Error) || !err.message.startsWith('BUSYGROUP')) throw err;
  });
  options.onJob?.(jobId);

  let rows = 0;
  let chunks = 0;
  let stoppedBy: string | undefined;
  const inFlight = new Set<Promise<void>>();
  let knownWaiting = 0;
  let sinceCheck = 0;
  try {
    for await (const chunk of input.chunks()) {
      if (options.signal?.aborted) {
        stoppedBy = 'interrupted';
        break;
      }
      if (knownWaiting + sinceCheck >= settings.maxQueuedChunks) {
        // Wait for the writes in flight, so the count read next includes them.
        await Promise.all(inFlight);
        knownWaiting = (await readBacklog(redis, stream)).waiting;
        sinceCheck = 0;
        while (knownWaiting >= settings.maxQueuedChunks && !options.signal?.aborted) {
          options.onQueued?.(rows, true);
          await new Promise((resolve) => setTimeout(resolve, BACKPRESSURE_POLL_MS));
          knownWaiting = (await readBacklog(redis, stream)).waiting;
        }
        if (options.signal?.aborted) {
          stoppedBy = 'interrupted';
          break;
        }
      }
      const index = chunks;
      const write = QUEUE_CHUNK.run(redis, [stream, job], [chunk.rows, settings.resultTtlSeconds, ...encodeChunk({ job: jobId, chunk: index, firstRow: chunk.firstRow, rows: chunk.rows, data: chunk.data })])
        .then((reply) => {
          if (typeof reply === 'string' && !reply.includes('-')) stoppedBy ??= reply;
        });
      const tracked = write.finally(() => inFlight.delete(tracked));
      inFlight.add(tracked);
      chunks += 1;
      rows += chunk.rows;
      sinceCheck += 1;
      options.onQueued?.(rows, false);
      if (inFlight.size >= MAX_WRITES_IN_FLIGHT) await Promise.race(inFlight);
      if (stoppedBy !== undefined) break;
    }
    await Promise.all(inFlight);
  } catch (err) {
    await Promise.allSettled(inFlight);
    await END_JOB.run(redis, [job, resultsKey(jobId)], ['failed', now(), settings.resultTtlSeconds, `the submission stopped: ${(err as Error).message}`]).catch(() => undefined);
    throw err;
  }
  if (stoppedBy === 'interrupted') {
    await END_JOB.run(redis, [job, resultsKey(jobId)], ['cancelled', now(), settings.resultTtlSeconds, 'the submitter was interrupted']);
    return { jobId, rows, chunks, state: 'cancelled' };
  }
  if (stoppedBy !== undefined) {
    if (stoppedBy === 'gone') throw new UserError('BULK_JOB_NOT_FOUND', `job ${jobId} disappeared from Redis while it was being queued (Redis lost its data?)`, 'Submit the file again.');
    return { jobId, rows, chunks, state: stoppedBy as JobState };
  }
  const state = await FINISH_QUEUING.run(redis, [job, resultsKey(jobId)], [chunks, rows, now(), settings.resultTtlSeconds]);
  return { jobId, rows, chunks, state: (typeof state === 'string' ? state : 'failed') as JobState };
}
