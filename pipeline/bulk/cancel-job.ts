import type { Redis } from 'ioredis';
import { END_JOB } from '../../serving/worker/bulk-scripts.js';
import { jobKey, resultsKey, type JobState } from '../../serving/worker/bulk-protocol.js';
import { readJob } from './job-status.js';

/**
 * Cancels a job that has not finished: workers skip its remaining chunks (they see the state
 * within a second), a submitter still queuing stops, and its partial results expire after the
 * result TTL. Returns the state the job was in; a job already ended is left as it is.
 */
export async function cancelJob(redis: Redis, jobId: string, now = Date.now()): Promise<JobState> {
  const job = await readJob(redis, jobId);
  if (job.state !== 'queuing' && job.state !== 'queued') return job.state;
  const before = await END_JOB.run(redis, [jobKey(jobId), resultsKey(jobId)], ['cancelled', now, Math.max(60, job.resultTtlSeconds), 'cancelled with `modelfleet bulk cancel`']);
  return (typeof before === 'string' ? before : job.state) as JobState;
}
