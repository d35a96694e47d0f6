import type { RecordFormat } from './record-splitter.js';

/**
 * What the bulk submitter, the workers and the result reader agree on in Redis. One stream of
 * chunks per deployable (a model, or one A/B variant), read by one consumer group; one hash per
 * job (its settings and counters) and one hash of results per job (chunk index → answers).
 *
 *   modelfleet:bulk:<deployName>:chunks        stream; entries {j, c, r, n, d}; group "workers"
 *   modelfleet:bulk:<deployName>:dead-letters  stream; chunks given up on, with the reason
 *   modelfleet:bulk:<deployName>:failures      hash; entry id → why its last attempt failed
 *   modelfleet:bulk:job:<id>                   hash; JobRecord fields
 *   modelfleet:bulk:job:<id>:results           hash; chunk index → encoded ChunkResult
 */
export const BULK_PREFIX = 'modelfleet:bulk';
export const WORKER_GROUP = 'workers';

export function chunkStreamKey(deployName: string): string {
  return `${BULK_PREFIX}:${deployName}:chunks`;
}

export function deadLetterKey(deployName: string): string {
  return `${BULK_PREFIX}:${deployName}:dead-letters`;
}

export function failureNotesKey(deployName: string): string {
  return `${BULK_PREFIX}:${deployName}:failures`;
}

export function jobKey(jobId: string): string {
  return `${BULK_PREFIX}:job:${jobId}`;
}

export function resultsKey(jobId: string): string {
  return `${BULK_PREFIX}:job:${jobId}:results`;
}

/** Job ids: lower-case letters, digits and "-" (they become parts of Redis keys and file names). */
export const JOB_ID_PATTERN = /^[a-z0-9][a-z0-9-]{5,63}$/;

/**
 * queuing: the submitter is still adding chunks; queued: every chunk is on the stream;
 * done: every chunk has its results; cancelled: `bulk cancel`; failed: the submitter gave up.
 */
export type JobState = 'queuing' | 'queued' | 'done' | 'cancelled' | 'failed';

/** One chunk on the stream: rows `firstRow … firstRow + rows - 1` of job `job`. */
export interface ChunkMessage {
  readonly job: string;
  readonly chunk: number;
  readonly firstRow: number;
  readonly rows: number;
  /** The records as the file held them (CSV without its header line, or JSON Lines). */
  readonly data: string;
}

export function encodeChunk(message: ChunkMessage): string[] {
  return ['j', message.job, 'c', String(message.chunk), 'r', String(message.firstRow), 'n', String(message.rows), 'd', message.data];
}

/** The fields of a stream entry (`[name, value, ...]`) as a chunk, or why they are not one. */
export function decodeChunk(fields: readonly string[] | null | undefined): ChunkMessage | { readonly problem: string } {
  if (!fields) return { problem: 'the entry has no fields (deleted from the stream)' };
  const get = (name: string): string | undefined => {
    for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
    return undefined;
  };
  const job = get('j');
  const chunk = Number(get('c'));
  const firstRow = Number(get('r'));
  const rows = Number(get('n'));
  const data = get('d');
  if (job === undefined || !JOB_ID_PATTERN.test(job) || data === undefined || ![chunk, firstRow, rows].every((v) => Number.isSafeInteger(v) && v >= 0)) {
    return { problem: 'the entry is not a modelfleet bulk chunk (fields j, c, r, n, d)' };
  }
  return { job, chunk, firstRow, rows, data };
}

/** The job hash as read back. Counters are absent until the first write. */
export interface JobRecord {
  readonly id: string;
  readonly model: string;
  readonly state: JobState;
  readonly format: RecordFormat;
  /** The CSV header line; empty for JSON Lines. */
  readonly header: string;
  readonly input: string;
  readonly chunkRows: number;
  readonly resultTtlSeconds: number;
  readonly createdAt: number;
  readonly queuedAt: number | undefined;
  readonly startedAt: number | undefined;
  readonly finishedAt: number | undefined;
  readonly rowsQueued: number;
  readonly chunksQueued: number;
  /** Known once every chunk is queued. */
  readonly rowsTotal: number | undefined;
  readonly chunksTotal: number | undefined;
  readonly rowsOk: number;
  readonly rowsFailed: number;
  readonly chunksDone: number;
}

const STATES: readonly JobState[] = ['queuing', 'queued', 'done', 'cancelled', 'failed'];

/** HGETALL of a job hash → JobRecord, or undefined when the hash is gone (expired) or not a job. */
export function parseJobRecord(id: string, hash: Readonly<Record<string, string>>): JobRecord | undefined {
  const state = hash.state as JobState | undefined;
  if (state === undefined || !STATES.includes(state) || hash.model === undefined) return undefined;
  const int = (name: string): number | undefined => {
    const value = hash[name];
    if (value === undefined || value === '') return undefined;
    const n = Number(value);
    return Number.isFinite(n) ? n : undefined;
  };
  return {
    id,
    model: hash.model,
    state,
    format: hash.format === 'jsonl' ? 'jsonl' : 'csv',
    header: hash.header ?? '',
    input: hash.input ?? '',
    chunkRows: int('chunkRows') ?? 0,
    resultTtlSeconds: int('ttl') ?? 0,
    createdAt: int('createdAt') ?? 0,
    queuedAt: int('queuedAt'),
    startedAt: int('startedAt'),
    finishedAt: int('finishedAt'),
    rowsQueued: int('rowsQueued') ?? 0,
    chunksQueued: int('chunksQueued') ?? 0,
    rowsTotal: int('rowsTotal'),
    chunksTotal: int('chunksTotal'),
    rowsOk: int('rowsOk') ?? 0,
    rowsFailed: int('rowsFailed') ?? 0,
    chunksDone: int('chunksDone') ?? 0,
  };
}

/** The answers of one chunk as stored: predictions (null where the row failed) and the errors. */
export interface ChunkResult {
  readonly predictions: readonly unknown[];
  readonly errors: ReadonlyArray<readonly [number, string]>;
}

export function encodeChunkResult(result: ChunkResult): string {
  return `{"p":${JSON.stringify(result.predictions)},"e":${JSON.stringify(result.errors)}}`;
}

export function decodeChunkResult(text: string): ChunkResult {
  const parsed = JSON.parse(text) as { p?: unknown; e?: unknown };
  if (!Array.isArray(parsed.p) || !Array.isArray(parsed.e)) throw new Error('a stored chunk result is not {"p": [...], "e": [...]}');
  return { predictions: parsed.p, errors: parsed.e as Array<[number, string]> };
}
