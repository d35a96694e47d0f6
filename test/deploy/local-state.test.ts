import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readLocalState, stateFile, updateLocalState, withModel, withoutModel, type LocalModelInstance } from '../../pipeline/local-target/local-state.js';

let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'modelfleet-local-state-'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

function instance(deployName: string, port: number): LocalModelInstance {
  return { deployName, port, runtime: 'process', pid: 1, serves: '/models/x', hash: 'h', startedAt: '2026-01-01T00:00:00.000Z' };
}

describe('local state', () => {
  it('keeps every update when deploy jobs write it side by side', async () => {
    await Promise.all(Array.from({ length: 12 }, (_, i) => updateLocalState(async (state) => {
      await new Promise((r) => setTimeout(r, Math.random() * 10));
      return withModel(state, instance(`model-${i}`, 20_000 + i));
    }, root)));
    const state = await readLocalState(root);
    expect(Object.keys(state.models).sort()).toEqual(Array.from({ length: 12 }, (_, i) => `model-${i}`).sort());
  });

  it('removes one model and leaves the others', async () => {
    await updateLocalState((state) => withoutModel(state, 'model-3'), root);
    const state = await readLocalState(root);
    expect(state.models['model-3']).toBeUndefined();
    expect(Object.keys(state.models)).toHaveLength(11);
  });

  it('starts over from an empty state when the file is torn, instead of failing every deploy', async () => {
    await writeFile(stateFile(root), '{"format": 1, "models": {');
    expect(await readLocalState(root)).toEqual({ format: 1, models: {} });
    await updateLocalState((state) => withModel(state, instance('fresh', 30_000)), root);
    expect(JSON.parse(await readFile(stateFile(root), 'utf8'))).toMatchObject({ models: { fresh: { port: 30_000 } } });
  });
});
