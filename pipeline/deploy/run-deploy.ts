/**
 * `modelfleet deploy`: picks the target (Kubernetes when a kubeconfig is configured, the local
 * target otherwise), recreates missing inputs, and deploys one model, the gateway, or removes
 * a model.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { UserError } from '../../lib/errors/user-error.js';
import { findDeployable, listDeployables } from '../../generator/fleet/find-deployable.js';
import { loadFleet } from '../../generator/fleet/load-fleet.js';
import type { Deployable, FleetSpec } from '../../generator/fleet/types.js';
import { batchingEnv, SERVICE_PORT } from '../manifests/render-model-manifests.js';
import { openDocker, type DockerSeam } from '../seams/docker.js';
import { isKubeConfigured, openKube } from '../seams/kube.js';
import { deployLocalGateway } from '../local-target/local-gateway.js';
import { deployLocal, removeLocal, type LocalRuntimeChoice } from '../local-target/deploy-local.js';
import { readLocalState } from '../local-target/local-state.js';
import { GATEWAY_NAME, renderGatewayManifests } from './gateway/render-gateway-manifests.js';
import { GATEWAY_DEPLOYABLE } from './kube/deploy-labels.js';
import { deployToKube, pruneRemovedDeployables, removeFromKube } from './kube/deploy-to-kube.js';
import { environmentName, namespaceForEnvironment } from './kube/namespace-for-env.js';
import { ensureImage, ensureModelFolder, ensureSizing, localModelDir, readManifests, useRegistryReference, type DeployPaths } from './resolve-deploy-inputs.js';

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

export function chooseTarget(flag: DeployTarget, env: NodeJS.ProcessEnv = process.env): 'kube' | 'local' {
  if (flag !== 'auto') return flag;
  return isKubeConfigured(env) ? 'kube' : 'local';
}

export async function runDeploy(command: DeployCommand): Promise<void> {
  const target = chooseTarget(command.target);
  if (target === 'kube') return runKubeDeploy(command);
  return runLocalDeploy(command);
}

// ---------------------------------------------------------------- Kubernetes

async function runKubeDeploy(command: DeployCommand): Promise<void> {
  const { print } = command;
  const environment = environmentName(command.environment);
  const namespace = command.namespace ?? namespaceForEnvironment(environment);
  const kube = await openKube();
  const timeoutMs = (command.timeoutSeconds ?? 300) * 1000;
  print(`target: Kubernetes ${kube.server}, namespace ${namespace} (environment ${environment})`);

  switch (command.action.kind) {
    case 'remove': {
      const removed = await removeFromKube(kube, namespace, command.action.name, print);
      print(removed.length === 0 ? `${command.action.name}: nothing deployed in ${namespace}; nothing to remove` : `${command.action.name}: removed ${removed.length} object(s) from ${namespace}`);
      return;
    }
    case 'model': {
      const { paths } = await prepareModel(command, command.action.name);
      let manifests = await readManifests(paths);
      if (manifests.length === 0) {
        const docker = await openDocker();
        if (docker) await ensureImage(paths, print, { rebuild: true });
        manifests = (await ensureSizing(paths, print, { canMeasure: docker !== undefined })).manifests;
      }
      manifests = await useRegistryReference(paths, manifests);
      await deployToKube({ kube, deployName: paths.deployName, environment, namespace, manifests, timeoutMs, report: print });
      return;
    }
    case 'gateway': {
      const fleet = loadFleet(command.file);
      const image = await gatewayImage(command);
      const [{ buildRouteTable }, { readRouteInputs }, { formatRouteTable }] = await Promise.all([
        import('../../serving/gateway/route-table.js'),
        import('../../serving/gateway/read-route-inputs.js'),
        import('../../serving/gateway/route-table-file.js'),
      ]);
      const inputs = await readRouteInputs(fleet).catch(() => new Map());
      // Each variant's Service (same name as the deployable) in this namespace.
      const table = buildRouteTable(fleet, (name) => `http://${name}.${namespace}.svc.cluster.local:${SERVICE_PORT}`, { inputsFor: (name) => inputs.get(name) });
      const manifests = renderGatewayManifests({ namespace, image, routesJson: formatRouteTable(table) });
      await deployToKube({ kube, deployName: GATEWAY_DEPLOYABLE, environment, namespace, manifests, timeoutMs, report: print });
      // Only now that the gateway no longer routes to them are removed models deleted.
      const keep = new Set([...listDeployables(fleet).map((d) => d.variant.deployName), GATEWAY_DEPLOYABLE]);
      await pruneRemovedDeployables(kube, namespace, keep, print);
      print(`gateway: ${table.routes.length} route(s) served by Service ${GATEWAY_NAME}.${namespace}`);
      return;
    }
  }
}

/** The gateway image `build --gateway` recorded (build/gateway/image.json), rebuilt by that command when missing. */
async function gatewayImage(command: DeployCommand): Promise<string> {
  const file = join(command.out, 'gateway', 'image.json');
  const read = async () => {
    try {
      // A cluster pulls the pushed reference; the local tag only works on the build machine.
      const record = JSON.parse(await readFile(file, 'utf8')) as { tag?: unknown; registryReference?: unknown };
      if (typeof record.registryReference === 'string' && record.registryReference !== '') return record.registryReference;
      return typeof record.tag === 'string' && record.tag !== '' ? record.tag : undefined;
    } catch {
      return undefined;
    }
  };
  const found = await read();
  if (found) return found;
  const { runCliStep } = await import('./run-cli-step.js');
  command.print(`gateway: ${file} is missing; finding the gateway image by its content tag (modelfleet build --gateway)`);
  const result = await runCliStep(['build', '--gateway', '--file', command.file, '--out', command.out], { prefix: '  ', print: command.print });
  const rebuilt = result.code === 0 ? await read() : undefined;
  if (!rebuilt) {
    throw new UserError('DEPLOY_MISSING_INPUT', `the gateway image record ${file} is missing and \`modelfleet build --gateway\` could not recreate it`, 'Re-run the `gateway:build` job, then `gateway:deploy`.');
  }
  return rebuilt;
}

// ---------------------------------------------------------------- local target

async function runLocalDeploy(command: DeployCommand): Promise<void> {
  const { print } = command;
  const docker = command.runtime === 'process' ? undefined : await openDocker();
  if (command.runtime === 'docker' && !docker) {
    throw new UserError('DEPLOY_LOCAL_NO_RUNTIME', '--runtime docker, but no Docker engine answers', 'Start one with `bash scripts/setup-docker.sh`, or use `--runtime process`.');
  }
  switch (command.action.kind) {
    case 'remove': {
      const fleet = existsSync(command.file) ? loadFleet(command.file) : undefined;
      const removed = await removeLocal(fleet, command.action.name, await openDocker(), print);
      if (!removed) print(`${command.action.name}: not running on the local target; nothing to remove`);
      return;
    }
    case 'gateway': {
      const fleet = loadFleet(command.file);
      const result = await deployLocalGateway(fleet, docker, print);
      // As on Kubernetes: once the gateway no longer routes to them, models that left models.yaml go.
      const keep = new Set(listDeployables(fleet).map((d) => d.variant.deployName));
      for (const name of Object.keys((await readLocalState()).models)) {
        if (!keep.has(name)) {
          print(`${name}: no longer in ${command.file}; stopping its local instance`);
          await removeLocal(fleet, name, docker ?? (await openDocker()), print);
        }
      }
      print(`gateway: ${result.url} (docs at ${result.url}/docs)`);
      return;
    }
    case 'model': {
      const { fleet, deployable, paths } = await prepareModel(command, command.action.name);
      const runtime = await chooseLocalRuntime(command, fleet, paths, docker);
      // The measured limit is enforced by Docker's memory cap; a plain process cannot be capped,
      // so process mode deploys without waiting for (or re-running) the measurement.
      const choice: LocalRuntimeChoice = runtime.kind === 'docker'
        ? { kind: 'docker', image: runtime.image, memoryLimitBytes: (await ensureSizing(paths, print, { canMeasure: true, loadtestArgs: ['--mode', 'docker'] })).memoryLimitBytes }
        : runtime;
      if (runtime.kind === 'process') print(`${paths.deployName}: process mode: no memory cap (Docker enforces sizing.json's limit; a plain process cannot be capped)`);
      const env = Object.fromEntries([{ name: 'MODEL_NAME', value: paths.deployName }, ...batchingEnv(deployable)].map((e) => [e.name, e.value]));
      await deployLocal({
        fleet,
        deployName: paths.deployName,
        runtime: choice,
        docker: docker ?? (await openDocker()),
        env,
        ...(command.timeoutSeconds ? { readyTimeoutMs: command.timeoutSeconds * 1000 } : {}),
        report: print,
      });
      return;
    }
  }
}

/**
 * Docker when an engine answers and the model's image exists (or `build` recreates it);
 * otherwise a plain process serving the model's local MLflow folder.
 */
async function chooseLocalRuntime(command: DeployCommand, fleet: FleetSpec, paths: DeployPaths, docker: DockerSeam | undefined): Promise<{ kind: 'docker'; image: string } | { kind: 'process'; modelDir: string }> {
  const deployable = findDeployable(fleet, paths.deployName);
  const modelDir = localModelDir(fleet, deployable, command.out);
  if (deployable.variant.source.kind === 'image') {
    if (!docker) throw new UserError('DEPLOY_LOCAL_NO_RUNTIME', `model ${paths.deployName} brings its own image ${deployable.variant.source.image}, and no Docker engine answers`, 'Start Docker with `bash scripts/setup-docker.sh`.');
    return { kind: 'docker', image: deployable.variant.source.image };
  }
  if (docker && command.runtime !== 'process') {
    let image: string | undefined;
    let why = '';
    try {
      image = await ensureImage(paths, command.print, { rebuild: true });
    } catch (err) {
      why = err instanceof Error ? err.message : String(err);
    }
    if (image && (await docker.imageExists(image))) return { kind: 'docker', image };
    if (command.runtime === 'docker' || !modelDir) {
      throw new UserError('DEPLOY_LOCAL_NO_RUNTIME', `model ${paths.deployName}: its image ${image ?? '(unknown)'} is not in the local Docker engine${why ? ` (${why})` : ''}`,
        `Build it with \`modelfleet build --model ${paths.deployName}\` (the base image comes from \`bash scripts/build-base-image.sh\`), then deploy again.`);
    }
    command.print(`${paths.deployName}: no image to run (${why || `${image ?? 'no tag'} not in the engine`}); serving it as a process instead`);
  }
  if (!modelDir) {
    throw new UserError('DEPLOY_LOCAL_NO_RUNTIME', `model ${paths.deployName}: no Docker engine answers and its model files are not on this machine`,
      `Start Docker (\`bash scripts/setup-docker.sh\`) or run \`${paths.deployName}:build\` (it downloads registry models).`);
  }
  return { kind: 'process', modelDir: resolve(modelDir) };
}

/** What deploying one model needs first, on either target: the fleet, the model, and its folder (regenerated when missing). */
async function prepareModel(command: DeployCommand, name: string): Promise<{ fleet: FleetSpec; deployable: Deployable; paths: DeployPaths }> {
  const fleet = loadFleet(command.file);
  const deployable = findDeployable(fleet, name);
  const paths: DeployPaths = { file: command.file, out: command.out, deployName: deployable.variant.deployName };
  await ensureModelFolder(paths, command.print);
  return { fleet, deployable, paths };
}
