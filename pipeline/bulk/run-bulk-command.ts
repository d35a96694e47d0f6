/**
 * The bulk commands' shell: flags in, Redis connection, the pure pieces, lines out.
 */
import type { Redis } from 'ioredis';
import { UserError } from '../../lib/errors/user-error.js';
import type { JobRecord } from '../../serving/worker/bulk-protocol.js';
import { bulkRedisSettings, resolveBulkTarget } from './bulk-target.js';
import { cancelJob } from './cancel-job.js';
import { closeRedis, connectRedis } from './connect-redis.js';
import { checkJobId } from './job-id.js';
import { formatJobStatus, formatSeconds, jobProgress, readJob, waitForJob } from './job-status.js';
import { createProgressPrinter, progressLine } from './progress-line.js';
import { inputFormatOf } from './read-input.js';
import { submitJob } from './submit-job.js';
import { resultFormatOf, writeResults } from './write-results.js';

type Print = (line: string) => void;

export interface BulkSubmitCommand {
  readonly model: string;
  readonly input: string;
  readonly format?: string;
  readonly file: string;
  readonly buildDir: string;
  readonly detach: boolean;
  readonly results?: string;
  readonly redis?: string;
  readonly print: Print;
}

/** Returns the exit code: 0 when the job is done (or queued with --detach), 1 when it was cancelled or failed. */
export async function runBulkSubmit(command: BulkSubmitCommand): Promise<number> {
  const { print } = command;
  const format = inputFormatOf(command.input, command.format);
  const target = await resolveBulkTarget({ file: command.file, out: command.buildDir, model: command.model });
  const redis = await connectRedis(await bulkRedisSettings(command.redis), { waitForever: true, print });
  const progress = createProgressPrinter(process.stderr);
  const interrupt = new AbortController();
  const onSigint = () => interrupt.abort();
  process.once('SIGINT', onSigint);
  try {
    let jobId = '';
    let queuedRows = 0;
    let waitingForRoom = false;
    let latest: JobRecord | undefined;
    const show = () => { if (latest) progress.update(progressLine(latest, queuedRows, waitingForRoom, Date.now())); };
    // While rows are queued, the job record is read twice a second for the bar (answers arrive meanwhile).
    const poll = setInterval(() => {
      if (jobId === '') return;
      void readJob(redis, jobId).then((job) => { latest = job; show(); }, () => undefined);
    }, 500);
    let submission;
    try {
      submission = await submitJob({
        target, redis, file: command.input, format, signal: interrupt.signal,
        onJob: (id) => {
          jobId = id;
          print(`job ${id}: ${command.input} → ${target.deployName} (${format}, chunks of ${target.settings.chunkRows} rows)`);
        },
        onQueued: (rows, waiting) => { queuedRows = rows; waitingForRoom = waiting; },
      });
    } finally {
      clearInterval(poll);
    }
    if (submission.state === 'cancelled') {
      progress.done();
      print(`job ${submission.jobId}: cancelled after ${submission.rows.toLocaleString('en-US')} rows were queued`);
      return 1;
    }
    if (command.detach) {
      progress.done();
      print(`job ${submission.jobId}: ${submission.rows.toLocaleString('en-US')} rows queued in ${submission.chunks} chunks; follow it with \`modelfleet bulk status ${submission.jobId}\``);
      return 0;
    }
    const job = await waitForJob(redis, submission.jobId, { pollMs: 250, signal: interrupt.signal, onUpdate: (j) => { latest = j; show(); } });
    progress.done();
    if (job.state !== 'done') {
      if (interrupt.signal.aborted) {
        print(`stopped following job ${job.id} (${job.state}); it goes on: \`modelfleet bulk status ${job.id}\``);
        return 130;
      }
      print(`job ${job.id}: ${job.state}`);
      return 1;
    }
    const p = jobProgress(job, Date.now());
    print(`job ${job.id}: done in ${formatSeconds(p.elapsedSeconds)}: ${job.rowsOk.toLocaleString('en-US')} rows ok, ${job.rowsFailed.toLocaleString('en-US')} failed${p.rowsPerSecond ? ` (${Math.round(p.rowsPerSecond).toLocaleString('en-US')} rows/s)` : ''}`);
    if (command.results) {
      const written = await writeResults(redis, job, command.results, resultFormatOf(command.results, undefined, job));
      print(`results: ${command.results} (${written.rows.toLocaleString('en-US')} rows)`);
    } else {
      print(`results: \`modelfleet bulk results ${job.id} --out FILE\``);
    }
    return 0;
  } finally {
    process.removeListener('SIGINT', onSigint);
    await closeRedis(redis);
  }
}

export async function runBulkStatus(command: { readonly job: string; readonly redis?: string; readonly json: boolean; readonly print: Print }): Promise<void> {
  await withRedis(command.redis, async (redis) => {
    const job = await readJob(redis, checkJobId(command.job));
    if (command.json) command.print(JSON.stringify({ ...job, progress: jobProgress(job, Date.now()) }, null, 2));
    else for (const line of formatJobStatus(job, Date.now())) command.print(line);
  });
}

export async function runBulkResults(command: { readonly job: string; readonly out: string; readonly format?: string; readonly wait: boolean; readonly redis?: string; readonly print: Print }): Promise<void> {
  await withRedis(command.redis, async (redis) => {
    const id = checkJobId(command.job);
    const job = command.wait ? await waitForJob(redis, id) : await readJob(redis, id);
    const format = resultFormatOf(command.out, command.format, job);
    const written = await writeResults(redis, job, command.out, format);
    command.print(`${command.out}: ${written.rows.toLocaleString('en-US')} rows (${written.ok.toLocaleString('en-US')} ok, ${written.failed.toLocaleString('en-US')} failed), ${format}`);
  });
}

export async function runBulkCancel(command: { readonly job: string; readonly redis?: string; readonly print: Print }): Promise<void> {
  await withRedis(command.redis, async (redis) => {
    const id = checkJobId(command.job);
    const before = await cancelJob(redis, id);
    if (before === 'queuing' || before === 'queued') command.print(`job ${id}: cancelled (it was ${before}); workers skip its remaining chunks`);
    else throw new UserError('BULK_JOB_NOT_DONE', `job ${id} is already ${before}; there is nothing to cancel`, before === 'done' ? 'Fetch its results with `modelfleet bulk results`.' : 'Submit the file again if you still need it.');
  });
}

async function withRedis<T>(flag: string | undefined, work: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = await connectRedis(await bulkRedisSettings(flag), { waitForever: false });
  try {
    return await work(redis);
  } finally {
    await closeRedis(redis);
  }
}
