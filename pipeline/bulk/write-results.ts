import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname, extname } from 'node:path';
import type { Redis } from 'ioredis';
import { UserError } from '../../lib/errors/user-error.js';
import { decodeChunkResult, resultsKey, type ChunkResult, type JobRecord } from '../../serving/worker/bulk-protocol.js';

export type ResultFormat = 'csv' | 'jsonl';

export interface WrittenResults {
  readonly rows: number;
  readonly ok: number;
  readonly failed: number;
}

/** Chunk results fetched per round trip. */
const CHUNKS_PER_READ = 64;

/** `--format`, else the output file's extension, else the input's format. */
export function resultFormatOf(out: string, flag: string | undefined, job: JobRecord): ResultFormat {
  if (flag === 'csv' || flag === 'jsonl') return flag;
  if (flag !== undefined) throw new UserError('USAGE', `--format ${flag} is not a result format`, 'Use --format csv or --format jsonl.');
  const ext = extname(out).toLowerCase();
  if (ext === '.csv') return 'csv';
  if (ext === '.jsonl' || ext === '.ndjson') return 'jsonl';
  return job.format;
}

/**
 * Writes one line per input row, in input order: `row,prediction,error` (CSV) or
 * `{"row", "prediction"}` / `{"row", "error"}` (JSON Lines). `row` is the row's 0-based index among
 * the input's data rows (header and blank lines not counted). Written beside the target and
 * renamed over it, so a failure leaves no half file. Only a finished job has results to write.
 */
export async function writeResults(redis: Redis, job: JobRecord, out: string, format: ResultFormat): Promise<WrittenResults> {
  if (job.state !== 'done' || job.chunksTotal === undefined) {
    throw new UserError('BULK_JOB_NOT_DONE', `job ${job.id} is ${job.state}${job.state === 'queued' || job.state === 'queuing' ? `: ${job.rowsOk + job.rowsFailed} of ${job.rowsTotal ?? job.rowsQueued} rows answered so far` : ''}`,
      job.state === 'cancelled' || job.state === 'failed' ? 'Its results are incomplete; submit the file again.' : 'Wait for it: `modelfleet bulk results JOB --out FILE --wait`, or follow it with `modelfleet bulk status JOB`.');
  }
  await mkdir(dirname(out), { recursive: true });
  const staging = `${out}.tmp-${process.pid}`;
  const file = createWriteStream(staging, { highWaterMark: 1024 * 1024 });
  const write = async (text: string): Promise<void> => {
    if (!file.write(text)) await once(file, 'drain');
  };
  let row = 0;
  let ok = 0;
  let failed = 0;
  try {
    if (format === 'csv') await write('row,prediction,error\n');
    const key = resultsKey(job.id);
    for (let first = 0; first < job.chunksTotal; first += CHUNKS_PER_READ) {
      const fields = Array.from({ length: Math.min(CHUNKS_PER_READ, job.chunksTotal - first) }, (_, i) => String(first + i));
      const stored = await redis.hmget(key, ...fields);
      for (let i = 0; i < stored.length; i++) {
        const text = stored[i];
        if (text === null || text === undefined) {
          throw new UserError('BULK_JOB_NOT_FOUND', `job ${job.id}: the results of chunk ${first + i} are missing from Redis (expired, or Redis lost data)`, 'Submit the file again.');
        }
        const result = decodeChunkResult(text);
        const lines = format === 'csv' ? csvLines(result, row) : jsonLines(result, row);
        row += result.predictions.length;
        failed += result.errors.length;
        ok += result.predictions.length - result.errors.length;
        await write(lines);
      }
    }
    file.end();
    await once(file, 'finish');
    await rename(staging, out);
  } catch (err) {
    file.destroy();
    await rm(staging, { force: true });
    throw err;
  }
  return { rows: row, ok, failed };
}

function csvLines(result: ChunkResult, firstRow: number): string {
  const errors = new Map(result.errors);
  let text = '';
  for (let i = 0; i < result.predictions.length; i++) {
    const error = errors.get(i);
    text += error === undefined ? `${firstRow + i},${csvValue(result.predictions[i])},\n` : `${firstRow + i},,${csvText(error)}\n`;
  }
  return text;
}

function jsonLines(result: ChunkResult, firstRow: number): string {
  const errors = new Map(result.errors);
  let text = '';
  for (let i = 0; i < result.predictions.length; i++) {
    const error = errors.get(i);
    text += error === undefined
      ? `{"row":${firstRow + i},"prediction":${JSON.stringify(result.predictions[i] ?? null)}}\n`
      : `{"row":${firstRow + i},"error":${JSON.stringify(error)}}\n`;
  }
  return text;
}

/** A number as JSON writes it; anything else as its JSON text, quoted for CSV. */
function csvValue(value: unknown): string {
  if (typeof value === 'number') return String(value);
  if (value === null || value === undefined) return '';
  if (typeof value === 'boolean') return String(value);
  return csvText(typeof value === 'string' ? value : JSON.stringify(value));
}

function csvText(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}
