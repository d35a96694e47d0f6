import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UserError } from '../../lib/errors/user-error.js';
import { findFreePort } from '../../lib/free-port.js';
import { downloadRegisteredModel } from '../../pipeline/mlflow-registry/download-registered-model.js';
import { readMlflowConnection, type MlflowConnection } from '../../pipeline/mlflow-registry/mlflow-connection.js';
import { artifactProxyPath } from '../../pipeline/mlflow-registry/mlflow-registry-client.js';
import { digestDirectory } from '../../lib/file-digest.js';
import { startFakeMlflowRegistry, type FakeMlflowRegistry } from '../support/fake-mlflow-registry.js';
import { EXAMPLE_MODELS } from './make-test-fleet.js';

const ENTRY = 'models.yaml:12:5 (model "match-2-taxi-registry")';

describe('downloading a model from an MLflow registry', () => {
  let registry: FakeMlflowRegistry;
  let work: string;
  let connection: MlflowConnection;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'modelfleet-mlflow-'));
    const sklearnOnly = join(work, 'sklearn-model');
    await cp(join(EXAMPLE_MODELS, 'match-logreg-v1'), sklearnOnly, { recursive: true });
    await writeFile(join(sklearnOnly, 'MLmodel'), 'flavors:\n  sklearn:\n    pickled_model: model.pkl\n  python_function:\n    loader_module: mlflow.sklearn\n');
    registry = await startFakeMlflowRegistry({
      token: 'secret-token',
      models: {
        match_taxi: {
          versions: {
            '1': { dir: join(EXAMPLE_MODELS, 'match-logreg-v1') },
            '2': { dir: join(EXAMPLE_MODELS, 'match-logreg-v2') },
            '3': { dir: join(EXAMPLE_MODELS, 'match-mlp'), artifactUri: 's3://bucket/models/3' },
          },
          aliases: { champion: '2' },
        },
        match_sklearn: { versions: { '1': { dir: sklearnOnly } } },
      },
    });
    connection = { baseUrl: registry.url, authorization: 'Bearer secret-token', timeoutMs: 5_000 };
  });

  afterAll(async () => {
    await registry?.close();
    await rm(work, { recursive: true, force: true });
  });

  const download = (source: { name: string; version?: string; alias?: string }, conn: MlflowConnection = connection) =>
    downloadRegisteredModel({ source: { kind: 'mlflow', ...source }, connection: conn, targetDir: join(work, `out-${Math.random().toString(36).slice(2)}`), entryLabel: ENTRY });

  it('downloads every file of a model version, byte for byte', async () => {
    const downloaded = await download({ name: 'match_taxi', version: '1' });
    expect(downloaded.version).toBe('1');
    expect(downloaded.artifactUri).toMatch(/^mlflow-artifacts:\//);
    expect(await digestDirectory(downloaded.dir)).toBe(await digestDirectory(join(EXAMPLE_MODELS, 'match-logreg-v1')));
  });

  it('resolves an alias to its version before downloading', async () => {
    const downloaded = await download({ name: 'match_taxi', alias: 'champion' });
    expect(downloaded.version).toBe('2');
    expect(await readFile(join(downloaded.dir, 'model.onnx'))).toEqual(await readFile(join(EXAMPLE_MODELS, 'match-logreg-v2', 'model.onnx')));
    expect(registry.requests.some((r) => r.startsWith('/api/2.0/mlflow/registered-models/alias?name=match_taxi&alias=champion'))).toBe(true);
  });

  it('names the models.yaml entry when the registered model does not exist', async () => {
    const error = await download({ name: 'match_taxy', version: '1' }).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(UserError);
    expect(error).toMatchObject({ code: 'MLFLOW_MODEL_NOT_FOUND' });
    expect((error as Error).message).toContain(ENTRY);
    expect((error as Error).message).toContain('"match_taxy"');
  });

  it('reports an unknown version as such, not as an unknown model', async () => {
    const error = await download({ name: 'match_taxi', version: '9' }).catch((err: unknown) => err);
    expect(error).toMatchObject({ code: 'MLFLOW_VERSION_NOT_FOUND' });
    expect((error as Error).message).toMatch(/models\.yaml:12:5 .*has no version 9/);
  });

  it('reports an alias no version carries', async () => {
    const error = await download({ name: 'match_taxi', alias: 'staging' }).catch((err: unknown) => err);
    expect(error).toMatchObject({ code: 'MLFLOW_VERSION_NOT_FOUND' });
    expect((error as Error).message).toContain('alias "staging"');
  });

  it('refuses a model version without an onnx flavor and names the flavors it has', async () => {
    const error = await download({ name: 'match_sklearn', version: '1' }).catch((err: unknown) => err);
    expect(error).toMatchObject({ code: 'MLFLOW_NOT_ONNX' });
    expect((error as Error).message).toContain('flavors: sklearn, python_function');
    // It stops after MLmodel: no other artifact of that version was fetched.
    expect(registry.requests.filter((r) => r.includes('/mlflow-artifacts/artifacts/1/run4/'))).toEqual(['/api/2.0/mlflow-artifacts/artifacts/1/run4/artifacts/model/MLmodel']);
  });

  it('explains that artifacts outside the artifact proxy cannot be downloaded', async () => {
    const error = await download({ name: 'match_taxi', version: '3' }).catch((err: unknown) => err);
    expect(error).toMatchObject({ code: 'MLFLOW_ARTIFACTS_UNSUPPORTED' });
    expect((error as Error).message).toContain('s3://bucket/models/3');
  });

  it('reports refused credentials', async () => {
    const error = await download({ name: 'match_taxi', version: '1' }, { ...connection, authorization: 'Bearer wrong' }).catch((err: unknown) => err);
    expect(error).toMatchObject({ code: 'MLFLOW_AUTH_FAILED' });
  });

  it('reports an unreachable server with its URL and the entry', async () => {
    // A port where nothing listens: the registry is unreachable.
    const port = await findFreePort();
    const error = await download({ name: 'match_taxi', version: '1' }, { baseUrl: `http://127.0.0.1:${port}`, timeoutMs: 2_000 }).catch((err: unknown) => err);
    expect(error).toMatchObject({ code: 'MLFLOW_UNREACHABLE' });
    expect((error as Error).message).toContain(`http://127.0.0.1:${port}`);
    expect((error as Error).message).toContain(ENTRY);
  });
});

describe('MLflow connection settings', () => {
  it('reads the tracking URI and prefers a bearer token over basic credentials', () => {
    expect(readMlflowConnection({ MLFLOW_TRACKING_URI: 'https://mlflow.example.com/', MLFLOW_TRACKING_TOKEN: 't', MLFLOW_TRACKING_USERNAME: 'u', MLFLOW_TRACKING_PASSWORD: 'p' }))
      .toEqual({ baseUrl: 'https://mlflow.example.com', authorization: 'Bearer t', timeoutMs: 30_000 });
    expect(readMlflowConnection({ MLFLOW_TRACKING_URI: 'http://127.0.0.1:5000', MLFLOW_TRACKING_USERNAME: 'u', MLFLOW_TRACKING_PASSWORD: 'p' })?.authorization)
      .toBe(`Basic ${Buffer.from('u:p').toString('base64')}`);
  });

  it('treats a missing or non-HTTP tracking URI as not configured', () => {
    expect(readMlflowConnection({})).toBeUndefined();
    expect(readMlflowConnection({ MLFLOW_TRACKING_URI: 'file:///tmp/mlruns' })).toBeUndefined();
  });

  it('maps mlflow-artifacts URIs to artifact proxy paths and rejects other storage', () => {
    expect(artifactProxyPath('mlflow-artifacts:/1/abc/artifacts/model')).toBe('1/abc/artifacts/model');
    expect(artifactProxyPath('mlflow-artifacts://mlflow.example.com:5000/1/abc/artifacts/model/')).toBe('1/abc/artifacts/model');
    expect(artifactProxyPath('s3://bucket/1/abc')).toBeUndefined();
  });
});
