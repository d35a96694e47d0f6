import { findDeployable } from '../../generator/fleet/find-deployable.js';
import { deployableInEnvironment, findEnvironment } from '../../generator/fleet/find-environment.js';
import { loadFleet } from '../../generator/fleet/load-fleet.js';
import type { Deployable, EnvironmentSpec, FleetSpec } from '../../generator/fleet/types.js';
import { digestDirectory } from '../../lib/file-digest.js';
import { UserError } from '../../lib/errors/user-error.js';
import { registryHas } from '../build/open-registry-for.js';
import { registryTargetFor } from '../build/registry-target.js';
import { withDeployedConfig } from '../deploy/deployed-config.js';
import { fleetHasScaledObjects } from '../deploy/fleet-has-scaled-objects.js';
import { BULK_MANAGED_KINDS, deployToKube } from '../deploy/kube/deploy-to-kube.js';
import { createNamespaceSetting } from '../deploy/kube/namespace-for-env.js';
import { versionedDeployOf } from '../deploy/kube/version-slots.js';
import { deployLocal } from '../local-target/deploy-local.js';
import { environmentStateRoot, readLocalState } from '../local-target/local-state.js';
import { localServerEnv, renderDeployableManifests } from '../manifests/render-deployable-manifests.js';
import { parseImageReference } from '../registry/registry-client.js';
import { openDocker } from '../seams/docker.js';
import { openKube, type KubeObject } from '../seams/kube.js';
import { formatMemoryQuantity } from '../sizing/sizing-policy.js';
import type { DeploymentRecord, RecordFields } from './deployment-record.js';
import { readKubeRecords, recordKubeDeploy } from './kube-history.js';
import { localRecords, recordLocalDeploy } from './local-history.js';

/**
 * `modelfleet promote` and `modelfleet rollback`: deploy what a recorded deployment ran (its image,
 * its measured limits) again, never building or measuring. Promote takes the newest record of one
 * environment into the next; rollback takes an earlier record of the same environment. The image
 * must still be where the record says (the registry for a cluster, this engine or the registry
 * locally), or nothing changes and the command says which revision's image is gone.
 */
export interface RedeployOptions {
  readonly file: string;
  readonly target: 'kube' | 'local';
  readonly timeoutSeconds?: number;
  readonly env: NodeJS.ProcessEnv;
  readonly print: (line: string) => void;
}

export async function promote(options: RedeployOptions & { readonly model: string; readonly from: string; readonly to: string }): Promise<DeploymentRecord> {
  const fleet = loadFleet(options.file);
  const deployName = findDeployable(fleet, options.model).variant.deployName;
  const from = findEnvironment(fleet, options.from);
  const to = findEnvironment(fleet, options.to);
  if (from.name === to.name) throw new UserError('PROMOTE_INVALID', `--from and --to are both ${from.name}`, 'Promote from one environment to another, e.g. --from staging --to production.');
  const records = await recordsIn(fleet, from, deployName, options);
  const source = records.at(-1);
  if (!source) {
    throw new UserError('PROMOTE_INVALID', `${deployName} has no recorded deployment in ${from.name}`, `Deploy it there first (\`${deployName}:deploy:${from.name}\`), then promote.`);
  }
  options.print(`${deployName}: promoting ${from.name} revision ${source.revision} (${source.image}, version ${source.version ?? '-'}) to ${to.name}; nothing is built or measured`);
  return redeploy(fleet, to, deployName, source, `promoted from ${from.name} revision ${source.revision}`, options);
}

export async function rollback(options: RedeployOptions & { readonly model: string; readonly environment: string | undefined; readonly to: string | undefined }): Promise<DeploymentRecord> {
  const fleet = loadFleet(options.file);
  const deployName = findDeployable(fleet, options.model).variant.deployName;
  const environment = findEnvironment(fleet, options.environment);
  const records = await recordsIn(fleet, environment, deployName, options);
  const current = records.at(-1);
  if (!current) throw new UserError('ROLLBACK_NO_REVISION', `${deployName} has no recorded deployment in ${environment.name}`, 'There is nothing to roll back to.');
  const chosen = chooseRevision(records, options.to);
  if (!chosen) {
    const listed = records.map((r) => `${r.revision} (version ${r.version ?? '-'})`).join(', ');
    throw new UserError('ROLLBACK_NO_REVISION', options.to === undefined
      ? `${deployName} in ${environment.name}: no earlier revision runs another image than revision ${current.revision}`
      : `${deployName} in ${environment.name}: no revision or version "${options.to}" is recorded (recorded: ${listed})`,
    `Pick one with --to REVISION or --to VERSION (\`modelfleet history --model ${deployName} --env ${environment.name}\`).`);
  }
  options.print(`${deployName}: rolling ${environment.name} back to revision ${chosen.revision} (${chosen.image}, version ${chosen.version ?? '-'}); nothing is built or measured`);
  return redeploy(fleet, environment, deployName, chosen, `rolled back to revision ${chosen.revision}`, options);
}

/** `--to` as a revision number or a version; without it the newest earlier revision that ran another image. */
export function chooseRevision(records: readonly DeploymentRecord[], to: string | undefined): DeploymentRecord | undefined {
  const current = records.at(-1);
  if (to === undefined) return [...records].reverse().find((r) => r.content !== current?.content);
  const byRevision = /^\d+$/.test(to) ? records.find((r) => r.revision === Number(to)) : undefined;
  return byRevision ?? [...records].reverse().find((r) => r.version === to);
}

async function recordsIn(fleet: FleetSpec, environment: EnvironmentSpec, deployName: string, options: RedeployOptions): Promise<readonly DeploymentRecord[]> {
  if (options.target === 'kube') return readKubeRecords(await openKube(environment.context !== undefined ? { context: environment.context } : {}), environment.namespace, deployName);
  return localRecords(await readLocalState(environmentStateRoot(fleet.environments, environment.name)), deployName);
}

async function redeploy(fleet: FleetSpec, environment: EnvironmentSpec, deployName: string, record: DeploymentRecord, via: string, options: RedeployOptions): Promise<DeploymentRecord> {
  const deployable = deployableInEnvironment(findDeployable(fleet, deployName), environment);
  const fields: RecordFields = {
    deployName, environment: environment.name, image: record.image, content: record.content,
    ...(record.version !== undefined ? { version: record.version } : {}),
    ...(record.memoryLimitBytes !== undefined ? { memoryLimitBytes: record.memoryLimitBytes } : {}),
    ...(record.memoryRequestBytes !== undefined ? { memoryRequestBytes: record.memoryRequestBytes } : {}),
    ...(record.cpuRequest !== undefined ? { cpuRequest: record.cpuRequest } : {}),
    minReplicas: deployable.model.scaling.minReplicas,
    maxReplicas: deployable.model.scaling.maxReplicas,
    outcome: 'deployed',
    ...(record.deployedConfig !== undefined ? { deployedConfig: record.deployedConfig } : {}),
    via,
  };
  const written = options.target === 'kube'
    ? await redeployToKube(fleet, environment, deployable, record, fields, options)
    : await redeployLocally(fleet, environment, deployable, record, fields, options);
  options.print(`${deployName}: revision ${written.revision} in ${environment.name} runs ${record.image} (${via})`);
  return written;
}

async function redeployToKube(fleet: FleetSpec, environment: EnvironmentSpec, deployable: Deployable, record: DeploymentRecord, fields: RecordFields, options: RedeployOptions): Promise<DeploymentRecord> {
  const name = deployable.variant.deployName;
  await requireRecordedImage(name, record, options.env);
  if (record.memoryLimitBytes === undefined || record.memoryRequestBytes === undefined || record.cpuRequest === undefined) {
    throw new UserError('ROLLBACK_NO_REVISION', `${name}: revision ${record.revision} recorded no measured limits, so it cannot be deployed again as it was`, 'Deploy the version through its pipeline jobs instead.');
  }
  const resources = {
    requests: { cpu: record.cpuRequest, memory: formatMemoryQuantity(record.memoryRequestBytes) },
    limits: { memory: formatMemoryQuantity(record.memoryLimitBytes) },
  };
  const manifestOptions = { namespace: environment.namespace, image: record.image, imagePullSecrets: fleet.kubernetes.imagePullSecrets };
  const objects = renderDeployableManifests(deployable, { resources }, manifestOptions).map((m) => m.object as KubeObject);
  // The recorded mark comes back with the version: the gateway then sees what really runs.
  const marked = record.deployedConfig !== undefined ? withDeployedConfig(objects, record.deployedConfig) : objects;
  const kube = await openKube(environment.context !== undefined ? { context: environment.context } : {});
  const versions = versionedDeployOf(record.version, deployable.model);
  const deployed = await deployToKube({
    kube, deployName: name, environment: environment.name, namespace: environment.namespace, manifests: marked,
    timeoutMs: (options.timeoutSeconds ?? 300) * 1000, createNamespace: createNamespaceSetting(fleet), report: options.print,
    ...(fleetHasScaledObjects(fleet) ? { managedKinds: BULK_MANAGED_KINDS } : {}),
    ...(versions ? { versions } : {}),
  });
  return recordKubeDeploy(kube, environment.namespace, { ...fields, outcome: deployed.outcome }, options.env);
}

async function redeployLocally(fleet: FleetSpec, environment: EnvironmentSpec, deployable: Deployable, record: DeploymentRecord, fields: RecordFields, options: RedeployOptions): Promise<DeploymentRecord> {
  const name = deployable.variant.deployName;
  const root = environmentStateRoot(fleet.environments, environment.name);
  const docker = await openDocker();
  const isFolder = record.image.startsWith('/');
  if (isFolder) {
    // A plain process served the model folder: only the very same files make the same version.
    const now = await digestDirectory(record.image).catch(() => undefined);
    if (now !== record.content) {
      throw new UserError('ROLLBACK_IMAGE_GONE', `${name}: revision ${record.revision} served the model folder ${record.image}, whose files ${now === undefined ? 'are gone' : 'have changed since'}`, 'Deploy that version through its pipeline jobs instead (a model folder keeps no old versions).');
    }
  } else if (!docker || !(await docker.imageExists(record.image))) {
    throw new UserError('ROLLBACK_IMAGE_GONE', `${name}: revision ${record.revision}'s image ${record.image} is not in ${docker ? 'this Docker engine' : 'any Docker engine (none answers)'}`, `Rebuild it from the commit that deployed it (\`modelfleet build --model ${name}\`), or pick another revision.`);
  }
  const deployed = await deployLocal({
    fleet, deployName: name, docker, root, report: options.print,
    runtime: isFolder ? { kind: 'process', modelDir: record.image } : { kind: 'docker', image: record.image, ...(record.memoryLimitBytes !== undefined ? { memoryLimitBytes: record.memoryLimitBytes } : {}) },
    env: localServerEnv(deployable),
    ...(options.timeoutSeconds ? { readyTimeoutMs: options.timeoutSeconds * 1000 } : {}),
    ...(record.version !== undefined ? { version: record.version } : {}),
    keepVersions: deployable.model.keepVersions,
  });
  return recordLocalDeploy(root, { ...fields, outcome: deployed.outcome }, options.env);
}

/** A cluster pulls the recorded reference: it must still be in its registry (a tag-only reference the cluster shares with this engine is taken as it is). */
async function requireRecordedImage(name: string, record: DeploymentRecord, env: NodeJS.ProcessEnv): Promise<void> {
  let reference;
  try {
    reference = parseImageReference(record.image);
  } catch {
    return;
  }
  if (!record.image.includes('/') || !/[.:]/.test(record.image.split('/')[0] ?? '')) return;
  const configured = registryTargetFor(name, reference.tag, env);
  const target = configured?.reference === record.image ? configured : { host: reference.host, repository: reference.repository, reference: record.image, auth: undefined };
  const present = await registryHas(target).catch((err: unknown) => {
    throw new UserError('ROLLBACK_IMAGE_GONE', `${name}: cannot ask the registry ${target.host} for revision ${record.revision}'s image ${record.image}: ${(err as Error).message}`, 'Check that the registry answers, then run the command again.', { cause: err });
  });
  if (!present) {
    throw new UserError('ROLLBACK_IMAGE_GONE', `${name}: revision ${record.revision}'s image ${record.image} is gone from the registry ${target.host}; nothing was changed`,
      `Rebuild it by re-running the \`${name}:build\` job of the pipeline that deployed it (commit ${record.commit?.slice(0, 8) ?? 'unknown'}), or pick another revision.`);
  }
}
