import type { ColumnSpec, Signature, TensorSpec } from '../mlflow/signature.js';

/**
 * Requests a model server must refuse with a 4xx (and a JSON list of reasons) without ever running
 * the model, built for one signature. The server tests fire all of them; the load test mixes them into
 * its traffic to check that bad input never yields a 5xx or takes the server down.
 */
export interface BadRequest {
  /** Kebab-case kind, unique within one corpus. */
  readonly name: string;
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  readonly expectStatus: number;
}

export interface CorpusOptions {
  /** Name the server answers to in /v2/models/{name}. */
  readonly modelName: string;
  /** The server's MAX_ROWS_PER_REQUEST. */
  readonly maxRows: number;
  /** The server's MAX_BODY_BYTES. */
  readonly maxBodyBytes: number;
}

const JSON_HEADERS = { 'content-type': 'application/json' } as const;
const CSV_HEADERS = { 'content-type': 'text/csv' } as const;

/** A valid value of a column type (the bad requests change exactly one thing in an otherwise good request). */
function goodValue(spec: ColumnSpec): unknown {
  switch (spec.type) {
    case 'boolean': return true;
    case 'integer': case 'long': return 1;
    case 'float': case 'double': return 0.5;
    case 'string': return 'TAXI';
    case 'datetime': return '2026-01-15T09:00:00Z';
    case 'binary': return 'AAEC';
  }
}

function goodTensorRow(spec: TensorSpec): unknown {
  const build = (dims: readonly number[]): unknown => {
    if (dims.length === 0) return spec.dtype === 'bool' ? true : spec.dtype === 'str' || spec.dtype === 'object' ? 'x' : 1;
    const [head = 1, ...rest] = dims;
    return Array.from({ length: head === -1 ? 1 : head }, () => build(rest));
  };
  return build(spec.shape.slice(1));
}

export function buildBadRequestCorpus(signature: Signature, options: CorpusOptions): BadRequest[] {
  const invocations = '/invocations';
  const infer = `/v2/models/${encodeURIComponent(options.modelName)}/infer`;
  const json = (name: string, body: unknown, expectStatus = 400, path = invocations): BadRequest =>
    ({ name, method: 'POST', path, headers: JSON_HEADERS, body: typeof body === 'string' ? body : JSON.stringify(body), expectStatus });
  const raw = (name: string, headers: Record<string, string>, body: string, expectStatus: number, path = invocations, method: BadRequest['method'] = 'POST'): BadRequest =>
    ({ name, method, path, headers, body, expectStatus });

  const out: BadRequest[] = [
    raw('content-type-text-plain', { 'content-type': 'text/plain' }, '{}', 415),
    raw('content-type-missing', {}, '{"inputs": []}', 415),
    raw('content-type-xml', { 'content-type': 'application/xml' }, '<inputs/>', 415),
    json('malformed-json', '{"dataframe_split": {"columns": ['),
    json('empty-body', ''),
    json('json-top-level-list', [1, 2, 3]),
    json('json-top-level-string', '"hello"'),
    json('no-input-format', { data: [[1]] }),
    json('several-input-formats', { instances: [], inputs: [] }),
    json('unknown-top-level-key', { inputs: [], extra: 1 }),
    json('params-not-declared', { inputs: [], params: { temperature: 1 } }),
    json('dataframe-split-not-object', { dataframe_split: [1, 2] }),
    json('dataframe-split-data-not-list', { dataframe_split: { columns: [], data: 'rows' } }),
    json('instances-not-list', { instances: { a: 1 } }),
    json('inputs-scalar', { inputs: 42 }),
    raw('body-too-large', JSON_HEADERS, JSON.stringify({ inputs: 'x'.repeat(options.maxBodyBytes + 1) }), 413),
    raw('get-invocations', {}, '', 405, invocations, 'GET'),
    raw('unknown-path', JSON_HEADERS, '{}', 404, '/predict'),
    json('v2-unknown-model', { inputs: [] }, 404, `/v2/models/${encodeURIComponent(`${options.modelName}-nope`)}/infer`),
    json('v2-malformed-json', '{"inputs": [', 400, infer),
    json('v2-not-object', [1], 400, infer),
    json('v2-inputs-missing', { id: '1' }, 400, infer),
    json('v2-inputs-empty', { inputs: [] }, 400, infer),
    json('v2-input-not-object', { inputs: [7] }, 400, infer),
    json('v2-unknown-input', { inputs: [{ name: 'no_such_input', shape: [1], datatype: 'FP64', data: [1] }] }, 400, infer),
    raw('csv-unclosed-quote', CSV_HEADERS, 'a,b\n"1,2\n', 400),
    raw('csv-empty', CSV_HEADERS, '', 400),
  ];

  if (signature.inputs.kind === 'columns') out.push(...columnCases(signature.inputs.specs, options, json, raw, infer));
  else out.push(...tensorCases(signature.inputs.specs, options, json, infer));
  return out;
}

type JsonCase = (name: string, body: unknown, expectStatus?: number, path?: string) => BadRequest;
type RawCase = (name: string, headers: Record<string, string>, body: string, expectStatus: number, path?: string) => BadRequest;

function columnCases(specs: readonly ColumnSpec[], options: CorpusOptions, json: JsonCase, raw: RawCase, infer: string): BadRequest[] {
  const named = specs.filter((s): s is ColumnSpec & { name: string } => s.name !== undefined);
  const columns = named.map((s) => s.name);
  const row = named.map(goodValue);
  const record = Object.fromEntries(named.map((s) => [s.name, goodValue(s)]));
  const required = named.find((s) => s.required) ?? named[0];
  const numeric = named.find((s) => ['double', 'float', 'integer', 'long'].includes(s.type));
  const integer = named.find((s) => s.type === 'integer' || s.type === 'long');
  const text = named.find((s) => s.type === 'string');
  const first = named[0];
  const idx = (spec: ColumnSpec | undefined) => (spec ? named.indexOf(spec as ColumnSpec & { name: string }) : -1);
  const withCell = (spec: ColumnSpec | undefined, value: unknown) => row.map((v, i) => (i === idx(spec) ? value : v));
  const split = (data: unknown[][], cols: string[] = columns) => ({ dataframe_split: { columns: cols, data } });
  const csv = (header: string[], lines: unknown[][]) => [header.join(','), ...lines.map((l) => l.map((v) => (v === null ? '' : String(v))).join(','))].join('\n');
  const out: BadRequest[] = [
    json('split-columns-not-list', { dataframe_split: { columns: 'a', data: [row] } }),
    json('split-missing-required-column', split([row.filter((_, i) => i !== idx(required))], columns.filter((c) => c !== required?.name))),
    json('split-unknown-column', split([[...row, 1]], [...columns, 'no_such_column'])),
    json('split-duplicate-column', split([[...row, row[0]]], [...columns, columns[0] ?? 'x'])),
    json('split-row-too-short', split([row.slice(0, -1)])),
    json('split-row-not-list', split([record as unknown as unknown[]])),
    json('split-null-in-required-column', split([withCell(required, null)])),
    json('split-nested-list-in-cell', split([withCell(first, [1, 2])])),
    json('split-object-in-cell', split([withCell(first, { v: 1 })])),
    json('split-zero-rows', split([])),
    json('split-too-many-rows', split(Array.from({ length: options.maxRows + 1 }, () => row))),
    json('split-problems-in-many-rows', split([withCell(first, { v: 1 }), row, withCell(required, null)])),
    json('records-not-list', { dataframe_records: record }),
    json('records-row-not-object', { dataframe_records: [row] }),
    json('records-missing-required-column', { dataframe_records: [Object.fromEntries(Object.entries(record).filter(([k]) => k !== required?.name))] }),
    json('records-unknown-column', { dataframe_records: [{ ...record, no_such_column: 1 }] }),
    json('instances-row-not-object', { instances: [1, 2] }),
    json('inputs-columns-of-different-length', { inputs: Object.fromEntries(named.map((s, i) => [s.name, i === 0 ? [goodValue(s), goodValue(s)] : [goodValue(s)]])) }),
    json('inputs-column-not-list', { inputs: { ...Object.fromEntries(named.map((s) => [s.name, [goodValue(s)]])), [columns[0] ?? 'x']: 1 } }),
    json('v2-wrong-datatype', { inputs: named.map((s) => ({ name: s.name, shape: [1], datatype: s.type === 'string' ? 'FP64' : 'BYTES', data: [goodValue(s)] })) }, 400, infer),
    json('v2-shape-data-mismatch', { inputs: named.map((s) => ({ name: s.name, shape: [2], datatype: v2Type(s), data: [goodValue(s)] })) }, 400, infer),
    json('v2-rows-disagree', { inputs: named.map((s, i) => ({ name: s.name, shape: [i === 0 ? 2 : 1], datatype: v2Type(s), data: i === 0 ? [goodValue(s), goodValue(s)] : [goodValue(s)] })) }, 400, infer),
    json('v2-missing-required-input', { inputs: named.filter((s) => s !== required).map((s) => ({ name: s.name, shape: [1], datatype: v2Type(s), data: [goodValue(s)] })) }, 400, infer),
    raw('csv-unknown-column', CSV_HEADERS, csv([...columns, 'no_such_column'], [[...row, 1]]), 400),
    raw('csv-row-too-long', CSV_HEADERS, csv(columns, [[...row, 1]]), 400),
    raw('csv-missing-required-column', CSV_HEADERS, csv(columns.filter((c) => c !== required?.name), [row.filter((_, i) => i !== idx(required))]), 400),
  ];
  if (numeric) {
    out.push(
      json('string-in-numeric-column', split([withCell(numeric, 'twelve')])),
      json('boolean-in-numeric-column', split([withCell(numeric, true)])),
      json('nan-text-in-numeric-column', split([withCell(numeric, 'NaN')])),
      json('infinity-text-in-numeric-column', split([withCell(numeric, '-Infinity')])),
      json('overflowing-number', `{"dataframe_split": ${JSON.stringify({ columns, data: [withCell(numeric, 7777)] }).replace('7777', '1e400')}}`),
      raw('csv-text-in-numeric-column', CSV_HEADERS, csv(columns, [withCell(numeric, 'abc')]), 400),
      raw('csv-nan-in-numeric-column', CSV_HEADERS, csv(columns, [withCell(numeric, 'nan')]), 400),
      json('v2-nan-text-in-numeric-input', { inputs: named.map((s) => ({ name: s.name, shape: [1], datatype: v2Type(s), data: [s === numeric ? 'NaN' : goodValue(s)] })) }, 400, infer),
    );
  }
  if (integer) {
    out.push(
      json('fraction-in-integer-column', split([withCell(integer, 1.5)])),
      json('integer-out-of-range', split([withCell(integer, integer.type === 'integer' ? 2 ** 31 : 2 ** 60)])),
    );
  }
  if (text) out.push(json('number-in-string-column', split([withCell(text, 12)])));
  return out;
}

function tensorCases(specs: readonly TensorSpec[], options: CorpusOptions, json: JsonCase, infer: string): BadRequest[] {
  const spec = specs[0];
  if (!spec) return [];
  const name = spec.name ?? 'input';
  const row = goodTensorRow(spec);
  const flatRow = [row].flat(Infinity);
  const replaceFirst = (value: unknown) => {
    const copy = JSON.parse(JSON.stringify(row)) as unknown;
    let cursor = copy;
    while (Array.isArray(cursor) && Array.isArray(cursor[0])) cursor = cursor[0];
    if (Array.isArray(cursor)) cursor[0] = value;
    else return value;
    return copy;
  };
  const body = (rows: unknown[]) => (specs.length === 1 ? { inputs: rows } : { inputs: { [name]: rows } });
  const numeric = !['bool', 'str', 'object'].includes(spec.dtype);
  const out: BadRequest[] = [
    json('tensor-row-wrong-width', body([Array.isArray(row) ? row.slice(0, -1) : [row, row]])),
    json('tensor-row-extra-value', body([Array.isArray(row) ? [...row, row[0]] : [row]])),
    json('tensor-row-scalar', body([1])),
    json('tensor-row-object', body([{ v: row }])),
    json('tensor-null-value', body([replaceFirst(null)])),
    json('tensor-zero-rows', body([])),
    json('tensor-too-many-rows', body(Array.from({ length: options.maxRows + 1 }, () => row))),
    json('tensor-instances-wrong-shape', { instances: [[row]] }),
    json('tensor-dataframe-records', { dataframe_records: [{ [name]: row }] }),
    json('v2-tensor-wrong-shape', { inputs: [{ name, shape: [1, flatRow.length + 1], datatype: 'FP32', data: [...flatRow, 0] }] }, 400, infer),
    json('v2-tensor-shape-data-mismatch', { inputs: [{ name, shape: [2, ...spec.shape.slice(1).map((d) => Math.max(d, 1))], datatype: 'FP32', data: flatRow }] }, 400, infer),
    json('v2-tensor-wrong-datatype', { inputs: [{ name, shape: [1, ...spec.shape.slice(1).map((d) => Math.max(d, 1))], datatype: numeric ? 'BYTES' : 'FP32', data: flatRow }] }, 400, infer),
  ];
  if (spec.name !== undefined) out.push(json('tensor-inputs-unknown-name', { inputs: { [`${name}_nope`]: [row], [name]: [row] } }));
  if (spec.dtype === 'float32') out.push(json('tensor-float32-overflow', body([replaceFirst(1e39)])));
  if (numeric) {
    out.push(
      json('tensor-string-value', body([replaceFirst('twelve')])),
      json('tensor-boolean-value', body([replaceFirst(true)])),
      json('tensor-nan-text', body([replaceFirst('NaN')])),
      json('tensor-overflowing-number', JSON.stringify(body([replaceFirst(7777)])).replace('7777', '1e400')),
    );
  }
  return out;
}

function v2Type(spec: ColumnSpec): string {
  switch (spec.type) {
    case 'boolean': return 'BOOL';
    case 'integer': return 'INT32';
    case 'long': return 'INT64';
    case 'float': return 'FP32';
    case 'double': return 'FP64';
    default: return 'BYTES';
  }
}
