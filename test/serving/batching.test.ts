import { connect } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readMlflowModel } from '../../serving/mlflow/read-mlflow-model.js';
import { AdaptiveBatcher, LatencyModel } from '../../serving/model-server/adaptive-batcher.js';
import { createModelServer } from '../../serving/model-server/create-model-server.js';
import type { RowBatch } from '../../serving/model-server/row-batch.js';
import { fakeRuntime } from './support/fake-runtime.js';
import { settings, startExampleServer } from './support/model-server.js';
import { EXAMPLES_DIR } from './support/reference-models.js';

const CONCURRENT = 24;

/**
 * Resolves after `n` turns of the event loop (each setImmediate runs in the next check phase).
 * The batcher holds batches for event-loop turns, never on a timer, so "at once" is measured in
 * turns here: the same on an idle machine and a busy one.
 */
async function turns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** 'answered' when `promise` settles within `n` event-loop turns, else 'still waiting'. */
function withinTurns(promise: Promise<unknown>, n: number): Promise<'answered' | 'still waiting'> {
  return Promise.race([promise.then(() => 'answered' as const), turns(n).then(() => 'still waiting' as const)]);
}

function histogram(text: string, name: string): { count: number; sum: number } {
  const count = Number(new RegExp(`${name}_count\\{[^}]*\\} (\\d+)`).exec(text)?.[1] ?? NaN);
  const sum = Number(new RegExp(`${name}_sum\\{[^}]*\\} ([\\d.e+-]+)`).exec(text)?.[1] ?? NaN);
  return { count, sum };
}

async function fireConcurrent(batchingEnabled: boolean) {
  const server = await startExampleServer('match-mlp', { batching: { enabled: batchingEnabled, maxBatchSize: 256, maxWaitMs: 5 } });
  const row = Array.from({ length: 64 }, (_, i) => i / 64);
  const answers = await Promise.all(Array.from({ length: CONCURRENT }, (_, k) => server.app.inject({
    method: 'POST', url: '/invocations', headers: { 'content-type': 'application/json' },
    payload: JSON.stringify({ inputs: [row.map((v) => v * (k + 1))] }),
  })));
  const metrics = (await server.app.inject({ method: 'GET', url: '/metrics' })).body;
  await server.close();
  return { answers, requests: histogram(metrics, 'modelfleet_batch_size_requests'), rows: histogram(metrics, 'modelfleet_batch_size_rows') };
}

describe('adaptive batching', () => {
  it('merges concurrent requests into fewer inference calls and gives each request its own rows back', async () => {
    const merged = await fireConcurrent(true);
    expect(merged.answers.every((a) => a.statusCode === 200)).toBe(true);
    expect(merged.requests.sum).toBe(CONCURRENT);
    expect(merged.requests.count).toBeLessThan(CONCURRENT);
    const alone = await fireConcurrent(false);
    expect(alone.requests.count).toBe(CONCURRENT);
    // Same inputs, same answers, merged or not.
    expect(merged.answers.map((a) => a.json())).toEqual(alone.answers.map((a) => a.json()));
  });

  it.each(['match-logreg-v1', 'match-logreg-v2', 'match-trees'])('gives %s the same answers merged as alone, for requests of different sizes', async (name) => {
    const model = await readMlflowModel(join(EXAMPLES_DIR, name));
    const example = model.inputExample;
    if (!example) throw new Error('no input example');
    const bodies = Array.from({ length: 12 }, (_, k) => JSON.stringify({ dataframe_split: {
      columns: example.columns,
      data: Array.from({ length: (k % 3) + 1 }, (_, r) => example.data[(k + r) % example.data.length]?.map((v) => (typeof v === 'number' ? v + k + r : v))),
    } }));
    const answers = async (enabled: boolean) => {
      const server = await startExampleServer(name, { batching: { enabled, maxBatchSize: 256, maxWaitMs: 5 } });
      const res = await Promise.all(bodies.map((payload) => server.app.inject({ method: 'POST', url: '/invocations', headers: { 'content-type': 'application/json' }, payload })));
      const batches = histogram((await server.app.inject({ method: 'GET', url: '/metrics' })).body, 'modelfleet_batch_size_requests');
      await server.close();
      return { bodies: res.map((r) => r.json()), batches };
    };
    const merged = await answers(true);
    const alone = await answers(false);
    expect(merged.bodies.every((b) => Array.isArray((b as { predictions?: unknown }).predictions))).toBe(true);
    expect(merged.batches.count).toBeLessThan(bodies.length);
    // Same values up to rounding: onnxruntime's kernels may sum in another order for another batch size.
    const flat = (bodies: unknown[]) => bodies.flatMap((b) => (b as { predictions: number[] }).predictions);
    const got = flat(merged.bodies);
    const want = flat(alone.bodies);
    expect(got).toHaveLength(want.length);
    got.forEach((p, i) => expect(Math.abs(p - (want[i] ?? NaN))).toBeLessThan(1e-9));
  });

  it('never puts more than maxBatchSize rows in one call and never splits a request', async () => {
    const runtime = fakeRuntime({ delayMs: 2 });
    const batcher = new AdaptiveBatcher((parts) => runtime.run(parts), { enabled: true, maxBatchSize: 10, maxWaitMs: 5 });
    const batchOf = (rows: number): RowBatch => ({ rows, inputs: [{ name: 'x', width: 1, rowShape: [], values: { kind: 'number', data: new Float64Array(rows) } }] });
    const sizes = [3, 3, 3, 3, 3, 15, 3, 1];
    const slices = await Promise.all(sizes.map((n) => batcher.submit(batchOf(n))));
    expect(slices.map((s) => s.rows)).toEqual(sizes);
    expect(runtime.batches.reduce((a, b) => a + b, 0)).toBe(sizes.reduce((a, b) => a + b, 0));
    for (const rows of runtime.batches) expect(rows === 15 || rows <= 10, `batch of ${rows}`).toBe(true);
    expect(runtime.batches).toContain(15);
  });

  it('dispatches a lone request at once instead of waiting for maxWaitMs', async () => {
    const runtime = fakeRuntime();
    const batcher = new AdaptiveBatcher((parts) => runtime.run(parts), { enabled: true, maxBatchSize: 64, maxWaitMs: 5_000 });
    expect(await withinTurns(batcher.submit({ rows: 1, inputs: [] }), 5)).toBe('answered');
    expect(runtime.batches).toEqual([1]);
  });

  it('holds a batch for a request still being read for a couple of loop turns at most, not for maxWaitMs', async () => {
    const runtime = fakeRuntime();
    // A minute of maxWaitMs: a hold measured on the clock would outlast the test.
    const batcher = new AdaptiveBatcher((parts) => runtime.run(parts), { enabled: true, maxBatchSize: 64, maxWaitMs: 60_000 });
    batcher.intakeStarted(); // a request whose headers arrived and whose body never completes
    expect(await withinTurns(batcher.submit({ rows: 1, inputs: [] }), 10)).toBe('answered');
    expect(runtime.batches).toEqual([1]);
  });

  it('does not hold other requests back for a client that stalls mid-body', async () => {
    const model = await readMlflowModel(join(EXAMPLES_DIR, 'match-logreg-v1'));
    // Far longer than the test may take: the answer below cannot come from maxWaitMs running out.
    const maxWaitMs = 10 * 60_000;
    const server = createModelServer({ model, config: settings('match-logreg-v1', { batching: { enabled: true, maxBatchSize: 64, maxWaitMs } }) });
    await server.warmUp(fakeRuntime());
    const url = await server.listen({ port: 0, host: '127.0.0.1' });
    const { port } = new URL(url);
    // A client that sends its headers and half its body, then stalls.
    const slow = connect(Number(port), '127.0.0.1');
    await new Promise<void>((resolve) => slow.once('connect', () => resolve()));
    slow.write('POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 400\r\n\r\n{"inputs": ');
    await new Promise((r) => setTimeout(r, 50));
    const body = JSON.stringify({ dataframe_split: { columns: ['route_decision_score', 'farevalueinminor', 'offer_throughput_rate', 'eventtime', 'backtoback'], data: [[1, 2, 3, 4, 5]] } });
    const res = await fetch(`${url}/invocations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    expect(res.status).toBe(200);
    // Answered while the stalled client is still connected with half a body.
    expect(slow.destroyed).toBe(false);
    slow.destroy();
    await server.close();
  });
});

describe('the latency model', () => {
  it('fits latency = a + b·rows from recent batches', () => {
    const model = new LatencyModel();
    for (const rows of [1, 2, 4, 8, 16, 32]) model.record(rows, 0.2 + 0.01 * rows);
    expect(model.predict(100)).toBeCloseTo(1.2, 6);
    expect(model.predict(1)).toBeCloseTo(0.21, 6);
  });
});
