import { buildErrors } from '../lib/errors/codes-build.js';
import { UserError } from '../lib/errors/user-error.js';
import { describeEntry } from './fleet/describe-entry.js';
import { MLFLOW_VERSION } from './fleet/fleet-schema.js';
import type { FleetSpec } from './fleet/types.js';
import type { AliasUse, DeployableAliasUses } from './plan/alias-uses.js';
import { readMlflowConnection, type MlflowConnection } from '../pipeline/mlflow-registry/mlflow-connection.js';
import { MlflowRequestError, createMlflowRegistryClient, type MlflowRegistryClient } from '../pipeline/mlflow-registry/mlflow-registry-client.js';
import { pinnedVersionOf, type AliasPin, type PinnedVersions } from '../pipeline/mlflow-registry/pinned-aliases.js';

export interface ResolveAliasVersionsOptions {
  readonly fleet: FleetSpec;
  readonly uses: readonly DeployableAliasUses[];
  /** Versions resolved before (`--mlflow-versions`, passed by a dispatcher job): kept, not asked again. */
  readonly given: PinnedVersions;
  readonly env: NodeJS.ProcessEnv;
  readonly fetchImpl?: typeof fetch;
}

/** Why every job of a pipeline needs this answer now, for each failure's hint. */
const WHY = '`modelfleet generate` resolves every MLflow alias once and pins the version on the jobs, so build, test and every deploy serve the same one; it wrote nothing.';

/**
 * Asks the MLflow registry once per (registered model, alias) the jobs read, before anything is
 * written. Without any alias there is nothing to ask, and no connection is even looked at.
 */
export async function resolveAliasVersions(options: ResolveAliasVersionsOptions): Promise<AliasPin[]> {
  const firstUse = new Map<string, { readonly use: AliasUse; readonly label: string }>();
  for (const { deployable, buildAndTest } of options.uses) {
    for (const use of buildAndTest) {
      const key = `${use.name}@${use.alias}`;
      if (firstUse.has(key)) continue;
      firstUse.set(key, { use, label: describeEntry(options.fleet, deployable, use.environment) });
    }
  }
  const pins: AliasPin[] = [];
  const ask: { readonly use: AliasUse; readonly label: string }[] = [];
  for (const wanted of firstUse.values()) {
    const given = pinnedVersionOf(options.given, wanted.use.name, wanted.use.alias);
    if (given !== undefined) pins.push({ name: wanted.use.name, alias: wanted.use.alias, version: given });
    else ask.push(wanted);
  }
  if (ask.length === 0) return pins;

  const connection = readMlflowConnection(options.env);
  if (!connection) {
    const { use, label } = ask[0] as (typeof ask)[number];
    throw new UserError('MLFLOW_NOT_CONFIGURED',
      `${label} reads registered model "${use.name}" by its alias "${use.alias}", and MLFLOW_TRACKING_URI is not set (or is not an http(s) URL), so \`generate\` cannot pin the version it points at`,
      `${buildErrors.MLFLOW_NOT_CONFIGURED.fix} The parent pipeline's \`generate\` job needs them too. Or name a version (\`mlflow: { name: ${use.name}, version: 3 }\`) instead of the alias. ${WHY}`);
  }
  const client = createMlflowRegistryClient(connection, options.fetchImpl);
  const answers = await Promise.allSettled(ask.map(({ use }) => client.getModelVersionByAlias(use.name, use.alias)));
  for (const [i, answer] of answers.entries()) {
    const { use, label } = ask[i] as (typeof ask)[number];
    if (answer.status === 'rejected') throw await explainFailure(answer.reason, use, label, connection, client);
    const version = answer.value.version;
    if (!MLFLOW_VERSION.test(version)) {
      throw new UserError('MLFLOW_UNREACHABLE', `${label}: ${connection.baseUrl} answered the alias "${use.alias}" of registered model "${use.name}" with ${JSON.stringify(version)}, which is not a registry version number`,
        `${buildErrors.MLFLOW_UNREACHABLE.fix} ${WHY}`);
    }
    pins.push({ name: use.name, alias: use.alias, version });
  }
  return pins;
}

async function explainFailure(err: unknown, use: AliasUse, label: string, connection: MlflowConnection, client: MlflowRegistryClient): Promise<unknown> {
  if (!(err instanceof MlflowRequestError)) return err;
  const what = `the alias "${use.alias}" of registered model "${use.name}"`;
  const fail = (code: keyof typeof buildErrors, message: string, fix: string = buildErrors[code].fix) =>
    new UserError(code, `${label}: ${message}`, `${fix} ${WHY}`, { cause: err });
  if (err.status === 'unreachable') return fail('MLFLOW_UNREACHABLE', `cannot resolve ${what} at MLFLOW_TRACKING_URI=${connection.baseUrl}: ${err.message}`);
  if (err.status === 401 || err.status === 403) return fail('MLFLOW_AUTH_FAILED', `${connection.baseUrl} refused to resolve ${what} (${err.message})`);
  if (err.status === 404 || err.errorCode === 'RESOURCE_DOES_NOT_EXIST' || err.errorCode === 'INVALID_PARAMETER_VALUE') {
    // The alias endpoint answers the same for a missing model and a missing alias; the model's own endpoint tells them apart.
    const modelExists = await client.getRegisteredModel(use.name).then(() => true, () => false);
    if (!modelExists) return fail('MLFLOW_MODEL_NOT_FOUND', `the MLflow registry at ${connection.baseUrl} has no registered model "${use.name}"`);
    return fail('MLFLOW_VERSION_NOT_FOUND', `no version of registered model "${use.name}" carries the alias "${use.alias}" in the MLflow registry at ${connection.baseUrl}`,
      `Set the alias on a version in the MLflow UI (or name a version in models.yaml), then run the pipeline again.`);
  }
  return fail('MLFLOW_UNREACHABLE', `${connection.baseUrl} failed to resolve ${what}: ${err.message} (${err.url})`);
}
