import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readMlflowModel } from '../../serving/mlflow/read-mlflow-model.js';
import { buildBadRequestCorpus, type BadRequest } from '../../serving/model-server/bad-request-corpus.js';
import type { ModelServer } from '../../serving/model-server/create-model-server.js';
import { EXAMPLES_DIR } from './support/reference-models.js';
import { EXAMPLE_NAMES, startExampleServer } from './support/model-server.js';

const LIMITS = { maxRows: 50, maxBodyBytes: 64 * 1024 };
const servers = new Map<string, { server: ModelServer; corpus: BadRequest[]; good: string }>();

beforeAll(async () => {
  for (const name of EXAMPLE_NAMES) {
    const model = await readMlflowModel(join(EXAMPLES_DIR, name));
    const server = await startExampleServer(name, { maxRowsPerRequest: LIMITS.maxRows, maxBodyBytes: LIMITS.maxBodyBytes });
    const example = model.inputExample;
    const good = model.signature.inputs.kind === 'columns'
      ? JSON.stringify({ dataframe_split: { columns: example?.columns, data: example?.data } })
      : JSON.stringify({ inputs: example?.data });
    servers.set(name, { server, corpus: buildBadRequestCorpus(model.signature, { modelName: name, ...LIMITS }), good });
  }
});

afterAll(async () => {
  for (const { server } of servers.values()) await server.close();
});

describe.each(EXAMPLE_NAMES)('bad requests to %s', (name) => {
  it('come in at least 30 distinct kinds', () => {
    const corpus = servers.get(name)?.corpus ?? [];
    expect(corpus.length).toBeGreaterThanOrEqual(30);
    expect(new Set(corpus.map((c) => c.name)).size).toBe(corpus.length);
  });

  it('each get the expected 4xx with a JSON list of reasons, and the model keeps answering', async () => {
    const entry = servers.get(name);
    if (!entry) throw new Error(`no server for ${name}`);
    const { server, corpus, good } = entry;
    for (const bad of corpus) {
      const res = await server.app.inject({ method: bad.method, url: bad.path, headers: bad.headers, payload: bad.body });
      expect(res.statusCode, `${bad.name}: ${res.body.slice(0, 300)}`).toBe(bad.expectStatus);
      expect(res.statusCode, bad.name).toBeLessThan(500);
      expect(res.headers['content-type'], bad.name).toMatch(/^application\/json/);
      expect(res.headers['x-model-name'], bad.name).toBe(name);
      const body = res.json() as { error: string; message: string; problems: { reason: string; message: string }[]; problemCount: number };
      expect(body.problems.length, bad.name).toBeGreaterThan(0);
      expect(body.problemCount, bad.name).toBeGreaterThanOrEqual(body.problems.length);
      for (const p of body.problems) {
        expect(p.reason, bad.name).toMatch(/^[a-z_]+$/);
        expect(p.message.length, bad.name).toBeGreaterThan(10);
      }
      expect(body.error).toBe(body.problems[0]?.reason);
    }
    const ok = await server.app.inject({ method: 'POST', url: '/invocations', headers: { 'content-type': 'application/json' }, payload: good });
    expect(ok.statusCode, ok.body).toBe(200);
  });
});

describe('problem lists', () => {
  it('name the row and column of every bad cell, not only the first', async () => {
    const server = servers.get('match-trees')?.server;
    if (!server) throw new Error('no server');
    const res = await server.app.inject({
      method: 'POST', url: '/invocations', headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ dataframe_split: {
        columns: ['vehicle_type', 'route_decision_score', 'farevalueinminor', 'backtoback'],
        data: [['TAXI', 0.5, 10, 1], [7, 0.5, 10, 1], ['XL', 'NaN', null, 2.5]],
      } }),
    });
    expect(res.statusCode).toBe(400);
    const problems = (res.json() as { problems: { reason: string; row?: number; column?: string }[] }).problems
      .map(({ reason, row, column }) => ({ reason, row, column }));
    expect(problems).toEqual([
      { reason: 'wrong_type', row: 1, column: 'vehicle_type' },
      { reason: 'non_finite', row: 2, column: 'route_decision_score' },
      { reason: 'not_integer', row: 2, column: 'backtoback' },
    ]);
  });

  it('accept a missing optional column and a null in it', async () => {
    const server = servers.get('match-trees')?.server;
    if (!server) throw new Error('no server');
    const res = await server.app.inject({
      method: 'POST', url: '/invocations', headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ dataframe_records: [{ vehicle_type: 'TAXI', route_decision_score: 0.5, backtoback: 1 }, { vehicle_type: 'XL', route_decision_score: 0.5, backtoback: 1, farevalueinminor: null }] }),
    });
    expect(res.statusCode, res.body).toBe(200);
    expect((res.json() as { predictions: number[] }).predictions).toHaveLength(2);
  });

  it('are counted by reason in /metrics', async () => {
    const server = servers.get('match-logreg-v1')?.server;
    if (!server) throw new Error('no server');
    const text = (await server.app.inject({ method: 'GET', url: '/metrics' })).body;
    for (const reason of ['unsupported_media_type', 'body_too_large', 'malformed_json', 'missing_column', 'too_many_rows', 'unknown_model']) {
      expect(text, reason).toMatch(new RegExp(`modelfleet_request_errors_total\\{reason="${reason}"[^}]*\\} [1-9]`));
    }
  });
});
