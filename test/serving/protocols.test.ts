import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelServer } from '../../serving/model-server/create-model-server.js';
import { decodeExample, logisticRegression, multilayerPerceptron, treeEnsemble, type TreeRow } from './support/reference-models.js';
import { startExampleServer } from './support/model-server.js';

const MATCH = ['route_decision_score', 'farevalueinminor', 'offer_throughput_rate', 'eventtime', 'backtoback'] as const;
const MATCH_ROWS: number[][] = [
  [0.73, 1250, 0.42, 1_767_225_600, 1],
  [0.18, 3900, 0.91, 1_767_229_200, 0],
  [0, 0, 0, 0, 0],
  [-1.5, 10, 5, 1_600_000_000, 3],
];
const TREE_ROWS: TreeRow[] = [
  { vehicle_type: 'TAXI', route_decision_score: 0.73, farevalueinminor: 1250, backtoback: 1 },
  { vehicle_type: 'XL', route_decision_score: 0.18, farevalueinminor: null, backtoback: 0 },
  { vehicle_type: 'BIKE', route_decision_score: 0.95, farevalueinminor: 4800, backtoback: 4 },
  { vehicle_type: 'SCOOTER', route_decision_score: 0.5, farevalueinminor: 20, backtoback: 2 },
  { vehicle_type: 'COMFORT', route_decision_score: 0.05, farevalueinminor: 2500.5, backtoback: 3 },
];
const TREE_COLUMNS = ['vehicle_type', 'route_decision_score', 'farevalueinminor', 'backtoback'] as const;
const MLP_ROWS: number[][] = Array.from({ length: 3 }, (_, r) => Array.from({ length: 64 }, (_, i) => Math.round(Math.sin(r * 64 + i) * 1000) / 1000));

interface Case {
  readonly name: string;
  readonly expected: number[];
  readonly tolerance: number;
  readonly requests: readonly { readonly format: string; readonly path?: string; readonly contentType: string; readonly body: string }[];
}

const json = (format: string, body: unknown) => ({ format, contentType: 'application/json', body: JSON.stringify(body) });
const csvOf = (columns: readonly string[], rows: readonly (readonly unknown[])[]) =>
  [columns.join(','), ...rows.map((r) => r.map((v) => (v === null ? '' : String(v))).join(','))].join('\n');

function columnRequests(columns: readonly string[], rows: readonly (readonly unknown[])[], v2Types: readonly string[], modelName: string): Case['requests'] {
  const records = rows.map((r) => Object.fromEntries(columns.map((c, i) => [c, r[i]])));
  return [
    json('dataframe_split', { dataframe_split: { columns, data: rows } }),
    json('dataframe_split (columns reordered)', { dataframe_split: { columns: [...columns].reverse(), data: rows.map((r) => [...r].reverse()) } }),
    json('dataframe_records', { dataframe_records: records }),
    json('instances', { instances: records }),
    json('inputs (columnar)', { inputs: Object.fromEntries(columns.map((c, i) => [c, rows.map((r) => r[i])])) }),
    { format: 'csv', contentType: 'text/csv', body: csvOf(columns, rows) },
    {
      ...json('v2', { id: 'req-1', inputs: columns.map((c, i) => ({ name: c, shape: [rows.length, 1], datatype: v2Types[i], data: rows.map((r) => r[i]) })) }),
      path: `/v2/models/${modelName}/infer`,
    },
  ];
}

let cases: Case[] = [];
const servers = new Map<string, ModelServer>();

beforeAll(async () => {
  const v1 = logisticRegression(await decodeExample('match-logreg-v1'));
  const v2 = logisticRegression(await decodeExample('match-logreg-v2'));
  const trees = treeEnsemble(await decodeExample('match-trees'));
  const mlp = multilayerPerceptron(await decodeExample('match-mlp'));
  const treeTable = TREE_ROWS.map((r) => TREE_COLUMNS.map((c) => r[c]));
  cases = [
    { name: 'match-logreg-v1', expected: MATCH_ROWS.map(v1), tolerance: 1e-12, requests: columnRequests(MATCH, MATCH_ROWS, MATCH.map(() => 'FP64'), 'match-logreg-v1') },
    { name: 'match-logreg-v2', expected: MATCH_ROWS.map(v2), tolerance: 1e-12, requests: columnRequests(MATCH, MATCH_ROWS, MATCH.map(() => 'FP64'), 'match-logreg-v2') },
    { name: 'match-trees', expected: TREE_ROWS.map(trees), tolerance: 1e-6, requests: columnRequests(TREE_COLUMNS, treeTable, ['BYTES', 'FP64', 'FP64', 'INT64'], 'match-trees') },
    {
      name: 'match-mlp', expected: MLP_ROWS.map(mlp), tolerance: 1e-5,
      requests: [
        json('inputs (list)', { inputs: MLP_ROWS }),
        json('inputs (named)', { inputs: { features: MLP_ROWS } }),
        json('instances', { instances: MLP_ROWS }),
        json('dataframe_split', { dataframe_split: { columns: MLP_ROWS[0]?.map((_, i) => `f${i}`), data: MLP_ROWS } }),
        { format: 'csv', contentType: 'text/csv', body: csvOf(MLP_ROWS[0]?.map((_, i) => `f${i}`) ?? [], MLP_ROWS) },
        { ...json('v2', { inputs: [{ name: 'features', shape: [MLP_ROWS.length, 64], datatype: 'FP32', data: MLP_ROWS.flat() }] }), path: '/v2/models/match-mlp/infer' },
        { ...json('v2 (nested data)', { inputs: [{ name: 'features', shape: [MLP_ROWS.length, 64], datatype: 'FP32', data: MLP_ROWS }] }), path: '/v2/models/match-mlp/infer' },
      ],
    },
  ];
  for (const c of cases) servers.set(c.name, await startExampleServer(c.name));
});

afterAll(async () => {
  for (const s of servers.values()) await s.close();
});

function predictionsOf(path: string, body: Record<string, unknown>): number[] {
  if (path === '/invocations') return body.predictions as number[];
  const [output] = body.outputs as { data: number[]; shape: number[]; name: string }[];
  return output?.data ?? [];
}

describe.each(['match-logreg-v1', 'match-logreg-v2', 'match-trees', 'match-mlp'])('%s', (name) => {
  it('answers every scoring format with the independently computed probabilities', async () => {
    const c = cases.find((x) => x.name === name);
    const server = servers.get(name);
    if (!c || !server) throw new Error(`no case for ${name}`);
    for (const req of c.requests) {
      const path = req.path ?? '/invocations';
      const res = await server.app.inject({ method: 'POST', url: path, headers: { 'content-type': req.contentType }, payload: req.body });
      expect(res.statusCode, `${req.format}: ${res.body}`).toBe(200);
      expect(res.headers['x-model-name']).toBe(name);
      expect(res.headers['x-model-version']).toBe(server.modelVersion);
      expect(res.headers['x-model-digest']).toMatch(/^sha256:[0-9a-f]{64}$/);
      const got = predictionsOf(path, res.json());
      expect(got, req.format).toHaveLength(c.expected.length);
      got.forEach((p, i) => expect(Math.abs(p - (c.expected[i] ?? NaN)), `${req.format} row ${i}: ${p} vs ${c.expected[i]}`).toBeLessThanOrEqual(c.tolerance));
    }
  });

  it('answers the MLflow and v2 metadata and health endpoints', async () => {
    const server = servers.get(name);
    if (!server) throw new Error(`no server for ${name}`);
    for (const url of ['/ping', '/health', '/healthz', '/readyz', '/v2/health/live', '/v2/health/ready', `/v2/models/${name}/ready`]) {
      const res = await server.app.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(200);
      expect(res.headers['x-model-name'], url).toBe(name);
    }
    const version = (await server.app.inject({ method: 'GET', url: '/version' })).json();
    expect(version).toMatchObject({ model: name, version: server.modelVersion, digest: expect.stringMatching(/^sha256:/) });
    const meta = (await server.app.inject({ method: 'GET', url: `/v2/models/${name}` })).json();
    expect(meta).toMatchObject({ name, versions: [server.modelVersion], platform: 'onnxruntime_onnx' });
    expect(meta.outputs).toEqual([{ name: 'probability', datatype: expect.stringMatching(/^FP(32|64)$/), shape: [-1, 1] }]);
  });
});

describe('v2 responses', () => {
  it('echo the request id and name the model and version', async () => {
    const server = servers.get('match-logreg-v1');
    if (!server) throw new Error('no server');
    const res = await server.app.inject({
      method: 'POST', url: '/v2/models/match-logreg-v1/infer', headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ id: 'abc', inputs: MATCH.map((c, i) => ({ name: c, shape: [1], datatype: 'FP64', data: [MATCH_ROWS[0]?.[i]] })) }),
    });
    expect(res.json()).toMatchObject({ id: 'abc', model_name: 'match-logreg-v1', model_version: server.modelVersion, outputs: [{ name: 'probability', datatype: 'FP64', shape: [1, 1] }] });
  });
});

describe('/metrics', () => {
  it('counts requests and rows and exposes latency and batch-size histograms', async () => {
    const server = servers.get('match-logreg-v2');
    if (!server) throw new Error('no server');
    await server.app.inject({ method: 'POST', url: '/invocations', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ dataframe_split: { columns: MATCH, data: MATCH_ROWS } }) });
    await server.app.inject({ method: 'POST', url: '/invocations', headers: { 'content-type': 'application/json' }, payload: '{' });
    const res = await server.app.inject({ method: 'GET', url: '/metrics' });
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    const text = res.body;
    expect(text).toMatch(/modelfleet_requests_total\{route="invocations",code="200",model="match-logreg-v2",version="[0-9a-f]{12}"\} [1-9]/);
    expect(text).toMatch(/modelfleet_rows_total\{[^}]*\} [1-9]/);
    expect(text).toMatch(/modelfleet_request_duration_seconds_bucket\{le="0.001"[^}]*route="invocations"/);
    expect(text).toMatch(/modelfleet_batch_size_rows_count\{[^}]*\} [1-9]/);
    expect(text).toMatch(/modelfleet_request_errors_total\{reason="malformed_json"[^}]*\} 1/);
    expect(text).toMatch(/modelfleet_model_ready\{[^}]*\} 1/);
  });
});
