import { beforeAll, describe, expect, it } from 'vitest';
import { registryTargetFor } from '../../pipeline/build/registry-target.js';
import { requireImageInRegistry } from '../../pipeline/deploy/resolve-deploy-inputs.js';
import { openRegistry } from '../../pipeline/registry/registry-client.js';
import { registryAddress, requireRegistry, uniqueRepository } from '../support/registry.js';

const jobs = { build: 'm:build', deploy: 'm:deploy' };
let env: NodeJS.ProcessEnv;
let prefix: string;

beforeAll(async () => {
  prefix = uniqueRepository('fleet');
  env = { MODELFLEET_REGISTRY_IMAGE: `${await requireRegistry()}/${prefix}` };
});

describe('a cluster deploy checks the registry it pulls from', () => {
  it('passes when the image is there, and when no registry is configured', async () => {
    await openRegistry({ host: registryAddress }).putJsonRecord(`${prefix}/m`, '0123456789ab', 'application/vnd.modelfleet.test-image.v1+json', { standsFor: 'an image' });
    await expect(requireImageInRegistry(registryTargetFor('m', '0123456789ab', env), jobs)).resolves.toBeUndefined();
    await expect(requireImageInRegistry(registryTargetFor('m', '0123456789ab', {}), jobs)).resolves.toBeUndefined();
  });

  it('fails naming the build job to re-run when the image is not there', async () => {
    const error = await requireImageInRegistry(registryTargetFor('m', 'fedcba987654', env), jobs).catch((err: unknown) => err);
    expect(error).toMatchObject({ code: 'DEPLOY_MISSING_INPUT', hint: 'Re-run `m:build` (it pushes the image), then `m:deploy`.' });
    expect((error as Error).message).toContain(`${registryAddress}/${prefix}/m:fedcba987654 is not in the registry`);
  });

  it('fails naming the registry when it does not answer', async () => {
    const error = await requireImageInRegistry(registryTargetFor('m', '0123456789ab', { MODELFLEET_REGISTRY_IMAGE: '127.0.0.1:9/fleet' }), jobs).catch((err: unknown) => err);
    expect(error).toMatchObject({ code: 'DEPLOY_MISSING_INPUT' });
    expect((error as Error).message).toContain('cannot ask the registry 127.0.0.1:9');
  });
});
