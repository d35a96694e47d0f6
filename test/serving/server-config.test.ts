import { describe, expect, it } from 'vitest';
import { UserError } from '../../lib/errors/user-error.js';
import { CONFIG_DEFAULTS, readServerConfig } from '../../serving/model-server/server-config.js';

describe('readServerConfig', () => {
  it('binds 127.0.0.1:8080 with batching on unless told otherwise', () => {
    const config = readServerConfig({ MODEL_DIR: '/models/match-trees' });
    expect(config).toMatchObject({
      modelDir: '/models/match-trees', host: '127.0.0.1', port: 8080, modelName: 'match-trees', modelVersion: undefined,
      batching: { enabled: true, maxBatchSize: CONFIG_DEFAULTS.MAX_BATCH_SIZE, maxWaitMs: CONFIG_DEFAULTS.MAX_BATCH_WAIT_MS },
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('lets flags win over environment variables', () => {
    const config = readServerConfig({ MODEL_DIR: '/a', PORT: '9000', HOST: '0.0.0.0' }, { modelDir: '/b', port: '9100', host: '127.0.0.2' });
    expect(config).toMatchObject({ modelDir: '/b', port: 9100, host: '127.0.0.2', modelName: 'b' });
  });

  it('reads every documented variable', () => {
    const config = readServerConfig({
      MODEL_DIR: '/m', MODEL_NAME: 'trees', MODEL_VERSION: '7', BATCHING_ENABLED: 'false', MAX_BATCH_SIZE: '32',
      MAX_BATCH_WAIT_MS: '0', MAX_ROWS_PER_REQUEST: '10', MAX_BODY_BYTES: '2048', ORT_INTRA_OP_THREADS: '2',
      SHUTDOWN_DELAY_MS: '0', SHUTDOWN_TIMEOUT_MS: '100',
    });
    expect(config).toEqual({
      modelDir: '/m', port: 8080, host: '127.0.0.1', modelName: 'trees', modelVersion: '7',
      batching: { enabled: false, maxBatchSize: 32, maxWaitMs: 0 }, maxRowsPerRequest: 10, maxBodyBytes: 2048,
      intraOpThreads: 2, shutdownDelayMs: 0, shutdownTimeoutMs: 100,
    });
  });

  it('lists every bad value in one SERVER_CONFIG_INVALID error', () => {
    let error: unknown;
    try {
      readServerConfig({ PORT: '80a', BATCHING_ENABLED: 'maybe', MAX_BATCH_SIZE: '0' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(UserError);
    expect((error as UserError).code).toBe('SERVER_CONFIG_INVALID');
    expect((error as UserError).message).toMatch(/no model directory.*PORT="80a".*BATCHING_ENABLED="maybe".*MAX_BATCH_SIZE="0"/);
  });
});
