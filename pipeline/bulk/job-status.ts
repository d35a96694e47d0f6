import type { Redis } from 'ioredis';
import { UserError } from '../../lib/errors/user-error.js';
import { jobKey, parseJobRecord, type JobRecord } from '../../serving/worker/bulk-protocol.js';

/** The job hash, or BULK_JOB_NOT_FOUND when it never existed or expired. */
export async function readJob(redis: Redis, jobId: string): Promise<JobRecord> {
  const job = parseJobRecord(jobId, await redis.hgetall(jobKey(jobId)));
  if (!job) {
    throw new UserError('BULK_JOB_NOT_FOUND', `no bulk job ${jobId} in Redis: it never existed here, or its results expired (bulk.resultTtl)`,
      'Check the id `bulk submit` printed and the Redis you asked (--redis, REDIS_URL); an expired job must be submitted again.');
  }
  return job;
}

/** Where a job stands, computed from its record. Pure. */
export interface JobProgress {
  readonly done: number;
  /** Rows of the job: the final count once queued, the rows queued so far before. */
  readonly total: number;
  readonly totalKnown: boolean;
  /** Rows queued and not yet answered. */
  readonly queued: number;
  /** Rows answered per second since the first answer; undefined before it. */
  readonly rowsPerSecond: number | undefined;
  /** Seconds until done at that rate; undefined while unknown. */
  readonly etaSeconds: number | undefined;
  readonly elapsedSeconds: number;
}

export function jobProgress(job: JobRecord, now: number): JobProgress {
  const done = job.rowsOk + job.rowsFailed;
  const total = job.rowsTotal ?? job.rowsQueued;
  const end = job.finishedAt ?? now;
  const since = job.startedAt ?? job.createdAt;
  const seconds = Math.max(0.001, (end - since) / 1000);
  const rowsPerSecond = job.startedAt !== undefined && done > 0 ? done / seconds : undefined;
  const totalKnown = job.rowsTotal !== undefined;
  const etaSeconds = job.state === 'done' ? 0 : totalKnown && rowsPerSecond ? Math.max(0, (total - done) / rowsPerSecond) : undefined;
  return { done, total, totalKnown, queued: Math.max(0, job.rowsQueued - done), rowsPerSecond, etaSeconds, elapsedSeconds: Math.max(0, (end - job.createdAt) / 1000) };
}

/** `bulk status` as lines a person reads. Pure. */
export function formatJobStatus(job: JobRecord, now: number): string[] {
  const p = jobProgress(job, now);
  const percent = p.total > 0 ? ` (${((100 * p.done) / p.total).toFixed(1)}%)` : '';
  const lines = [
    `job ${job.id}: ${job.state}${job.state === 'queuing' ? ' (the submitter is still queuing rows)' : ''}`,
    `  model     ${job.model}`,
    `  input     ${job.input} (${job.format}, chunks of ${job.chunkRows} rows)`,
    `  rows      ${p.done.toLocaleString('en-US')} of ${p.total.toLocaleString('en-US')}${p.totalKnown ? '' : '+'} answered${percent}: ${job.rowsOk.toLocaleString('en-US')} ok, ${job.rowsFailed.toLocaleString('en-US')} failed; ${p.queued.toLocaleString('en-US')} queued`,
    `  rate      ${p.rowsPerSecond === undefined ? '—' : `${Math.round(p.rowsPerSecond).toLocaleString('en-US')} rows/s`}`,
  ];
  if (job.state === 'queued' || job.state === 'queuing') lines.push(`  eta       ${p.etaSeconds === undefined ? '—' : formatSeconds(p.etaSeconds)}`);
  lines.push(`  elapsed   ${formatSeconds(p.elapsedSeconds)}`);
  if (job.state === 'done') lines.push(`  results   \`modelfleet bulk results ${job.id} --out FILE\` (kept ${formatSeconds(job.resultTtlSeconds)} after the end)`);
  return lines;
}

export function formatSeconds(seconds: number): string {
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 1 : 0)}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ${Math.round(seconds % 60)}s`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)}h ${Math.round((seconds % 3600) / 60)}m`;
  return `${Math.floor(seconds / 86_400)}d ${Math.round((seconds % 86_400) / 3600)}h`;
}

/** Polls until the job is done, cancelled or failed, calling `onUpdate` with each reading. */
export async function waitForJob(redis: Redis, jobId: string, options: { readonly pollMs?: number; readonly onUpdate?: (job: JobRecord) => void; readonly signal?: AbortSignal } = {}): Promise<JobRecord> {
  for (;;) {
    const job = await readJob(redis, jobId);
    options.onUpdate?.(job);
    if (job.state === 'done' || job.state === 'cancelled' || job.state === 'failed' || options.signal?.aborted) return job;
    await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 250));
  }
}
