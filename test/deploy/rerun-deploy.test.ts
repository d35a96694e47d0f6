import { existsSync } from 'node:fs';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runModelfleet } from '../support/run-cli.js';

const repo = resolve(import.meta.dirname, '../..');
const NAME = 'match-7-moto-baseline';
let dir: string;
let env: NodeJS.ProcessEnv;

function cli(args: readonly string[]): Promise<{ code: number; output: string }> {
  return runModelfleet(args, { cwd: dir, env });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'modelfleet-rerun-'));
  await cp(join(repo, 'models.yaml'), join(dir, 'models.yaml'));
  await cp(join(repo, 'examples'), join(dir, 'examples'), { recursive: true });
  env = { ...process.env, MODELFLEET_STATE_DIR: join(dir, '.modelfleet'), MODELFLEET_GATEWAY_PORT: '0', ORT_DISABLE_TELEMETRY: '1' };
});

/** The deploy job's command, as `<model>:deploy:<env>` runs it with the local target (without --env: the first environment). */
const deployModel = () => cli(['deploy', '--model', NAME, '--target', 'local', '--runtime', 'process']);

/** Deploys the model (or finds it deployed) and returns the port it serves on. */
async function deployed(): Promise<number> {
  const result = await deployModel();
  expect(result.code, result.output).toBe(0);
  const state = JSON.parse(await readFile(join(dir, '.modelfleet', 'local', 'state.json'), 'utf8')) as { models: Record<string, { port: number }> };
  const port = state.models[NAME]?.port;
  expect(port).toBeGreaterThan(0);
  return port ?? 0;
}

afterAll(async () => {
  await cli(['down']);
  await rm(dir, { recursive: true, force: true });
});

describe('re-running one deploy job alone', () => {
  it('works with no build output at all: it regenerates the model folder and deploys', async () => {
    // As after every artifact expired: no build/ folder.
    await rm(join(dir, 'build'), { recursive: true, force: true });
    const first = await deployModel();

    expect(first.code, first.output).toBe(0);
    expect(first.output).toMatch(/model\.json is missing; regenerating the folder from models\.yaml/);
    expect(existsSync(join(dir, 'build', 'models', NAME, 'model.json'))).toBe(true);
    const state = JSON.parse(await readFile(join(dir, '.modelfleet', 'local', 'state.json'), 'utf8')) as { models: Record<string, { port: number }> };
    const port = state.models[NAME]?.port;
    expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
  }, 120_000);

  it('is a no-op when re-run again after the artifacts were deleted once more', async () => {
    await deployed();
    await rm(join(dir, 'build'), { recursive: true, force: true });
    const again = await deployModel();

    expect(again.code, again.output).toBe(0);
    expect(again.output).toMatch(new RegExp(`${NAME}: unchanged`));
  }, 120_000);

  it('stops a model that left models.yaml once the gateway is deployed without it', async () => {
    const port = await deployed();
    const fleet = await readFile(join(dir, 'models.yaml'), 'utf8');
    // Drop the model's entry (its block runs up to the next `  - name:`).
    const without = fleet.replace(/\n {2}- name: match-7-moto-baseline\n(?: {4}.*\n)+/, '\n');
    expect(without).not.toContain(NAME);
    await writeFile(join(dir, 'models.yaml'), without);

    try {
      const result = await cli(['deploy', '--gateway', '--target', 'local']);
      expect(result.code, result.output).toBe(0);
      expect(result.output).toMatch(new RegExp(`${NAME}: no longer in models\\.yaml`));
      const after = JSON.parse(await readFile(join(dir, '.modelfleet', 'local', 'state.json'), 'utf8')) as { models: Record<string, unknown> };
      expect(after.models[NAME]).toBeUndefined();
      await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
    } finally {
      // The other tests deploy this model: give them the fleet back even when this one fails.
      await writeFile(join(dir, 'models.yaml'), fleet);
    }
  }, 120_000);

  it('fails naming the model when it is not in models.yaml', async () => {
    const unknown = await cli(['deploy', '--model', 'match-99-nothing', '--target', 'local', '--runtime', 'process']);
    expect(unknown.code).toBe(1);
    expect(unknown.output).toMatch(/^error\[UNKNOWN_MODEL\]: .*match-99-nothing/m);
    expect(unknown.output).not.toMatch(/\n\s+at /);
  }, 60_000);
});
