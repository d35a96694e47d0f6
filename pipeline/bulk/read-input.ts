import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { extname } from 'node:path';
import { UserError } from '../../lib/errors/user-error.js';
import type { Signature } from '../../serving/mlflow/signature.js';
import { parseCsv } from '../../serving/model-server/validate-request.js';
import { RecordScanner, type RecordFormat } from '../../serving/worker/record-splitter.js';
import { columnProblems, describeInputs, firstRecordProblems } from './check-header.js';

/** Rows `firstRow … firstRow + rows - 1` of the input, as the file held them. */
export interface InputChunk {
  readonly firstRow: number;
  readonly rows: number;
  readonly data: string;
}

export interface OpenedInput {
  readonly format: RecordFormat;
  /** The CSV header line as written (empty for JSON Lines). */
  readonly header: string;
  readonly bytes: number;
  /** The chunks, read as they are consumed (the file is never held whole). */
  chunks(): AsyncGenerator<InputChunk>;
}

/** A record longer than this is taken for an unclosed quote, not data. */
export const MAX_RECORD_CHARS = 16 * 1024 * 1024;
const READ_BLOCK_BYTES = 1024 * 1024;

/** `--format` when given, else the file's extension: .csv, .jsonl / .ndjson. */
export function inputFormatOf(file: string, flag: string | undefined): RecordFormat {
  const wanted = flag?.toLowerCase();
  if (wanted === 'csv' || wanted === 'jsonl') return wanted;
  if (wanted !== undefined) throw new UserError('BULK_INPUT_INVALID', `--format ${flag} is not a known input format`, 'Use --format csv or --format jsonl.');
  const ext = extname(file).toLowerCase();
  if (ext === '.csv') return 'csv';
  if (ext === '.jsonl' || ext === '.ndjson') return 'jsonl';
  throw new UserError('BULK_INPUT_INVALID', `${file}: cannot tell the format from the extension ${JSON.stringify(ext || '(none)')}`, 'Name the file .csv or .jsonl, or pass --format csv|jsonl.');
}

/**
 * Opens an input file and checks its columns against the signature before any row is queued:
 * the CSV header (first non-blank line) or the keys of the first JSON Lines record. Problems
 * throw BULK_HEADER_MISMATCH naming the file, every problem and the columns the model takes.
 */
export async function openInput(file: string, format: RecordFormat, chunkRows: number, signature: Signature): Promise<OpenedInput> {
  const info = await stat(file).catch((err: unknown) => {
    throw new UserError('BULK_INPUT_INVALID', `${file}: cannot be read (${(err as Error).message})`, 'Check the path of --input.', { cause: err });
  });
  if (!info.isFile()) throw new UserError('BULK_INPUT_INVALID', `${file} is not a file`, 'Pass a .csv or .jsonl file as --input.');
  const blocks = createReadStream(file, { encoding: 'utf8', highWaterMark: READ_BLOCK_BYTES })[Symbol.asyncIterator]() as AsyncIterator<string>;
  const scanner = new RecordScanner(format);
  let text = '';
  let pos = 0;
  let done = false;
  const more = async (): Promise<boolean> => {
    if (done) return false;
    const next = await blocks.next().catch((err: unknown) => {
      throw new UserError('BULK_INPUT_INVALID', `${file}: reading failed (${(err as Error).message})`, 'Check that the file is readable UTF-8 text.', { cause: err });
    });
    if (next.done) {
      done = true;
      return false;
    }
    text = text.slice(pos) + next.value;
    pos = 0;
    scanner.reset(text);
    return true;
  };

  // The first record: the header (CSV) or the record whose keys stand for the columns (JSON Lines).
  let first: { start: number; end: number } | undefined;
  for (;;) {
    const scan = scanner.scan(pos, 1, done);
    if (scan.records === 1) {
      first = { start: scan.firstStart, end: scan.end };
      break;
    }
    if (done) break;
    if (text.length > MAX_RECORD_CHARS) throw tooLong(file);
    await more();
  }
  if (!first) {
    throw new UserError('BULK_INPUT_INVALID', `${file} holds no ${format === 'csv' ? 'header line' : 'records'}`, format === 'csv' ? 'Start the file with a header line naming the columns, then one row per line.' : 'Write one JSON object per line.');
  }
  let header = '';
  const firstRecord = text.slice(first.start, first.end).replace(/\r?\n$/, '').replace(/^\uFEFF/, '');
  if (format === 'csv') {
    header = firstRecord;
    pos = first.end;
    const parsed = parseCsv(header);
    const columns = parsed.ok ? (parsed.rows[0] ?? []) : [];
    const problems = parsed.ok ? columnProblems(signature, columns) : [`the header line is not valid CSV: ${parsed.message}`];
    if (problems.length > 0) throw headerMismatch(file, problems, signature);
  } else {
    let record: unknown;
    try {
      record = JSON.parse(firstRecord);
    } catch (err) {
      throw new UserError('BULK_INPUT_INVALID', `${file}: the first line is not JSON (${(err as Error).message})`, 'Write one JSON object per line (JSON Lines).');
    }
    const problems = firstRecordProblems(signature, record);
    if (problems.length > 0) throw headerMismatch(file, problems, signature);
    // Keep the first record: it is data. A byte-order mark before it is not.
    if (text.charCodeAt(first.start) === 0xfeff) text = text.slice(0, first.start) + text.slice(first.start + 1);
    scanner.reset(text);
  }

  async function* chunks(): AsyncGenerator<InputChunk> {
    let firstRow = 0;
    for (;;) {
      const scan = scanner.scan(pos, chunkRows, done);
      if (scan.records === chunkRows || (done && scan.records > 0)) {
        yield { firstRow, rows: scan.records, data: text.slice(scan.firstStart, scan.end) };
        firstRow += scan.records;
        pos = scan.end;
        continue;
      }
      if (done) return;
      if (text.length - pos > MAX_RECORD_CHARS + chunkRows * 4096) {
        const partial = scanner.scan(pos, chunkRows, true);
        if (partial.records <= 1) throw tooLong(file);
      }
      await more();
    }
  }
  return { format, header, bytes: info.size, chunks };
}

function headerMismatch(file: string, problems: readonly string[], signature: Signature): UserError {
  return new UserError('BULK_HEADER_MISMATCH', `${file} does not fit the model's signature (nothing was queued): ${problems.join('; ')}`,
    `The model takes: ${describeInputs(signature)}. Fix the header (or the first record's keys) and submit again.`);
}

function tooLong(file: string): UserError {
  return new UserError('BULK_INPUT_INVALID', `${file}: a record is longer than ${MAX_RECORD_CHARS / (1024 * 1024)} MiB; a quoted field is probably not closed`,
    'Close the quote (a field that holds a quote writes it twice: "a ""quoted"" word"), or split the record.');
}
