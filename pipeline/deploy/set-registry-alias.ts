import type { Deployable, EnvironmentSpec } from '../../generator/fleet/types.js';
import { deployErrors } from '../../lib/errors/codes-deploy.js';
import { UserError } from '../../lib/errors/user-error.js';
import { readMlflowConnection } from '../mlflow-registry/mlflow-connection.js';
import { createMlflowRegistryClient } from '../mlflow-registry/mlflow-registry-client.js';

/**
 * After a successful deploy: points the environment's `registryAlias` (`production` in a
 * production-tier environment by default) at the MLflow registry version the deployable now
 * serves, so the registry shows what runs. Only for models from an MLflow registry; says why it
 * does nothing otherwise. Setting an alias is idempotent, so a re-run deploy sets it again.
 */
export async function setRegistryAlias(options: {
  readonly deployable: Deployable;
  readonly environment: EnvironmentSpec | undefined;
  /** The registry version the deployed image serves (DeployImage.modelVersion). */
  readonly version: string | undefined;
  readonly env: NodeJS.ProcessEnv;
  readonly print: (line: string) => void;
  readonly fetchImpl?: typeof fetch;
}): Promise<void> {
  const { deployable, environment, version, print } = options;
  const source = deployable.variant.source;
  const alias = environment?.registryAlias;
  if (source.kind !== 'mlflow' || alias === undefined || version === undefined) return;
  const name = deployable.variant.deployName;
  const connection = readMlflowConnection(options.env);
  if (!connection) {
    throw new UserError('DEPLOY_REGISTRY_ALIAS_FAILED', `${name}: deployed to ${environment?.name ?? 'the environment'}, but MLFLOW_TRACKING_URI is not set, so the alias "${alias}" cannot be set on version ${version} of "${source.name}"`, deployErrors.DEPLOY_REGISTRY_ALIAS_FAILED.fix);
  }
  try {
    await createMlflowRegistryClient(connection, options.fetchImpl).setModelVersionAlias(source.name, alias, version);
  } catch (err) {
    throw new UserError('DEPLOY_REGISTRY_ALIAS_FAILED', `${name}: deployed to ${environment?.name ?? 'the environment'}, but ${connection.baseUrl} refused to set the alias "${alias}" on version ${version} of "${source.name}": ${(err as Error).message}`,
      deployErrors.DEPLOY_REGISTRY_ALIAS_FAILED.fix, { cause: err });
  }
  print(`${name}: registered model "${source.name}" version ${version} now carries the alias "${alias}" (${connection.baseUrl})`);
}
