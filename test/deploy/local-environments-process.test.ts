/**
 * The local target keeps one set of instances and one gateway per environment: deploying a
 * model to staging and to production gives two instances and two gateways on their own ports,
 * each gateway routing to its own environment's instance; removing from one leaves the other
 * serving; `down` stops both.
 */
import { existsSync } from 'node:fs';
import { cp, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findFreePort } from '../../lib/free-port.js';
import { makeLocalTargetDir, type LocalTargetDir } from '../support/local-target-dir.js';

const repo = resolve(import.meta.dirname, '../..');
const NAME = 'match-7-moto-baseline';
const ROUTE = '/probability/7/MOTO/baseline';
const BODY = JSON.stringify({ dataframe_split: { columns: ['route_decision_score', 'farevalueinminor', 'offer_throughput_rate', 'eventtime', 'backtoback'], data: [[0.73, 1250, 0.42, 1767225600, 1]] } });
let local: LocalTargetDir;
let dir: string;
let basePort: number;

function cli(args: readonly string[]): Promise<{ code: number; output: string }> {
  return local.cli(args);
}

interface State { models: Record<string, { port: number }>; gateway?: { port: number } }

async function stateOf(environment: 'staging' | 'production'): Promise<State> {
  const file = environment === 'staging' ? join(dir, '.modelfleet', 'local', 'state.json') : join(dir, '.modelfleet', 'environments', environment, 'local', 'state.json');
  return JSON.parse(await readFile(file, 'utf8')) as State;
}

async function predict(port: number | undefined): Promise<{ status: number; deployName: string | null }> {
  const response = await fetch(`http://127.0.0.1:${port ?? 0}${ROUTE}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: BODY, signal: AbortSignal.timeout(10_000) });
  await response.arrayBuffer();
  return { status: response.status, deployName: response.headers.get('x-modelfleet-deploy-name') };
}

/** The prediction the gateway answers on the model's route. */
async function predictBody(port: number | undefined): Promise<unknown> {
  const response = await fetch(`http://127.0.0.1:${port ?? 0}${ROUTE}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: BODY, signal: AbortSignal.timeout(10_000) });
  expect(response.status).toBe(200);
  return response.json();
}

beforeAll(async () => {
  // Two free ports in a row are likely but not certain; a busy one falls back to any free port, which the test reads from the state.
  basePort = await findFreePort();
  local = await makeLocalTargetDir('modelfleet-local-envs-', basePort);
  dir = local.dir;
  await cp(join(repo, 'models.yaml'), join(dir, 'models.yaml'));
  await cp(join(repo, 'examples'), join(dir, 'examples'), { recursive: true });
});

afterAll(async () => {
  await local?.remove();
});

describe('the local target with the default environments (staging, then production)', () => {
  it('keeps one instance and one gateway per environment, each gateway routing to its own', async () => {
    for (const environment of ['staging', 'production']) {
      const model = await cli(['deploy', '--model', NAME, '--env', environment, '--target', 'local', '--runtime', 'process']);
      expect(model.code, model.output).toBe(0);
      expect(model.output).toContain(`target: this machine, environment ${environment}`);
      const gateway = await cli(['deploy', '--gateway', '--env', environment, '--target', 'local']);
      expect(gateway.code, gateway.output).toBe(0);
    }
    const staging = await stateOf('staging');
    const production = await stateOf('production');
    expect(staging.models[NAME]?.port).toBeGreaterThan(0);
    expect(production.models[NAME]?.port).toBeGreaterThan(0);
    expect(production.models[NAME]?.port).not.toBe(staging.models[NAME]?.port);
    // The first environment's gateway on the configured port, the next one on the port after it (unless that was busy).
    expect(staging.gateway?.port).toBe(basePort);
    expect(production.gateway?.port).not.toBe(staging.gateway?.port);
    for (const state of [staging, production]) expect(await predict(state.gateway?.port)).toEqual({ status: 200, deployName: NAME });
  }, 180_000);

  it('without --env deploys the first environment; an environment models.yaml lacks is refused with a suggestion', async () => {
    const first = await cli(['deploy', '--model', NAME, '--target', 'local', '--runtime', 'process']);
    expect(first.code, first.output).toBe(0);
    expect(first.output).toContain('target: this machine, environment staging');
    expect(first.output).toMatch(new RegExp(`${NAME}: unchanged`));
    const typo = await cli(['deploy', '--model', NAME, '--env', 'prodution', '--target', 'local', '--runtime', 'process']);
    expect(typo.code).not.toBe(0);
    expect(typo.output).toMatch(/error\[UNKNOWN_ENVIRONMENT\]: --env prodution: models\.yaml has no environment "prodution" \(its environments: staging, production\)/);
    expect(typo.output).toMatch(/Did you mean "production"\?/);
    expect(typo.output).not.toMatch(/\n\s+at /);
  }, 120_000);

  it('shows what runs where (`status`) and every deployment of a model (`history`), newest first', async () => {
    const status = await cli(['status']);
    expect(status.code, status.output).toBe(0);
    const lines = status.output.trim().split('\n');
    expect(lines[0]).toMatch(/^ENVIRONMENT\s+MODEL\s+VERSION\s+IMAGE\s+MEMORY LIMIT\s+SERVING\s+DEPLOYED\s+BY$/);
    for (const environment of ['staging', 'production']) {
      const row = lines.find((line) => line.startsWith(`${environment} `) && line.includes(` ${NAME} `));
      expect(row, status.output).toMatch(/ready on 127\.0\.0\.1:\d+/);
      expect(row).toMatch(/local-[0-9a-f]{12}/);
    }
    // Models of models.yaml never deployed here are listed as such.
    expect(lines.filter((line) => line.includes('not deployed')).length).toBeGreaterThan(0);
    const only = await cli(['status', '--env', 'production']);
    expect(only.output.trim().split('\n').slice(1).every((line) => line.startsWith('production '))).toBe(true);

    const history = await cli(['history', '--model', NAME, '--env', 'staging']);
    expect(history.code, history.output).toBe(0);
    const [header, newest, oldest] = history.output.trim().split('\n');
    expect(header).toMatch(/^REV\s+DEPLOYED\s+VERSION\s+IMAGE\s+CONTENT\s+MEMORY LIMIT\s+REPLICAS\s+RESULT\s+COMMIT\s+BY$/);
    expect(newest).toMatch(/^2\s+.*\sunchanged\s/);
    expect(oldest).toMatch(/^1\s+.*\sdeployed\s/);
    const unknown = await cli(['history', '--model', NAME, '--env', 'prodution']);
    expect(unknown.output).toMatch(/error\[UNKNOWN_ENVIRONMENT\]/);
  }, 60_000);

  it('promotes staging\'s deployment to production and rolls production back, building and measuring nothing', async () => {
    const promoted = await cli(['promote', '--model', NAME, '--from', 'staging', '--to', 'production', '--target', 'local']);
    expect(promoted.code, promoted.output).toBe(0);
    expect(promoted.output).toMatch(new RegExp(`${NAME}: promoting staging revision 2 .*; nothing is built or measured`));
    expect(promoted.output).not.toMatch(/modelfleet (build|loadtest)|re-measuring/);
    // Production already ran the same model folder, so nothing had to change; the record says how it got there.
    const history = (await cli(['history', '--model', NAME, '--env', 'production'])).output;
    expect(history).toMatch(/^2\s.*\sunchanged, promoted from staging revision 2\s/m);

    // A new version in production (another model folder), then back to the one before it.
    const yaml = await readFile(join(dir, 'models.yaml'), 'utf8');
    const motoEntry = yaml.indexOf('parameters: [7, MOTO, baseline]');
    const switched = yaml.slice(0, motoEntry) + yaml.slice(motoEntry).replace('examples/models/match-logreg-v1', 'examples/models/match-logreg-v2');
    await writeFile(join(dir, 'models.yaml'), switched);
    const v2 = await cli(['deploy', '--model', NAME, '--env', 'production', '--target', 'local', '--runtime', 'process']);
    expect(v2.code, v2.output).toBe(0);
    const port = (await stateOf('production')).gateway?.port;
    const answerV2 = await predictBody(port);

    const rolledBack = await cli(['rollback', '--model', NAME, '--env', 'production', '--target', 'local']);
    expect(rolledBack.code, rolledBack.output).toBe(0);
    expect(rolledBack.output).toMatch(new RegExp(`${NAME}: rolling production back to revision 2 `));
    const answerV1 = await predictBody(port);
    expect(answerV1).not.toEqual(answerV2);
    expect((await cli(['history', '--model', NAME, '--env', 'production'])).output).toMatch(/^4\s.*\sdeployed, rolled back to revision 2\s/m);

    const unknown = await cli(['rollback', '--model', NAME, '--env', 'production', '--to', '99', '--target', 'local']);
    expect(unknown.code).not.toBe(0);
    expect(unknown.output).toMatch(/error\[ROLLBACK_NO_REVISION\]: .*no revision or version "99" is recorded \(recorded: 1 \(version local-[0-9a-f]{12}\)/);
    await writeFile(join(dir, 'models.yaml'), yaml);
  }, 120_000);

  it('removes a model from one environment only, and `down` stops every environment', async () => {
    const removed = await cli(['deploy', '--remove', NAME, '--env', 'production', '--target', 'local']);
    expect(removed.code, removed.output).toBe(0);
    expect((await stateOf('production')).models[NAME]).toBeUndefined();
    const staging = await stateOf('staging');
    expect(await predict(staging.gateway?.port)).toEqual({ status: 200, deployName: NAME });

    const down = await cli(['down']);
    expect(down.code, down.output).toBe(0);
    // Both gateways and the staging instance.
    expect(down.output.match(/stopped the gateway/g)).toHaveLength(2);
    expect(down.output).toContain(`stopped ${NAME}`);
    expect((await stateOf('staging')).models).toEqual({});
    expect((await stateOf('production')).gateway).toBeUndefined();
    expect(existsSync(join(dir, '.modelfleet', 'environments', 'production', 'local', 'state.json'))).toBe(true);
  }, 120_000);
});
