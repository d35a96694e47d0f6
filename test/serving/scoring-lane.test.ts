import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readMlflowModel } from '../../serving/mlflow/read-mlflow-model.js';
import { buildBadRequestCorpus, type BadRequest } from '../../serving/model-server/bad-request-corpus.js';
import type { ModelServer } from '../../serving/model-server/create-model-server.js';
import { EXAMPLE_NAMES, startExampleServer } from './support/model-server.js';
import { EXAMPLES_DIR } from './support/reference-models.js';

/**
 * Scoring requests on a socket take the scoring lane (node:http, ahead of fastify); `inject()` always
 * goes through fastify's routes. Both must answer every request alike: the same status, body and
 * headers, for good requests and for every kind of bad one.
 */

const LIMITS = { maxRows: 50, maxBodyBytes: 64 * 1024 };
const COMPARED_HEADERS = ['content-type', 'x-model-name', 'x-model-version', 'x-model-digest', 'server', 'allow', 'retry-after', 'connection'] as const;

interface Answer { status: number; body: string; headers: Record<string, string | undefined> }

const servers = new Map<string, { server: ModelServer; url: string; requests: BadRequest[] }>();

beforeAll(async () => {
  for (const name of EXAMPLE_NAMES) {
    const model = await readMlflowModel(join(EXAMPLES_DIR, name));
    const server = await startExampleServer(name, { maxRowsPerRequest: LIMITS.maxRows, maxBodyBytes: LIMITS.maxBodyBytes });
    const url = await server.listen({ port: 0, host: '127.0.0.1' });
    const example = model.inputExample;
    const json = (body: unknown, path = '/invocations'): BadRequest => ({ name: 'good', method: 'POST', path, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), expectStatus: 200 });
    const good: BadRequest[] = model.signature.inputs.kind === 'columns'
      ? [
        json({ dataframe_split: { columns: example?.columns, data: example?.data } }),
        json({ dataframe_records: example?.data.map((row) => Object.fromEntries((example.columns ?? []).map((c, i) => [c, row[i]]))) }),
        json({ inputs: Object.fromEntries((example?.columns ?? []).map((c, i) => [c, example?.data.map((row) => row[i])])) }),
        json({ id: 'r-1', inputs: model.signature.inputs.specs.map((spec) => {
          const i = (example?.columns ?? []).indexOf(spec.name ?? '');
          const datatype = spec.kind === 'column' && spec.type === 'string' ? 'BYTES' : spec.kind === 'column' && spec.type === 'long' ? 'INT64' : 'FP64';
          return { name: spec.name, shape: [1], datatype, data: [example?.data[0]?.[i]] };
        }) }, `/v2/models/${name}/infer`),
      ]
      : [
        json({ inputs: example?.data }),
        json({ instances: example?.data }),
        json({ id: 'r-2', inputs: [{ name: 'features', shape: [1, 64], datatype: 'FP32', data: example?.data[0] }] }, `/v2/models/${name}/infer`),
      ];
    servers.set(name, { server, url, requests: [...good, ...buildBadRequestCorpus(model.signature, { modelName: name, ...LIMITS })] });
  }
});

afterAll(async () => {
  for (const { server } of servers.values()) await server.close();
});

async function overSocket(url: string, r: BadRequest): Promise<Answer> {
  // undici sends exactly the headers given (fetch would add a Content-Type of its own).
  const res = await request(`${url}${r.path}`, { method: r.method, headers: r.headers, body: r.method === 'GET' ? undefined : r.body });
  const headers = Object.fromEntries(COMPARED_HEADERS.map((h) => [h, res.headers[h] as string | undefined]));
  return { status: res.statusCode, body: await res.body.text(), headers };
}

async function injected(server: ModelServer, r: BadRequest): Promise<Answer> {
  const res = await server.app.inject({ method: r.method, url: r.path, headers: r.headers, payload: r.body });
  const headers = Object.fromEntries(COMPARED_HEADERS.map((h) => [h, res.headers[h] as string | undefined]));
  return { status: res.statusCode, body: res.body, headers };
}

describe.each(EXAMPLE_NAMES)('scoring %s on a socket and in-process', (name) => {
  it('gives the same status, body and headers for good requests and every kind of bad one', async () => {
    const entry = servers.get(name);
    if (!entry) throw new Error(`no server for ${name}`);
    for (const r of entry.requests) {
      const socket = await overSocket(entry.url, r);
      const inProcess = await injected(entry.server, r);
      // Whether the connection stays open is what matters: HTTP/1.1 keeps it without a `connection`
      // header (the socket's answers), light-my-request says `keep-alive`; only `close` differs.
      for (const answer of [socket, inProcess]) if (answer.headers.connection === 'keep-alive') answer.headers.connection = undefined;
      expect(socket, `${r.name} ${r.path}`).toEqual(inProcess);
      expect(socket.status, r.name).toBe(r.expectStatus);
    }
  });
});

describe('a large request with one bad value', () => {
  it('names the row and column of the one bad value among 1,000 rows, on a socket and in-process', async () => {
    const server = await startExampleServer('match-logreg-v2');
    const url = await server.listen({ port: 0, host: '127.0.0.1' });
    try {
      const columns = ['route_decision_score', 'farevalueinminor', 'offer_throughput_rate', 'eventtime', 'backtoback'];
      const data: unknown[][] = Array.from({ length: 1000 }, (_, r) => [0.5 + r / 10_000, 1250 + r, 0.42, 1_767_225_600 + r, r % 2]);
      (data[637] as unknown[])[2] = '0.42';
      const bad: BadRequest = { name: 'one-bad-value', method: 'POST', path: '/invocations', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ dataframe_split: { columns, data } }), expectStatus: 400 };
      for (const answer of [await overSocket(url, bad), await injected(server, bad)]) {
        expect(answer.status).toBe(400);
        const body = JSON.parse(answer.body) as { error: string; message: string; problems: { reason: string; row?: number; column?: string; message: string }[]; problemCount: number };
        expect(body.problemCount).toBe(1);
        expect(body.problems).toEqual([{
          reason: 'wrong_type', row: 637, column: 'offer_throughput_rate',
          message: 'row 637: "offer_throughput_rate" (double) needs a number, got the string "0.42"',
        }]);
        expect(body.message).toBe(body.problems[0]?.message);
      }
      // The same rows without the bad value are scored, all 1,000 of them.
      (data[637] as unknown[])[2] = 0.42;
      const good = await overSocket(url, { ...bad, body: JSON.stringify({ dataframe_split: { columns, data } }) });
      expect(good.status).toBe(200);
      expect((JSON.parse(good.body) as { predictions: number[] }).predictions).toHaveLength(1000);
    } finally {
      await server.close();
    }
  });
});
