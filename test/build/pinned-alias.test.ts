/**
 * A job that carries MODELFLEET_MLFLOW_VERSIONS serves the version `generate` resolved for an
 * alias, not where the alias points when the job runs: build, load test and deploy compute the
 * same image, and a deploy re-run after the alias moved records the same concrete version.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { findDeployable } from '../../generator/fleet/find-deployable.js';
import { prepareImageInputs } from '../../pipeline/build/prepare-image-inputs.js';
import { resolveDeployImage } from '../../pipeline/deploy/resolve-deploy-inputs.js';
import { createMlflowRegistryClient } from '../../pipeline/mlflow-registry/mlflow-registry-client.js';
import { PINNED_VERSIONS_VARIABLE } from '../../pipeline/mlflow-registry/pinned-aliases.js';
import { readMlflowModel } from '../../serving/mlflow/read-mlflow-model.js';
import { startFakeMlflowRegistry, type FakeMlflowRegistry } from '../support/fake-mlflow-registry.js';
import { EXAMPLE_MODELS, makeTestFleet, type TestFleet } from './make-test-fleet.js';

const ALIAS_REQUEST = '/api/2.0/mlflow/registered-models/alias';

describe('an alias pinned by the pipeline', () => {
  let registry: FakeMlflowRegistry;
  let test: TestFleet;
  const v3 = join(EXAMPLE_MODELS, 'match-logreg-v1');
  const v4 = join(EXAMPLE_MODELS, 'match-logreg-v2');

  beforeAll(async () => {
    registry = await startFakeMlflowRegistry({
      models: { match_taxi: { versions: { '3': { dir: v3 }, '4': { dir: v4 } }, aliases: { champion: '3' } } },
    });
    test = await makeTestFleet(`models:
  - name: match-2-taxi
    endpoint: probability
    parameters: [2, TAXI]
    mlflow: { name: match_taxi, alias: champion }
`);
  });

  beforeEach(async () => {
    // The pipeline was generated while champion pointed at 3; it has moved on to 4 since.
    await createMlflowRegistryClient({ baseUrl: registry.url, timeoutMs: 5000 }).setModelVersionAlias('match_taxi', 'champion', '4');
  });

  afterAll(async () => {
    await registry?.close();
    if (test) await rm(test.dir, { recursive: true, force: true });
  });

  const deployable = () => findDeployable(test.fleet, 'match-2-taxi');
  const inputsWith = (pins: string | undefined, report: (line: string) => void = () => undefined) =>
    prepareImageInputs({
      fleet: test.fleet,
      deployable: deployable(),
      outDir: test.outDir,
      env: { MLFLOW_TRACKING_URI: registry.url, ...(pins !== undefined ? { [PINNED_VERSIONS_VARIABLE]: pins } : {}) },
      report,
    });

  it('serves the pinned version\'s artifact without asking where the alias points, and says so once', async () => {
    const lines: string[] = [];
    const before = registry.requests.length;
    const pinned = await inputsWith('match_taxi@champion=3 other_model@champion=9', (line) => lines.push(line));
    const requests = registry.requests.slice(before);
    expect(requests.some((r) => r.startsWith(ALIAS_REQUEST))).toBe(false);
    expect(requests).toContain('/api/2.0/mlflow/model-versions/get?name=match_taxi&version=3');
    expect(pinned.model.version).toBe('3');
    expect(pinned.model.artifactDigest).toBe((await readMlflowModel(v3)).artifactDigest);
    expect(lines).toEqual([`match-2-taxi: alias champion pinned to version 3 by the pipeline (${PINNED_VERSIONS_VARIABLE})`]);
  });

  it('asks the registry for the alias when the pipeline pinned none for it', async () => {
    const before = registry.requests.length;
    const unpinned = await inputsWith('match_taxi@challenger=3');
    expect(registry.requests.slice(before)).toContain(`${ALIAS_REQUEST}?name=match_taxi&alias=champion`);
    expect(unpinned.model.version).toBe('4');
    expect(unpinned.model.artifactDigest).toBe((await readMlflowModel(v4)).artifactDigest);
    // Same alias, other version, other image: the pin is what keeps a re-run on the first one.
    expect(unpinned.tag).not.toBe((await inputsWith('match_taxi@champion=3')).tag);
  });

  it('computes the same image tag every time while pinned, wherever the alias moves', async () => {
    const first = await inputsWith('match_taxi@champion=3');
    await createMlflowRegistryClient({ baseUrl: registry.url, timeoutMs: 5000 }).setModelVersionAlias('match_taxi', 'champion', '3');
    expect((await inputsWith('match_taxi@champion=3')).tag).toBe(first.tag);
  });

  it('gives a deploy the concrete version it records (served.modelVersion), not the alias', async () => {
    const lines: string[] = [];
    const image = await resolveDeployImage(test.fleet, deployable(), { file: join(test.dir, 'models.yaml'), out: test.outDir, deployName: 'match-2-taxi', environment: 'production' },
      { MLFLOW_TRACKING_URI: registry.url, [PINNED_VERSIONS_VARIABLE]: 'match_taxi@champion=3' }, (line) => lines.push(line));
    expect(image.modelVersion).toBe('3');
    expect(lines).toContain(`match-2-taxi: alias champion pinned to version 3 by the pipeline (${PINNED_VERSIONS_VARIABLE})`);
  });

  it('fails naming the variable when the pinned version is gone from the registry', async () => {
    await expect(inputsWith('match_taxi@champion=5')).rejects.toThrow(`has no version 5, which ${PINNED_VERSIONS_VARIABLE} pins for the alias "champion"`);
  });

  it('refuses a malformed variable instead of guessing', async () => {
    await expect(inputsWith('match_taxi@champion')).rejects.toMatchObject({ code: 'MLFLOW_PINNED_VERSIONS_INVALID' });
  });
});
