import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readMlflowConnection } from '../../pipeline/mlflow-registry/mlflow-connection.js';
import { createMlflowRegistryClient, MlflowRequestError } from '../../pipeline/mlflow-registry/mlflow-registry-client.js';
import { EXAMPLE_MODELS } from '../build/make-test-fleet.js';
import { startFakeMlflowRegistry, type FakeMlflowRegistry } from '../support/fake-mlflow-registry.js';

let registry: FakeMlflowRegistry;

beforeAll(async () => {
  registry = await startFakeMlflowRegistry({
    token: 'secret',
    models: { 'taxi-match': { versions: { '1': { dir: join(EXAMPLE_MODELS, 'match-logreg-v1') }, '2': { dir: join(EXAMPLE_MODELS, 'match-logreg-v2') } }, aliases: { production: '1', champion: '2' } } },
  });
});

afterAll(async () => registry.close());

const client = () => {
  const connection = readMlflowConnection({ MLFLOW_TRACKING_URI: registry.url, MLFLOW_TRACKING_TOKEN: 'secret' });
  if (!connection) throw new Error('no connection');
  return createMlflowRegistryClient(connection);
};

describe('setting a registered model alias (MLflow SetRegisteredModelAlias)', () => {
  it('sends exactly POST /api/2.0/mlflow/registered-models/alias with {name, alias, version} as JSON, and the alias moves', async () => {
    await client().setModelVersionAlias('taxi-match', 'production', '2');
    expect(registry.posts.at(-1)).toEqual({
      path: '/api/2.0/mlflow/registered-models/alias',
      contentType: 'application/json',
      body: '{"name":"taxi-match","alias":"production","version":"2"}',
    });
    expect(registry.aliasesOf('taxi-match')).toEqual({ production: '2', champion: '2' });
    expect((await client().getModelVersionByAlias('taxi-match', 'production')).version).toBe('2');
    expect((await client().getModelVersion('taxi-match', '1')).aliases).toEqual([]);
  });

  it('fails with MLflow\'s error code when the version does not exist, and moves nothing', async () => {
    const refused = client().setModelVersionAlias('taxi-match', 'production', '9');
    await expect(refused).rejects.toBeInstanceOf(MlflowRequestError);
    await expect(refused).rejects.toMatchObject({ status: 404, errorCode: 'RESOURCE_DOES_NOT_EXIST' });
    expect(registry.aliasesOf('taxi-match').production).toBe('2');
  });
});
