/**
 * `modelfleet deploy`: picks the target (Kubernetes when a kubeconfig is configured, the local
 * target otherwise), finds its inputs without earlier jobs' artifacts, renders the manifests
 * from the sizing record, and deploys one model, the gateway, or removes a model.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { UserError } from '../../lib/errors/user-error.js';
import { deployErrors } from '../../lib/errors/codes-deploy.js';
import { findDeployable, listDeployables } from '../../generator/fleet/find-deployable.js';
import { deployableInEnvironment, findEnvironment } from '../../generator/fleet/find-environment.js';
import { loadFleet } from '../../generator/fleet/load-fleet.js';
import type { Deployable, EnvironmentSpec, FleetSpec } from '../../generator/fleet/types.js';
import { localServerEnv, renderDeployableManifests } from '../manifests/render-deployable-manifests.js';
import { fleetHasScaledObjects } from './fleet-has-scaled-objects.js';
import { writeManifestFiles } from '../manifests/write-manifest-files.js';
import { modelFolderPaths } from '../model-folder/model-folder-paths.js';
import { openDocker, type DockerSeam } from '../seams/docker.js';
import { isKubeConfigured, openKube, type KubeClient, type KubeObject } from '../seams/kube.js';
import { deployLocalGateway } from '../local-target/local-gateway.js';
import { environmentGatewayPort } from '../local-target/gateway-port.js';
import { deployLocal, removeLocal, type LocalRuntimeChoice } from '../local-target/deploy-local.js';
import { environmentStateRoot, readLocalState, stateRoot } from '../local-target/local-state.js';
import { deployGatewayToKube, readLiveRouteTable } from './deploy-gateway-to-kube.js';
import { markDeployedConfig, readDeployedConfig } from './deployed-config.js';
import { setRegistryAlias } from './set-registry-alias.js';
import type { RecordFields } from '../history/deployment-record.js';
import { recordKubeDeploy } from '../history/kube-history.js';
import { recordLocalDeploy } from '../history/local-history.js';
import { formatCpuQuantity, type Sizing } from '../sizing/sizing-policy.js';
import { digestDirectory } from '../../lib/file-digest.js';
import { BULK_MANAGED_KINDS, deployToKube, MANAGED_KINDS, removeFromKube } from './kube/deploy-to-kube.js';
import { createNamespaceSetting, environmentName, namespaceForEnvironment } from './kube/namespace-for-env.js';
import { versionedDeployOf } from './kube/version-slots.js';
import { deployJobOf, ensureLocalImage, ensureModelFolder, ensureSizing, localModelDir, requireImageInRegistry, resolveDeployImage, type DeployImage, type DeployPaths } from './resolve-deploy-inputs.js';

export type DeployTarget = 'kube' | 'local' | 'auto';
export type LocalRuntimeFlag = 'docker' | 'process' | 'auto';

export interface DeployCommand {
  readonly action: { readonly kind: 'model'; readonly name: string } | { readonly kind: 'gateway' } | { readonly kind: 'remove'; readonly name: string };
  readonly file: string;
  readonly out: string;
  readonly target: DeployTarget;
  readonly environment?: string;
  readonly namespace?: string;
  readonly timeoutSeconds?: number;
  readonly runtime: LocalRuntimeFlag;
  readonly print: (line: string) => void;
}

/**
 * `auto` means Kubernetes when a cluster is configured, else this machine. Inside GitLab CI
 * (`GITLAB_CI=true`) `auto` without a cluster is refused, and so is `kube` without one
 * anywhere: a job that "deploys to production" by starting a process on its own runner would
 * pass while deploying nothing.
 */
export function chooseTarget(flag: DeployTarget, env: NodeJS.ProcessEnv = process.env): 'kube' | 'local' {
  if (flag === 'local') return 'local';
  if (isKubeConfigured(env)) return 'kube';
  if (flag === 'kube' || env.GITLAB_CI === 'true') {
    throw new UserError('DEPLOY_NO_CLUSTER',
      `${flag === 'kube' ? '--target kube' : 'this GitLab CI job'}: no Kubernetes cluster to deploy to: KUBECONFIG is unset or names no file, and the job does not run inside a cluster`,
      'Give the job a cluster: a KUBECONFIG file variable, the GitLab agent for Kubernetes (set KUBE_CONTEXT to the agent\'s context), or a runner inside the cluster. To deploy onto the runner itself, pass `--target local` (models.yaml: `ci: { deployTarget: local }`).');
  }
  return 'local';
}

export async function runDeploy(command: DeployCommand): Promise<void> {
  const target = chooseTarget(command.target);
  if (target === 'kube') return runKubeDeploy(command);
  return runLocalDeploy(command);
}

/** Where a deploy goes: the environment, and on Kubernetes its namespace and kube context. */
interface DeployPlace {
  readonly environment: string;
  readonly namespace: string;
  readonly context?: string;
  /** Undefined only for a removal without models.yaml (the environment is then taken by name). */
  readonly spec?: EnvironmentSpec;
}

/**
 * The environment of models.yaml that `--env` (else MODELFLEET_ENV, else the first one) names,
 * with its namespace (`--namespace` wins) and context. A removal may run where models.yaml is
 * gone; it then takes the environment by name with the default namespace rule.
 */
function placeOf(command: DeployCommand, fleet: FleetSpec | undefined): DeployPlace {
  if (!fleet) {
    const environment = environmentName(command.environment);
    return { environment, namespace: command.namespace ?? namespaceForEnvironment(environment) };
  }
  const spec = findEnvironment(fleet, command.environment);
  return { environment: spec.name, namespace: command.namespace ?? spec.namespace, ...(spec.context !== undefined ? { context: spec.context } : {}), spec };
}

function fleetlessStateRoot(environment: string): string {
  const own = environmentStateRoot([], environment);
  return existsSync(own) ? own : stateRoot();
}

function fleetIfPresent(command: DeployCommand): FleetSpec | undefined {
  return command.action.kind === 'remove' && !existsSync(command.file) ? undefined : loadFleet(command.file);
}

// ---------------------------------------------------------------- Kubernetes

async function runKubeDeploy(command: DeployCommand): Promise<void> {
  const { print } = command;
  const env = process.env;
  const fleetFile = fleetIfPresent(command);
  const { environment, namespace, context, spec } = placeOf(command, fleetFile);
  const kube = await openKube(context !== undefined ? { context } : {}).catch((err: unknown) => {
    throw new UserError('DEPLOY_API_ERROR', `the job's kubeconfig could not be used: ${(err as Error).message}`, deployErrors.DEPLOY_API_ERROR.fix, { cause: err });
  });
  const timeoutMs = (command.timeoutSeconds ?? 300) * 1000;
  print(`target: Kubernetes ${kube.server}${context !== undefined ? ` (context ${context})` : ''}, namespace ${namespace} (environment ${environment})`);

  switch (command.action.kind) {
    case 'remove': {
      await refuseIfStillRouted(kube, namespace, command.action.name, print);
      const removed = await removeFromKube(kube, namespace, command.action.name, print, fleetFile && fleetHasScaledObjects(fleetFile) ? BULK_MANAGED_KINDS : MANAGED_KINDS);
      print(removed.length === 0 ? `${command.action.name}: nothing deployed in ${namespace}; nothing to remove` : `${command.action.name}: removed ${removed.length} object(s) from ${namespace}`);
      return;
    }
    case 'model': {
      const { fleet, deployable, paths } = await prepareModel(command, command.action.name, fleetFile, environment);
      // This environment's scaling and pin; the mark below stays the model's own (what the gateway compares).
      const inEnvironment = spec ? deployableInEnvironment(deployable, spec) : deployable;
      const image = await resolveDeployImage(fleet, inEnvironment, paths, env, print);
      await requireImageInRegistry(image.registry, { build: `${paths.deployName}:build`, deploy: deployJobOf(paths) });
      const docker = await openDocker();
      const sizing = await ensureSizing(fleet, inEnvironment, image, paths, { canMeasure: docker !== undefined, loadtestArgs: ['--mode', 'docker'], env, print });
      const manifestOptions = { namespace, image: image.reference, imagePullSecrets: fleet.kubernetes.imagePullSecrets };
      const manifests = renderDeployableManifests(inEnvironment, sizing.sizing, manifestOptions);
      // For people reading the job's artifacts: what was rendered (a model of known version is applied as its version's unit, kube/version-slots.ts).
      await writeManifestFiles(modelFolderPaths(paths.out, paths.deployName).k8sDir, manifests);
      // The mark tells a later gateway deploy that this variant runs this commit's version.
      const marked = await markDeployedConfig(fleet, deployable, manifests.map((m) => m.object as KubeObject));
      const versions = versionedDeployOf(servedVersion(inEnvironment, image), inEnvironment.model);
      const deployed = await deployToKube({ kube, deployName: paths.deployName, environment, namespace, manifests: marked, timeoutMs, createNamespace: createNamespaceSetting(fleet), report: print, ...(fleetHasScaledObjects(fleet) ? { managedKinds: BULK_MANAGED_KINDS } : {}), ...(versions ? { versions } : {}) });
      const mark = readDeployedConfig(marked.find((o) => o.kind === 'Deployment') ?? marked[0] as KubeObject);
      const fields = { ...recordFields(inEnvironment, environment, image.reference, image, sizing.sizing, deployed.outcome), ...(mark ? { deployedConfig: mark } : {}) };
      const record = await recordKubeDeploy(kube, namespace, fields, env).catch((err: unknown) => {
        throw new UserError('DEPLOY_API_ERROR', `${paths.deployName}: deployed to ${namespace}, but its history record could not be written: ${(err as Error).message}`, deployErrors.DEPLOY_API_ERROR.fix, { cause: err });
      });
      print(`${paths.deployName}: revision ${record.revision} in ${environment} (modelfleet history --model ${paths.deployName} --env ${environment})`);
      await setRegistryAlias({ deployable: inEnvironment, environment: spec, version: image.modelVersion, env, print });
      return;
    }
    case 'gateway': {
      await deployGatewayToKube({ kube, file: command.file, out: command.out, environment, namespace, timeoutMs, env, print });
      return;
    }
  }
}

/**
 * A model left models.yaml, but the live gateway may still route to it: its model kept its
 * previous route because another variant's deploy failed. Removing it then would break that
 * route, so the removal waits for a gateway deploy that no longer needs it.
 */
async function refuseIfStillRouted(kube: KubeClient, namespace: string, deployName: string, print: (line: string) => void): Promise<void> {
  const live = await readLiveRouteTable(kube, namespace, print);
  const route = live?.routes.find((r) => r.variants.some((v) => v.deployName === deployName));
  if (!route) return;
  throw new UserError('DEPLOY_STILL_ROUTED', `${deployName} left models.yaml, but the live gateway in ${namespace} still routes ${route.route} to it (its model kept its previous route: another of its variants did not deploy)`,
    `Fix and re-run the failed \`<variant>:deploy\` job, then \`gateway:deploy\`, then \`${deployName}:remove\`. Nothing was removed.`);
}

// ---------------------------------------------------------------- local target

async function runLocalDeploy(command: DeployCommand): Promise<void> {
  const { print } = command;
  const docker = command.runtime === 'process' ? undefined : await openDocker();
  if (command.runtime === 'docker' && !docker) {
    throw new UserError('DEPLOY_LOCAL_NO_RUNTIME', '--runtime docker, but no Docker engine answers', 'Start one with `bash scripts/setup-docker.sh`, or use `--runtime process`.');
  }
  // One set of instances and one gateway per environment, each with its own state folder.
  const fleetFile = fleetIfPresent(command);
  const { environment, spec } = placeOf(command, fleetFile);
  const environments = fleetFile?.environments ?? [];
  // Without models.yaml (a removal after it was deleted) the order is unknown: the environment's own folder when it has one.
  const root = fleetFile ? environmentStateRoot(environments, environment) : fleetlessStateRoot(environment);
  print(`target: this machine, environment ${environment} (state ${root})`);
  switch (command.action.kind) {
    case 'remove': {
      const removed = await removeLocal(fleetFile, command.action.name, await openDocker(), print, root);
      if (!removed) print(`${command.action.name}: not running on the local target in ${environment}; nothing to remove`);
      return;
    }
    case 'gateway': {
      const fleet = fleetFile ?? loadFleet(command.file);
      const index = Math.max(0, environments.findIndex((e) => e.name === environment));
      const result = await deployLocalGateway(fleet, docker, print, root, { port: environmentGatewayPort(index), environment });
      // As on Kubernetes: once the gateway no longer routes to them, models that left models.yaml go.
      const keep = new Set(listDeployables(fleet).map((d) => d.variant.deployName));
      for (const name of Object.keys((await readLocalState(root)).models)) {
        if (!keep.has(name)) {
          print(`${name}: no longer in ${command.file}; stopping its local instance`);
          await removeLocal(fleet, name, docker ?? (await openDocker()), print, root);
        }
      }
      print(`gateway: ${result.url} (docs at ${result.url}/docs)`);
      return;
    }
    case 'model': {
      const prepared = await prepareModel(command, command.action.name, fleetFile, environment);
      const { fleet, paths } = prepared;
      const deployable = spec ? deployableInEnvironment(prepared.deployable, spec) : prepared.deployable;
      const env = process.env;
      const runtime = await chooseLocalRuntime(command, fleet, deployable, paths, docker);
      // The measured limit is enforced by Docker's memory cap; a plain process cannot be capped,
      // so process mode deploys without waiting for (or re-running) the measurement.
      const choice: LocalRuntimeChoice = runtime.kind === 'docker'
        ? { kind: 'docker', image: runtime.image.tag, memoryLimitBytes: (await ensureSizing(fleet, deployable, runtime.image, paths, { canMeasure: true, loadtestArgs: ['--mode', 'docker'], env, print })).sizing.memoryLimitBytes }
        : runtime;
      if (runtime.kind === 'process') print(`${paths.deployName}: process mode: no memory cap (Docker enforces the measured limit; a plain process cannot be capped)`);
      const serverEnv = localServerEnv(deployable);
      // A plain process serves the model folder: its files' digest stands for the image's content.
      const served = runtime.kind === 'docker' ? runtime.image : await folderAsServed(runtime.modelDir);
      const version = servedVersion(deployable, served);
      const deployed = await deployLocal({
        fleet,
        deployName: paths.deployName,
        runtime: choice,
        docker: docker ?? (await openDocker()),
        env: serverEnv,
        ...(command.timeoutSeconds ? { readyTimeoutMs: command.timeoutSeconds * 1000 } : {}),
        report: print,
        root,
        ...(version !== undefined ? { version } : {}),
        keepVersions: deployable.model.keepVersions,
      });
      const record = await recordLocalDeploy(root, recordFields(deployable, environment, runtime.kind === 'docker' ? runtime.image.tag : runtime.modelDir, served, choice.kind === 'docker' ? choice.memoryLimitBytes : undefined, deployed.outcome), env);
      print(`${paths.deployName}: revision ${record.revision} in ${environment} (modelfleet history --model ${paths.deployName} --env ${environment})`);
      if (runtime.kind === 'docker') await setRegistryAlias({ deployable, environment: spec, version: served.modelVersion, env, print });
      return;
    }
  }
}

/**
 * Docker when an engine answers and the model's image is there (pulled from the registry or
 * rebuilt when missing); otherwise a plain process serving the model's local MLflow folder.
 */
async function chooseLocalRuntime(command: DeployCommand, fleet: FleetSpec, deployable: Deployable, paths: DeployPaths, docker: DockerSeam | undefined): Promise<{ kind: 'docker'; image: DeployImage } | { kind: 'process'; modelDir: string }> {
  const modelDir = localModelDir(fleet, deployable, command.out);
  const source = deployable.variant.source;
  if (source.kind === 'image') {
    if (!docker) throw new UserError('DEPLOY_LOCAL_NO_RUNTIME', `model ${paths.deployName} brings its own image ${source.image}, and no Docker engine answers`, 'Start Docker with `bash scripts/setup-docker.sh`.');
    return { kind: 'docker', image: await resolveDeployImage(fleet, deployable, paths, process.env) };
  }
  if (docker && command.runtime !== 'process') {
    const image = await resolveDeployImage(fleet, deployable, paths, process.env, command.print);
    const local = await ensureLocalImage(docker, image, paths, process.env, command.print);
    if (local.ok) return { kind: 'docker', image };
    if (command.runtime === 'docker' || !modelDir) {
      throw new UserError('DEPLOY_LOCAL_NO_RUNTIME', `model ${paths.deployName}: ${local.why}, and building it here failed`,
        `Build it with \`modelfleet build --model ${paths.deployName}\` (the base image comes from \`bash scripts/build-base-image.sh\`), then deploy again.`);
    }
    command.print(`${paths.deployName}: no image to run (${local.why}); serving it as a process instead`);
  }
  if (!modelDir) {
    throw new UserError('DEPLOY_LOCAL_NO_RUNTIME', `model ${paths.deployName}: no Docker engine answers and its model files are not on this machine`,
      `Start Docker (\`bash scripts/setup-docker.sh\`) or run \`${paths.deployName}:build\` (it downloads registry models).`);
  }
  return { kind: 'process', modelDir: resolve(modelDir) };
}

/** What deploying one model needs first, on either target: the fleet, the model, and its folder (regenerated when missing). */
async function prepareModel(command: DeployCommand, name: string, loaded: FleetSpec | undefined, environment: string): Promise<{ fleet: FleetSpec; deployable: Deployable; paths: DeployPaths }> {
  const fleet = loaded ?? loadFleet(command.file);
  const deployable = findDeployable(fleet, name);
  const paths: DeployPaths = { file: command.file, out: command.out, deployName: deployable.variant.deployName, environment };
  await ensureModelFolder(paths, command.print);
  return { fleet, deployable, paths };
}

/** A model folder served as a plain process, described as an image would be: `local-<digest>`, as the image's model version reads. */
async function folderAsServed(modelDir: string): Promise<DeployImage> {
  const content = await digestDirectory(modelDir);
  return { tag: modelDir, reference: modelDir, registry: undefined, content, modelVersion: `local-${content.replace(/^sha256:/, '').slice(0, 12)}` };
}

/** The model version a deploy serves, as its record names it: the image's model version, else the registry version models.yaml pins. */
function servedVersion(deployable: Deployable, served: DeployImage | undefined): string | undefined {
  const source = deployable.variant.source;
  return served?.modelVersion ?? (source.kind === 'mlflow' ? source.version : undefined);
}

/** What a deploy's history record says about it (pipeline/history/deployment-record.ts). */
function recordFields(
  deployable: Deployable,
  environment: string,
  image: string,
  served: DeployImage | undefined,
  sizing: Pick<Sizing, 'memoryLimitBytes' | 'memoryRequestBytes' | 'cpuRequestMillicores'> | number | undefined,
  outcome: 'deployed' | 'unchanged',
): RecordFields {
  const { scaling } = deployable.model;
  const version = servedVersion(deployable, served);
  return {
    deployName: deployable.variant.deployName,
    environment,
    image,
    content: served?.content ?? image,
    ...(version !== undefined ? { version } : {}),
    ...(typeof sizing === 'number' ? { memoryLimitBytes: sizing } : {}),
    ...(typeof sizing === 'object' ? { memoryLimitBytes: sizing.memoryLimitBytes, memoryRequestBytes: sizing.memoryRequestBytes, cpuRequest: formatCpuQuantity(sizing.cpuRequestMillicores) } : {}),
    minReplicas: scaling.minReplicas,
    maxReplicas: scaling.maxReplicas,
    outcome,
  };
}
