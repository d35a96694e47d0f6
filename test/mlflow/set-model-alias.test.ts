import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveEnvironments } from '../../generator/fleet/resolve-environments.js';
import { setRegistryAlias } from '../../pipeline/deploy/set-registry-alias.js';
import { readMlflowConnection } from '../../pipeline/mlflow-registry/mlflow-connection.js';
import { createMlflowRegistryClient, MlflowRequestError } from '../../pipeline/mlflow-registry/mlflow-registry-client.js';
import { EXAMPLE_MODELS } from '../build/make-test-fleet.js';
import { deployable, modelSpec } from '../manifests/fixtures.js';
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

describe('after a deploy, the environment\'s registryAlias marks the version that serves', () => {
  const mlflowModel = (version?: string) => deployable(modelSpec({ name: 'taxi-match' }), { source: { kind: 'mlflow', name: 'taxi-match', ...(version ? { version } : { alias: 'champion' }) }, deployName: 'taxi-match' });
  const environment = (raw: Record<string, unknown>) => {
    const resolved = resolveEnvironments([raw]);
    expect(resolved.problems).toEqual([]);
    return resolved.environments[0];
  };
  const env = () => ({ MLFLOW_TRACKING_URI: registry.url, MLFLOW_TRACKING_TOKEN: 'secret' });

  it('defaults to `production` in a production-tier environment and to none elsewhere; `registryAlias: false` turns it off', () => {
    expect(environment({ name: 'production' })?.registryAlias).toBe('production');
    expect(environment({ name: 'live', tier: 'production', registryAlias: 'serving' })?.registryAlias).toBe('serving');
    expect(environment({ name: 'production', registryAlias: false })?.registryAlias).toBeUndefined();
    expect(environment({ name: 'staging' })?.registryAlias).toBeUndefined();
    expect(resolveEnvironments([{ name: 'production', registryAlias: 'not an alias' }]).problems.map((p) => p.path.join('.'))).toEqual(['environments.0.registryAlias']);
  });

  it('sets it on the version the deploy resolved, with the exact request, and says so', async () => {
    const lines: string[] = [];
    await setRegistryAlias({ deployable: mlflowModel(), environment: environment({ name: 'production' }), version: '1', env: env(), print: (line) => lines.push(line) });
    expect(registry.posts.at(-1)?.body).toBe('{"name":"taxi-match","alias":"production","version":"1"}');
    expect(registry.aliasesOf('taxi-match').production).toBe('1');
    expect(lines).toEqual([`taxi-match: registered model "taxi-match" version 1 now carries the alias "production" (${registry.url})`]);
  });

  it('sends nothing for staging, for a model not from the registry, or without a resolved version', async () => {
    const before = registry.posts.length;
    const print = () => undefined;
    await setRegistryAlias({ deployable: mlflowModel('2'), environment: environment({ name: 'staging' }), version: '2', env: env(), print });
    await setRegistryAlias({ deployable: deployable(), environment: environment({ name: 'production' }), version: '2', env: env(), print });
    await setRegistryAlias({ deployable: mlflowModel('2'), environment: environment({ name: 'production' }), version: undefined, env: env(), print });
    expect(registry.posts.length).toBe(before);
  });

  it('fails naming the deploy that succeeded and the fix when the registry cannot be told', async () => {
    const attempt = (environmentVars: NodeJS.ProcessEnv, version: string) =>
      setRegistryAlias({ deployable: mlflowModel(), environment: environment({ name: 'production' }), version, env: environmentVars, print: () => undefined });
    await expect(attempt({}, '1')).rejects.toMatchObject({ code: 'DEPLOY_REGISTRY_ALIAS_FAILED', message: expect.stringMatching(/deployed to production, but MLFLOW_TRACKING_URI is not set/) as unknown });
    await expect(attempt(env(), '9')).rejects.toMatchObject({ code: 'DEPLOY_REGISTRY_ALIAS_FAILED', message: expect.stringMatching(/refused to set the alias "production" on version 9 of "taxi-match".*RESOURCE_DOES_NOT_EXIST/) as unknown });
  });
});
