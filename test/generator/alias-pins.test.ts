/**
 * `generate` resolves every MLflow alias the jobs read once, against the registry, and writes the
 * version on exactly the jobs that read it (MODELFLEET_MLFLOW_VERSIONS), so a job re-run later
 * serves what the pipeline first served. A fleet without aliases asks the registry nothing.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runGenerate } from '../../generator/run-generate.js';
import { UserError } from '../../lib/errors/user-error.js';
import { createMlflowRegistryClient } from '../../pipeline/mlflow-registry/mlflow-registry-client.js';
import { PINNED_VERSIONS_VARIABLE } from '../../pipeline/mlflow-registry/pinned-aliases.js';
import { EXAMPLE_MODELS } from '../build/make-test-fleet.js';
import { startFakeMlflowRegistry, type FakeMlflowRegistry } from '../support/fake-mlflow-registry.js';
import { ALIAS_FLEET, ENVIRONMENTS, childPipeline, jobNames, useTempDir, variableOnJobs, type CiJob } from './support/generator-fixtures.js';

const NO_ALIAS_FLEET = `defaults:
  endpoint: probability
${ENVIRONMENTS}
models:
  - name: match-7-moto
    parameters: [7, MOTO]
    mlflow: { name: match_moto, version: 1 }
    environments:
      production: { version: 2 }
  - name: match-9-van
    parameters: [9, VAN]
    path: models/van
`;

describe('MLflow aliases pinned by generate', () => {
  const tempDir = useTempDir('modelfleet-pins-');
  let registry: FakeMlflowRegistry;
  const v1 = { dir: path.join(EXAMPLE_MODELS, 'match-logreg-v1') };
  const v2 = { dir: path.join(EXAMPLE_MODELS, 'match-logreg-v2') };

  beforeAll(async () => {
    registry = await startFakeMlflowRegistry({
      models: {
        match_taxi: { versions: { '3': v1, '4': v2 }, aliases: { champion: '4' } },
        match_moto: { versions: { '1': v1, '7': v2 }, aliases: { champion: '7' } },
        match_van: { versions: { '2': v1 } },
      },
    });
  });
  afterAll(async () => {
    await registry?.close();
  });

  const fleetDir = (text: string): string => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'models.yaml'), text);
    return dir;
  };
  const generate = (dir: string, env: Record<string, string>, extra: { maxJobs?: number; mlflowVersions?: string } = {}) =>
    runGenerate({ file: 'models.yaml', out: 'build', all: true, cwd: dir, env, ...extra });
  const pinsOn = (pipeline: Record<string, CiJob>) => variableOnJobs(pipeline, PINNED_VERSIONS_VARIABLE);

  it('writes the resolved version on exactly the jobs that read the alias', async () => {
    const dir = fleetDir(ALIAS_FLEET);
    const before = registry.requests.length;
    const result = await generate(dir, { MLFLOW_TRACKING_URI: registry.url });
    expect(result.aliasPins).toEqual([
      { name: 'match_taxi', alias: 'champion', version: '4' },
      { name: 'match_moto', alias: 'champion', version: '7' },
    ]);
    expect(pinsOn(childPipeline(dir))).toEqual({
      'match-2-taxi:build': 'match_taxi@champion=4',
      'match-2-taxi:test': 'match_taxi@champion=4',
      'match-2-taxi:deploy:staging': 'match_taxi@champion=4',
      'match-2-taxi:deploy:production': 'match_taxi@champion=4',
      // Build and test make production's pinned version too; staging deploys the model's own version 1.
      'match-7-moto:build': 'match_moto@champion=7',
      'match-7-moto:test': 'match_moto@champion=7',
      'match-7-moto:deploy:production': 'match_moto@champion=7',
    });
    // Each alias asked once, whatever number of jobs read it.
    const asked = registry.requests.slice(before).filter((r) => r.startsWith('/api/2.0/mlflow/registered-models/alias'));
    expect(asked.sort()).toEqual([
      '/api/2.0/mlflow/registered-models/alias?name=match_moto&alias=champion',
      '/api/2.0/mlflow/registered-models/alias?name=match_taxi&alias=champion',
    ]);
    // The deploy job keeps its environment variable beside the pin.
    expect(childPipeline(dir)['match-7-moto:deploy:production']?.variables?.MODELFLEET_ENV).toBe('production');
  });

  it('asks the registry nothing for a fleet without aliases, even with MLFLOW_TRACKING_URI set', async () => {
    const dir = fleetDir(NO_ALIAS_FLEET);
    const before = registry.requests.length;
    const calls: string[] = [];
    const result = await runGenerate({
      file: 'models.yaml', out: 'build', all: true, cwd: dir, env: { MLFLOW_TRACKING_URI: registry.url },
      fetchImpl: (input) => {
        calls.push(String(input));
        return Promise.reject(new Error('no request expected'));
      },
    });
    expect(calls).toEqual([]);
    expect(registry.requests.length).toBe(before);
    expect(result.aliasPins).toEqual([]);
    expect(pinsOn(childPipeline(dir))).toEqual({});
    expect(readFileSync(path.join(dir, 'build', 'child-pipeline.yml'), 'utf8')).not.toContain(PINNED_VERSIONS_VARIABLE);
  });

  it('does not resolve or write pins when a child job regenerates its folder with --model', async () => {
    const dir = fleetDir(ALIAS_FLEET);
    const result = await runGenerate({ file: 'models.yaml', out: 'build', model: 'match-2-taxi', cwd: dir, env: {}, fetchImpl: () => Promise.reject(new Error('no request expected')) });
    expect(result.aliasPins).toEqual([]);
    expect(result.plan.pipelines).toEqual([]);
    expect(existsSync(path.join(dir, 'build', 'models', 'match-2-taxi', 'model.json'))).toBe(true);
  });

  it('fails naming the entry, the alias and the fix when no version carries the alias, and writes nothing', async () => {
    const dir = fleetDir(ALIAS_FLEET.replace('mlflow: { name: match_taxi, alias: champion }', 'mlflow: { name: match_taxi, alias: challenger }'));
    const err = await generate(dir, { MLFLOW_TRACKING_URI: registry.url }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect(err).toMatchObject({ code: 'MLFLOW_VERSION_NOT_FOUND' });
    expect((err as UserError).message).toMatch(/^models\.yaml:\d+:\d+ \(model "match-2-taxi"\): no version of registered model "match_taxi" carries the alias "challenger"/);
    expect((err as UserError).hint).toContain('Set the alias on a version in the MLflow UI');
    expect(existsSync(path.join(dir, 'build'))).toBe(false);
  });

  it('names the environment whose pin reads an alias the registry does not have', async () => {
    const dir = fleetDir(ALIAS_FLEET.replace('production: { alias: champion }', 'production: { alias: gold }'));
    await expect(generate(dir, { MLFLOW_TRACKING_URI: registry.url })).rejects.toThrow(/\(model "match-7-moto", environment "production"\): no version of registered model "match_moto" carries the alias "gold"/);
  });

  it('tells a missing registered model from a missing alias', async () => {
    const dir = fleetDir(ALIAS_FLEET.replace('name: match_taxi, alias', 'name: match_bus, alias'));
    await expect(generate(dir, { MLFLOW_TRACKING_URI: registry.url })).rejects.toMatchObject({ code: 'MLFLOW_MODEL_NOT_FOUND' });
  });

  it('fails clearly when the registry cannot be reached or is not configured, and writes nothing', async () => {
    const dir = fleetDir(ALIAS_FLEET);
    const unreachable = await generate(dir, { MLFLOW_TRACKING_URI: 'http://127.0.0.1:9' }).catch((e: unknown) => e);
    expect(unreachable).toMatchObject({ code: 'MLFLOW_UNREACHABLE' });
    expect((unreachable as UserError).message).toContain('the alias "champion" of registered model "match_taxi"');
    const unset = await generate(dir, {}).catch((e: unknown) => e);
    expect(unset).toMatchObject({ code: 'MLFLOW_NOT_CONFIGURED' });
    expect((unset as UserError).message).toContain('by its alias "champion", and MLFLOW_TRACKING_URI is not set');
    expect(existsSync(path.join(dir, 'build'))).toBe(false);
  });

  it('refuses a MODELFLEET_MLFLOW_VERSIONS set where generate runs: it would outrank every job\'s own', async () => {
    const dir = fleetDir(NO_ALIAS_FLEET);
    await expect(generate(dir, { [PINNED_VERSIONS_VARIABLE]: 'match_taxi@champion=3' })).rejects.toMatchObject({ code: 'GENERATE_PINS_PRESET' });
  });

  it('hands the resolved versions to a dispatcher, whose part files then ask nothing and pin the same versions', async () => {
    const dir = fleetDir(ALIAS_FLEET);
    await generate(dir, { MLFLOW_TRACKING_URI: registry.url }, { maxJobs: 10 });
    const dispatcher = childPipeline(dir);
    const script = dispatcher['generate-parts']?.script?.join('\n') ?? '';
    expect(script).toContain("--mlflow-versions 'match_moto@champion=7 match_taxi@champion=4'");
    const parts = jobNames(dispatcher).filter((job) => /^models-\d+-of-\d+$/.test(job));
    expect(parts.length).toBeGreaterThan(1);
    const partPins = (d: string) => Object.assign({}, ...parts.map((_, i) => pinsOn(childPipeline(d, `child-pipeline-${i + 1}.yml`)))) as Record<string, string>;
    const fromParent = partPins(dir);

    // The alias moves on; the dispatcher job, run later, regenerates the parts with the parent's versions.
    await createMlflowRegistryClient({ baseUrl: registry.url, timeoutMs: 5000 }).setModelVersionAlias('match_taxi', 'champion', '3');
    const before = registry.requests.length;
    await generate(dir, { MLFLOW_TRACKING_URI: registry.url }, { maxJobs: 10, mlflowVersions: 'match_moto@champion=7 match_taxi@champion=4' });
    expect(registry.requests.length).toBe(before);
    expect(partPins(dir)).toEqual(fromParent);
    expect(fromParent['match-2-taxi:deploy:production']).toBe('match_taxi@champion=4');
  });
});
