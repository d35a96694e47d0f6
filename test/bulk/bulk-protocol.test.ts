import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { columnProblems, firstRecordProblems } from '../../pipeline/bulk/check-header.js';
import { formatJobStatus, jobProgress } from '../../pipeline/bulk/job-status.js';
import { progressLine } from '../../pipeline/bulk/progress-line.js';
import { parseSignature } from '../../serving/mlflow/signature.js';
import { decodeChunk, decodeChunkResult, encodeChunk, encodeChunkResult, parseJobRecord, type JobRecord } from '../../serving/worker/bulk-protocol.js';

const signature = parseSignature({
  inputs: JSON.stringify([
    { type: 'double', name: 'a', required: true },
    { type: 'double', name: 'b', required: true },
    { type: 'string', name: 'c', required: false },
  ]),
}, 'MLmodel');

describe('the header check', () => {
  it('accepts the signature\'s columns in any order, with or without the optional ones', () => {
    fc.assert(fc.property(fc.shuffledSubarray(['a', 'b', 'c'], { minLength: 2 }).filter((cols) => cols.includes('a') && cols.includes('b')), (columns) => {
      expect(columnProblems(signature, columns)).toEqual([]);
    }));
  });

  it('names every unknown, repeated and missing column', () => {
    expect(columnProblems(signature, ['a', 'a', 'z'])).toEqual(['column "a" appears twice', 'unknown column "z"', 'required column "b" (double) is missing']);
    expect(firstRecordProblems(signature, { a: 1, b: 2, d: 3 })).toEqual(['unknown column "d"']);
    expect(firstRecordProblems(signature, [1, 2])).toEqual(['each line must be a JSON object of column values, like {"a": 1.5, "b": "x"}']);
  });

  it('never throws, whatever the columns', () => {
    fc.assert(fc.property(fc.array(fc.string({ maxLength: 5 }), { maxLength: 8 }), (columns) => {
      const problems = columnProblems(signature, columns);
      expect(problems.length === 0).toBe(columns.includes('a') && columns.includes('b') && columns.every((c) => ['a', 'b', 'c'].includes(c)) && new Set(columns).size === columns.length);
    }));
  });
});

describe('stream entries and stored results', () => {
  it('decode what they encode, and refuse anything else without throwing', () => {
    fc.assert(fc.property(fc.nat(), fc.nat(), fc.nat(), fc.string(), (chunk, firstRow, rows, data) => {
      const message = { job: 'match-7-moto-abc123', chunk, firstRow, rows, data };
      expect(decodeChunk(encodeChunk(message))).toEqual(message);
    }));
    fc.assert(fc.property(fc.option(fc.array(fc.string(), { maxLength: 12 }), { nil: null }), (fields) => {
      const decoded = decodeChunk(fields);
      expect('problem' in decoded || typeof decoded.job === 'string').toBe(true);
    }));
    const result = { predictions: [0.25, null, [1, 2], { p: 0.5 }], errors: [[1, 'wrong_type: x'] as const] };
    expect(decodeChunkResult(encodeChunkResult(result))).toEqual(result);
  });
});

describe('job progress', () => {
  const job = (fields: Record<string, string>): JobRecord => parseJobRecord('match-7-moto-abc123', { model: 'match-7-moto', state: 'queued', format: 'csv', input: 'trips.csv', chunkRows: '500', ttl: '86400', createdAt: '1000', ...fields }) as JobRecord;

  it('computes the rate from the first answer, and the ETA once the total is known', () => {
    const p = jobProgress(job({ startedAt: '2000', rowsOk: '9000', rowsFailed: '1000', rowsQueued: '40000', rowsTotal: '40000' }), 12_000);
    expect(p).toEqual({ done: 10_000, total: 40_000, totalKnown: true, queued: 30_000, rowsPerSecond: 1_000, etaSeconds: 30, elapsedSeconds: 11 });
    expect(jobProgress(job({ state: 'queuing', rowsQueued: '500' }), 5_000).etaSeconds).toBeUndefined();
  });

  it('prints status lines and a progress bar a person reads', () => {
    const record = job({ startedAt: '2000', rowsOk: '9000', rowsFailed: '1000', rowsQueued: '40000', rowsTotal: '40000' });
    expect(formatJobStatus(record, 12_000)).toEqual([
      'job match-7-moto-abc123: queued',
      '  model     match-7-moto',
      '  input     trips.csv (csv, chunks of 500 rows)',
      '  rows      10,000 of 40,000 answered (25.0%): 9,000 ok, 1,000 failed; 30,000 queued',
      '  rate      1,000 rows/s',
      '  eta       30s',
      '  elapsed   11s',
    ]);
    expect(progressLine(record, 40_000, false, 12_000)).toBe('[########......................]  25.0%  10,000/40,000 rows  1,000 rows/s  ETA 30s');
  });
});
