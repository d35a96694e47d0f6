/**
 * A registry pin per environment (`environments.production.version` on a model): build, load
 * test and deploy all compute the image from the deployable as that environment runs it, so
 * production's image is the pinned version's, by its own content tag, while staging's stays
 * the model's own version.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findDeployable } from '../../generator/fleet/find-deployable.js';
import { deployableInEnvironment, findEnvironment } from '../../generator/fleet/find-environment.js';
import { prepareImageInputs } from '../../pipeline/build/prepare-image-inputs.js';
import { startFakeMlflowRegistry, type FakeMlflowRegistry } from '../support/fake-mlflow-registry.js';
import { EXAMPLE_MODELS, makeTestFleet, type TestFleet } from './make-test-fleet.js';

describe('an environment that pins another registry version', () => {
  let registry: FakeMlflowRegistry;
  let test: TestFleet;

  beforeAll(async () => {
    registry = await startFakeMlflowRegistry({
      models: {
        match_taxi: {
          versions: { '3': { dir: join(EXAMPLE_MODELS, 'match-logreg-v1') }, '4': { dir: join(EXAMPLE_MODELS, 'match-logreg-v2') } },
          aliases: { champion: '4' },
        },
      },
    });
    test = await makeTestFleet(`models:
  - name: match-2-taxi
    endpoint: probability
    parameters: [2, TAXI]
    mlflow: { name: match_taxi, version: 4 }
    environments:
      production: { version: 3 }
`);
  });

  afterAll(async () => {
    await registry?.close();
    if (test) await rm(test.dir, { recursive: true, force: true });
  });

  const inputsFor = (environment: string) => {
    const own = findDeployable(test.fleet, 'match-2-taxi');
    return prepareImageInputs({
      fleet: test.fleet,
      deployable: deployableInEnvironment(own, findEnvironment(test.fleet, environment, {})),
      outDir: test.outDir,
      env: { MLFLOW_TRACKING_URI: registry.url },
    });
  };

  it('gives production the pinned version\'s image and staging the model\'s own, each by its content', async () => {
    const staging = await inputsFor('staging');
    const production = await inputsFor('production');
    expect(staging.model.version).toBe('4');
    expect(production.model.version).toBe('3');
    expect(production.tag).not.toBe(staging.tag);
    expect(production.contentDigest).not.toBe(staging.contentDigest);
    // The same environment gives the same image again: a re-run of production's deploy finds the pinned image.
    expect((await inputsFor('production')).tag).toBe(production.tag);
    expect(registry.requests.some((r) => r.includes('version=3'))).toBe(true);
  });
});
