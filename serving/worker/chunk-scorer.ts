import { formatPredictions } from '../model-server/format-output.js';
import type { RowBatch } from '../model-server/row-batch.js';
import type { RequestFailure, ValidationResult } from '../model-server/validate-request.js';
import type { ModelSession } from './model-session.js';
import { splitRecords, type RecordFormat } from './record-splitter.js';

/** Rows to score, as a file held them: CSV records under a header line, or JSON Lines. */
export interface ChunkInput {
  readonly format: RecordFormat;
  /** The CSV header line (column names); empty for JSON Lines. */
  readonly header: string;
  /** The records, line breaks included, as cut by the record splitter. */
  readonly text: string;
  /** How many rows the submitter counted in `text`. */
  readonly rows: number;
}

/** One answer per row: a prediction, or the reason the row was refused. */
export interface ChunkOutcome {
  readonly rows: number;
  readonly ok: number;
  readonly failed: number;
  /** One entry per row, in order: the prediction as `/invocations` gives it, or null for a failed row. */
  readonly predictions: readonly unknown[];
  /** `[row index within the chunk, reason]` for each failed row, in row order. */
  readonly errors: ReadonlyArray<readonly [number, string]>;
}

/**
 * Scores a chunk of rows. A row that fails validation becomes an error for that row, never a
 * failure of the chunk: the whole chunk is validated at once (the fast path), and only when that
 * fails is each row judged alone, with the model server's own validator, so every row gets the
 * message `/invocations` would have given it. An inference error on valid rows is thrown: the
 * caller retries the chunk and dead-letters it in the end.
 */
export async function scoreChunk(session: ModelSession, input: ChunkInput): Promise<ChunkOutcome> {
  if (input.rows === 0) return { rows: 0, ok: 0, failed: 0, predictions: [], errors: [] };
  const codec = input.format === 'csv' ? csvCodec(session, input.header) : jsonLinesCodec(session);
  const whole = codec.whole(input.text);
  if (whole.ok && whole.batch.rows === input.rows) {
    const predictions = await predict(session, whole.batch);
    return { rows: input.rows, ok: input.rows, failed: 0, predictions, errors: [] };
  }
  const records = splitRecords(input.text, input.format);
  if (records.length !== input.rows) {
    const reason = `chunk_mismatch: the chunk holds ${records.length} rows where ${input.rows} were queued; submit the file again`;
    return allFailed(input.rows, reason);
  }
  const errors: Array<readonly [number, string]> = [];
  const good: number[] = [];
  records.forEach((record, index) => {
    const alone = codec.one(record);
    if (!alone.ok) errors.push([index, describeFailure(alone.failure)]);
    else if (alone.batch.rows !== 1) errors.push([index, `malformed_record: the record reads as ${alone.batch.rows} rows (a bare carriage return inside it?); keep one row per line`]);
    else good.push(index);
  });
  const predictions: unknown[] = new Array<unknown>(input.rows).fill(null);
  if (good.length > 0) {
    const batch = codec.many(good.map((i) => records[i] as string));
    if (!batch.ok || batch.batch.rows !== good.length) {
      // Rows valid one by one are valid together; anything else is a bug worth a loud failure.
      throw new Error(`rows that passed validation one by one failed together: ${batch.ok ? `${batch.batch.rows} rows for ${good.length}` : batch.failure.message}`);
    }
    const values = await predict(session, batch.batch);
    good.forEach((row, k) => { predictions[row] = values[k]; });
  }
  return { rows: input.rows, ok: good.length, failed: errors.length, predictions, errors };
}

interface RowCodec {
  /** The whole chunk text at once. */
  whole(text: string): ValidationResult;
  /** One record alone. */
  one(record: string): ValidationResult;
  /** Several records known to be valid. */
  many(records: readonly string[]): ValidationResult;
}

/** CSV rows go through the model server's text/csv path: the same parsing and type conversion. */
function csvCodec(session: ModelSession, header: string): RowCodec {
  const validate = (body: string) => session.validator.validateScoring('text/csv', body);
  return {
    whole: (text) => validate(`${header}\n${text}`),
    one: (record) => validate(`${header}\n${record}`),
    many: (records) => validate(`${header}\n${records.join('\n')}`),
  };
}

/**
 * JSON Lines: one JSON value per line, read as MLflow's `instances` (an object per row for a
 * column signature, a row value for a tensor signature).
 */
function jsonLinesCodec(session: ModelSession): RowCodec {
  const validate = (rows: unknown[]) => session.validator.validateScoringJson({ instances: rows });
  const parseAll = (records: readonly string[]): unknown[] | undefined => {
    try {
      return JSON.parse(`[${records.join(',')}]`) as unknown[];
    } catch {
      return undefined;
    }
  };
  return {
    whole(text) {
      const rows = parseAll(splitRecords(text, 'jsonl'));
      return rows ? validate(rows) : malformed('one line of the chunk is not valid JSON');
    },
    one(record) {
      try {
        return validate([JSON.parse(record) as unknown]);
      } catch (err) {
        return malformed(`the line is not valid JSON: ${(err as Error).message}`);
      }
    },
    many(records) {
      const rows = parseAll(records);
      return rows ? validate(rows) : malformed('a line is not valid JSON');
    },
  };
}

function malformed(message: string): ValidationResult {
  return { ok: false, failure: { status: 400, error: 'malformed_json', message, problems: [{ reason: 'malformed_json', message }], problemCount: 1 } };
}

async function predict(session: ModelSession, batch: RowBatch): Promise<unknown[]> {
  return formatPredictions(await session.score(batch));
}

/**
 * A one-row refusal as a per-row error: `reason: message`, the messages of every problem of the
 * row, with "row 0" (the row's index in its one-row request) taken out.
 */
export function describeFailure(failure: RequestFailure): string {
  const messages = failure.problems.length > 0 ? failure.problems.map((p) => `${p.reason}: ${stripRowZero(p.message)}`) : [`${failure.error}: ${stripRowZero(failure.message)}`];
  const more = failure.problemCount > failure.problems.length ? `; and ${failure.problemCount - failure.problems.length} more` : '';
  return `${messages.join('; ')}${more}`;
}

function stripRowZero(message: string): string {
  return message.replace(/^row 0: /, '').replace(/^row 0 /, 'the row ');
}

function allFailed(rows: number, reason: string): ChunkOutcome {
  return {
    rows,
    ok: 0,
    failed: rows,
    predictions: new Array<unknown>(rows).fill(null),
    errors: Array.from({ length: rows }, (_, i) => [i, reason] as const),
  };
}
