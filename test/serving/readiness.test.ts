import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readMlflowModel } from '../../serving/mlflow/read-mlflow-model.js';
import { createModelServer } from '../../serving/model-server/create-model-server.js';
import { fakeRuntime } from './support/fake-runtime.js';
import { settings } from './support/model-server.js';
import { EXAMPLES_DIR } from './support/reference-models.js';

const READINESS = ['/readyz', '/ping', '/health', '/v2/health/ready', '/v2/models/match-logreg-v1/ready'];

describe('readiness', () => {
  it('flips to ready only after the warm-up inference answered', async () => {
    const model = await readMlflowModel(join(EXAMPLES_DIR, 'match-logreg-v1'));
    const server = createModelServer({ model, config: settings('match-logreg-v1') });
    const status = async (url: string) => (await server.app.inject({ method: 'GET', url })).statusCode;
    for (const url of READINESS) expect(await status(url), url).toBe(503);
    expect(await status('/healthz')).toBe(200);
    expect(await status('/v2/health/live')).toBe(200);
    const scoring = await server.app.inject({ method: 'POST', url: '/invocations', headers: { 'content-type': 'application/json' }, payload: '{"inputs": {}}' });
    expect(scoring.statusCode).toBe(503);
    expect(scoring.json()).toMatchObject({ error: 'not_ready' });

    let open: () => void = () => {};
    const gate = new Promise<void>((resolve) => { open = resolve; });
    const runtime = fakeRuntime({ gate });
    const warming = server.warmUp(runtime);
    await new Promise((r) => setTimeout(r, 20));
    for (const url of READINESS) expect(await status(url), `${url} while warming up`).toBe(503);
    expect(server.ready).toBe(false);

    open();
    await warming;
    expect(runtime.batches).toEqual([1]);
    for (const url of READINESS) expect(await status(url), `${url} after warm-up`).toBe(200);
    await server.close();
  });

  it('stays not ready when the warm-up inference fails', async () => {
    const model = await readMlflowModel(join(EXAMPLES_DIR, 'match-trees'));
    const server = createModelServer({ model, config: settings('match-trees') });
    const broken = { ...fakeRuntime(), run: () => Promise.reject(new Error('kernel missing')) };
    await expect(server.warmUp(broken)).rejects.toThrow('kernel missing');
    expect((await server.app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(503);
    await server.close();
  });

  it('warms up with the model\'s input example', async () => {
    const model = await readMlflowModel(join(EXAMPLES_DIR, 'match-mlp'));
    const server = createModelServer({ model, config: settings('match-mlp') });
    const seen: number[][] = [];
    const runtime = fakeRuntime();
    await server.warmUp({ ...runtime, run: (parts) => { seen.push(Array.from(parts[0]?.inputs?.[0]?.values.data as Float64Array)); return runtime.run(parts); } });
    expect(seen[0]).toEqual(model.inputExample?.data[0]);
    await server.close();
  });

  it('turns not ready and asks clients to close their connections once draining starts', async () => {
    const model = await readMlflowModel(join(EXAMPLES_DIR, 'match-logreg-v2'));
    const server = createModelServer({ model, config: settings('match-logreg-v2') });
    await server.warmUp(fakeRuntime());
    server.beginDrain();
    const res = await server.app.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(503);
    expect(res.headers.connection).toBe('close');
    await server.close();
  });
});
