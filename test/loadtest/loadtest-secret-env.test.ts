import { describe, expect, it } from 'vitest';
import { loadtestSecretEnv } from '../../pipeline/loadtest/loadtest-secret-env.js';
import { sizingInputsFor } from '../../pipeline/loadtest/run-loadtest.js';
import { sizingKeyOf } from '../../pipeline/model-folder/sizing-record.js';
import { deployable, modelSpec } from '../manifests/fixtures.js';

const SECRET = 'sentinel-5f2c0b7e';
const withSecrets = deployable(modelSpec({
  secretEnv: [
    { name: 'FEATURE_TOKEN', secret: 'feature-store', key: 'token' },
    { name: 'API_KEY', secret: 'traffic-api', key: 'key' },
  ],
  envFromSecrets: ['shared-config'],
}));

describe('secret variables in the load test', () => {
  it('take MODELFLEET_SECRET_<name> from the job when set, and run without the rest, naming them but never a value', () => {
    const secrets = loadtestSecretEnv(withSecrets, { MODELFLEET_SECRET_FEATURE_TOKEN: SECRET, MODELFLEET_SECRET_API_KEY: '' });
    expect(secrets.values).toEqual({ FEATURE_TOKEN: SECRET });
    expect(secrets.summary).toBe(
      'secret variables in the load test: FEATURE_TOKEN from MODELFLEET_SECRET_<name>; without API_KEY (set MODELFLEET_SECRET_<name> to give a value); without the variables of Secret shared-config (envFrom: cluster only)',
    );
    expect(secrets.summary).not.toContain(SECRET);
  });

  it('say nothing for a model without secrets', () => {
    expect(loadtestSecretEnv(deployable(), { MODELFLEET_SECRET_FEATURE_TOKEN: SECRET })).toEqual({ values: {}, summary: undefined });
  });

  it('keep secret values out of the sizing key', () => {
    const inputs = sizingInputsFor(withSecrets, 'sha256:abc', { durationSeconds: 5, connections: 2 });
    expect(JSON.stringify(inputs)).not.toContain('FEATURE_TOKEN');
    expect(sizingKeyOf(inputs)).toBe(sizingKeyOf(sizingInputsFor(deployable(), 'sha256:abc', { durationSeconds: 5, connections: 2 })));
  });
});
