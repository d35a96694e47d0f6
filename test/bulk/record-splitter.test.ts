import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseCsv } from '../../serving/model-server/validate-request.js';
import { RecordScanner, splitRecords } from '../../serving/worker/record-splitter.js';

/** A CSV field: plain, or quoted with commas, doubled quotes and line breaks inside. */
const field = fc.oneof(
  fc.stringMatching(/^[a-z0-9.]{0,6}$/),
  fc.array(fc.constantFrom('a', ',', '""', '\n', '\r\n', '1', ' '), { maxLength: 6 }).map((parts) => `"${parts.join('')}"`),
);
const record = fc.array(field, { minLength: 1, maxLength: 4 }).map((fields) => fields.join(','));
/** Records joined by LF or CRLF, with blank lines sprinkled in; a final line break or not. */
const csvText = fc.tuple(fc.array(fc.tuple(record, fc.constantFrom('\n', '\r\n', '\n\n', '\r\n\r\n')), { minLength: 1, maxLength: 12 }), fc.boolean())
  .map(([rows, finalBreak]) => rows.map(([r, br], i) => (i === rows.length - 1 && !finalBreak ? r : r + br)).join(''));

/** Cuts the text into blocks at the given points and scans it as the submitter does: block by block, `max` records at a time. */
function countInBlocks(text: string, cuts: readonly number[], max: number): { records: number; chunks: string[] } {
  const points = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
  const blocks: string[] = [];
  let last = 0;
  for (const p of points) { blocks.push(text.slice(last, p)); last = p; }
  blocks.push(text.slice(last));
  const scanner = new RecordScanner('csv');
  let buffer = '';
  let pos = 0;
  let records = 0;
  const chunks: string[] = [];
  for (let b = 0; b <= blocks.length; b++) {
    const final = b === blocks.length;
    if (!final) { buffer = buffer.slice(pos) + blocks[b]; pos = 0; scanner.reset(buffer); }
    for (;;) {
      const scan = scanner.scan(pos, max, final);
      if (scan.records === 0 && (!final || scan.end === pos)) { if (final) pos = scan.end; break; }
      if (scan.records < max && !final) break;
      records += scan.records;
      chunks.push(buffer.slice(scan.firstStart, scan.end));
      pos = scan.end;
    }
  }
  return { records, chunks };
}

describe('the record splitter', () => {
  it('counts the rows the model server\'s CSV reader reads (quoted line breaks, CRLF, blank lines)', () => {
    fc.assert(fc.property(csvText, (text) => {
      const parsed = parseCsv(text);
      // The server's reader also drops a record of one empty quoted field (""); a worker answers such a row with an error.
      fc.pre(parsed.ok && !/\r(?!\n)/.test(text.replace(/"[^"]*"/g, '')) && !/(^|\n)""(\r?\n|$)/.test(text));
      expect(splitRecords(text, 'csv')).toHaveLength(parsed.ok ? parsed.rows.length : -1);
    }), { numRuns: 300 });
  });

  it('cuts the same records whatever the read blocks and the chunk size, and re-scanning after more text arrives', () => {
    fc.assert(fc.property(csvText, fc.array(fc.nat(), { maxLength: 6 }), fc.integer({ min: 1, max: 5 }), (text, cuts, max) => {
      const expected = splitRecords(text, 'csv');
      const { records, chunks } = countInBlocks(text, cuts, max);
      expect(records).toBe(expected.length);
      expect(chunks.flatMap((chunk) => splitRecords(chunk, 'csv'))).toEqual(expected);
    }), { numRuns: 300 });
  });

  it('keeps a quoted line break inside its record when a scan is repeated from the same place', () => {
    const text = '1,2\n"0.5","17672\n25600",1\n3,4\n';
    const scanner = new RecordScanner('csv');
    scanner.reset(text);
    expect(scanner.scan(0, 10, false).records).toBe(3);
    expect(scanner.scan(0, 10, true).records).toBe(3);
  });

  it('reads JSON Lines one line per record and skips blank lines', () => {
    expect(splitRecords('{"a":1}\n\n  \n{"a":"x\\ny"}\r\n{"a":3}', 'jsonl')).toEqual(['{"a":1}', '{"a":"x\\ny"}', '{"a":3}']);
  });

  it('leaves an unterminated last record for the next block unless the input has ended', () => {
    const scanner = new RecordScanner('csv');
    scanner.reset('a\nb\n"c\n');
    expect(scanner.scan(0, 10, false)).toEqual({ end: 4, records: 2, firstStart: 0 });
    expect(scanner.scan(4, 10, true)).toEqual({ end: 7, records: 1, firstStart: 4 });
  });
});
