import { findDeployable } from '../../generator/fleet/find-deployable.js';
import { loadFleet } from '../../generator/fleet/load-fleet.js';
import type { BulkSettings, Deployable } from '../../generator/fleet/types.js';
import { UserError } from '../../lib/errors/user-error.js';
import type { Signature } from '../../serving/mlflow/signature.js';
import { redisSettingsFrom, type RedisSettings } from '../../serving/worker/redis-connection.js';
import { readModelInputs } from '../loadtest/read-model-inputs.js';
import { localRedisUrl } from './local-bulk-state.js';

export interface BulkTarget {
  readonly deployable: Deployable;
  readonly deployName: string;
  readonly settings: BulkSettings;
  readonly signature: Signature;
}

/** The deployable a job goes to, its bulk settings and its signature; BULK_NOT_ENABLED when it takes no bulk jobs. */
export async function resolveBulkTarget(options: { readonly file: string; readonly out: string; readonly model: string }): Promise<BulkTarget> {
  const fleet = loadFleet(options.file);
  const deployable = findDeployable(fleet, options.model);
  const deployName = deployable.variant.deployName;
  const settings = deployable.model.bulk;
  if (!settings?.enabled) {
    throw new UserError('BULK_NOT_ENABLED', `model ${deployName} takes no bulk jobs: its entry in ${options.file} has ${settings ? '`bulk: { enabled: false }`' : 'no `bulk:` block'}`,
      `Add \`bulk: { enabled: true }\` to model ${deployable.model.name} in ${options.file} and deploy it (docs/bulk.md).`);
  }
  const inputs = await readModelInputs(fleet, deployable, options.out);
  return { deployable, deployName, settings, signature: inputs.signature };
}

/**
 * Redis for the bulk commands: --redis, else REDIS_URL / REDIS_ADDRESS, else the local target's
 * redis-server (started by `modelfleet up` for models with `bulk:`), else 127.0.0.1:6379.
 */
export async function bulkRedisSettings(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): Promise<RedisSettings> {
  if (flag || env.REDIS_URL || env.REDIS_ADDRESS) return redisSettingsFrom(env, flag);
  return redisSettingsFrom(env, await localRedisUrl());
}
