/**
 * `modelfleet deploy` on the local target: start the new instance beside the old one, wait
 * for its /readyz, point the gateway at it, then stop the old one, or keep it running as an
 * earlier version (models.yaml `keepVersions:`). If the new instance never gets ready, it is
 * stopped, the old one keeps serving, and the job fails with the reason. Deploying a version
 * that is kept and alive with the same settings (a rollback) switches back to it at once.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '../../lib/errors/user-error.js';
import { findFreePort } from '../../lib/free-port.js';
import type { FleetSpec } from '../../generator/fleet/types.js';
import { startContainerInstance } from '../instance-runtime/container-instance.js';
import { modelfleetArgs, startProcessInstance } from '../instance-runtime/process-instance.js';
import { attachInstance, isInstanceAlive, stopInstance } from '../instance-runtime/recorded-instance.js';
import { describeEnd, instanceUrl, type ServerInstance } from '../instance-runtime/server-instance.js';
import { waitForReady } from '../instance-runtime/wait-for-ready.js';
import type { DockerSeam } from '../seams/docker.js';
import { reloadLocalGateway, routesFile, writeLocalRoutes } from './local-gateway.js';
import { keptOf, localDir, readLocalState, stateRoot, updateLocalState, withoutModel, withVersions, type LocalModelInstance, type LocalState } from './local-state.js';
import { planKeptVersions, type KeptVersionsPlan } from './plan-kept-versions.js';

export const DEFAULT_LOCAL_READY_TIMEOUT_MS = 60_000;
const LOG_LINES = 20;
/** Label on the local target's containers (`docker ps --filter label=modelfleet.local`). */
export const LOCAL_LABEL = 'modelfleet.local';

export type LocalRuntimeChoice =
  | { readonly kind: 'docker'; readonly image: string; readonly memoryLimitBytes?: number }
  | { readonly kind: 'process'; readonly modelDir: string };

export interface LocalDeployRequest {
  readonly fleet: FleetSpec;
  readonly deployName: string;
  readonly runtime: LocalRuntimeChoice;
  /** Docker seam when an engine answers (needed to start containers and to stop an old one). */
  readonly docker: DockerSeam | undefined;
  /** Model server settings (MODEL_NAME, batching) for the instance. */
  readonly env: Readonly<Record<string, string>>;
  readonly readyTimeoutMs?: number;
  readonly report?: (line: string) => void;
  /** The `.modelfleet` folder (default: MODELFLEET_STATE_DIR or ./.modelfleet). */
  readonly root?: string;
  /** The model version the instance serves (MLflow registry version or `local-<digest>`); without it nothing is kept. */
  readonly version?: string;
  /** Earlier versions that keep running beside the new one (models.yaml `keepVersions:`). Default 0. */
  readonly keepVersions?: number;
}

export interface LocalDeployResult {
  readonly outcome: 'deployed' | 'unchanged';
  readonly url: string;
  readonly instance: LocalModelInstance;
  /** True when a kept instance of this version became current again, without starting anything. */
  readonly switched?: boolean;
}

export async function deployLocal(request: LocalDeployRequest): Promise<LocalDeployResult> {
  const { deployName, docker } = request;
  const report = request.report ?? (() => undefined);
  const root = request.root ?? stateRoot();
  const keepVersions = request.keepVersions ?? 0;
  const hash = await instanceHash(request);
  const before = await readLocalState(root);
  const current = before.models[deployName];
  const { alive: keptAlive, gone: keptGone } = await partitionAlive(keptOf(before, deployName), docker);
  const live = current && current.hash === hash && (await isInstanceAlive(current, docker)) ? attachInstance(current, docker) : undefined;
  // Alive is not enough: the instance must still answer, as the gateway will ask it to.
  if (current && live && (await waitForReady(live, { timeoutMs: 0 })).ready) {
    const trimmed = planKeptVersions(current, undefined, keptAlive, keepVersions);
    if (trimmed.stop.length > 0 || keptGone.length > 0) await swapIn(request, root, current, trimmed, keptGone);
    report(`${deployName}: unchanged (already serving on ${hostPort(current)}); nothing to do`);
    return { outcome: 'unchanged', url: instanceUrl(current), instance: current };
  }
  const replaced = current && (await isInstanceAlive(current, docker)) ? current : undefined;
  const gone = current && !replaced ? [...keptGone, current] : keptGone;

  // A kept instance of exactly this deploy (same hash) that still answers: point the route back at it.
  for (const kept of keptAlive.filter((k) => k.hash === hash)) {
    const attached = attachInstance(kept, docker);
    if (!attached || !(await waitForReady(attached, { timeoutMs: 0 })).ready) continue;
    const instance: LocalModelInstance = request.version !== undefined ? { ...kept, version: request.version } : kept;
    const plan = planKeptVersions(instance, replaced, keptAlive, keepVersions);
    const reloaded = await swapIn(request, root, instance, plan, gone);
    const previous = replaced?.version !== undefined ? `; ${replaced.version} ${plan.kept.includes(replaced) ? 'is kept' : 'stopped'}` : '';
    report(`${deployName}: switched to the kept version ${instance.version ?? '?'} on ${hostPort(instance)} (no new instance started)${previous}${reloaded ? '; gateway reloaded' : ''}`);
    return { outcome: 'deployed', url: instanceUrl(instance), instance, switched: true };
  }

  const taken = new Set([...Object.values(before.models), ...keptAlive].map((m) => m.port));
  let port = await findFreePort();
  while (taken.has(port)) port = await findFreePort();
  const running = await startInstance(request, port, root);
  report(`${deployName}: started ${describeRuntime(request.runtime)} on ${hostPort(running.record)}; waiting for /readyz`);
  const timeoutMs = request.readyTimeoutMs ?? DEFAULT_LOCAL_READY_TIMEOUT_MS;
  const ready = await waitForReady(running, { timeoutMs });

  if (!ready.ready) {
    const reason = ready.ended
      ? `the ${request.runtime.kind === 'docker' ? 'container' : 'process'} ${describeEnd(ready.ended, running.memoryCapBytes)}`
      : `not ready after ${Math.round(timeoutMs / 1000)}s: ${ready.lastProblem}`;
    const logs = await running.logs(LOG_LINES);
    await running.stop(2);
    report(`${deployName}: the new instance on ${hostPort(running.record)} did not become ready: ${reason}`);
    if (logs.trim() !== '') {
      report(`  last ${LOG_LINES} log lines:`);
      for (const line of logs.trimEnd().split('\n')) report(`  | ${line}`);
    }
    const kept = current && (await isInstanceAlive(current, docker))
      ? `The previous instance on ${hostPort(current)} keeps serving.`
      : 'There was no running previous instance.';
    throw new UserError('DEPLOY_LOCAL_NOT_READY', `model ${deployName}: the new instance did not become ready (${reason}). It was stopped. ${kept}`,
      `Read the log lines above, fix the cause (memory limit in sizing.json, model files, port), then run \`modelfleet deploy --model ${deployName}\` again.`);
  }

  const instance: LocalModelInstance = {
    ...running.record,
    deployName,
    serves: request.runtime.kind === 'docker' ? request.runtime.image : request.runtime.modelDir,
    hash,
    // What a later wake-up needs to start it again (scale to zero, pipeline/local-target/local-waker.ts).
    start: { runtime: request.runtime, env: { ...request.env } },
    ...(request.runtime.kind === 'docker' && request.runtime.memoryLimitBytes ? { memoryLimitBytes: request.runtime.memoryLimitBytes } : {}),
    ...(request.version !== undefined ? { version: request.version } : {}),
  };
  const plan = planKeptVersions(instance, replaced, keptAlive, keepVersions);
  const reloaded = await swapIn(request, root, instance, plan, gone);
  const keptNote = replaced && plan.kept.includes(replaced) ? `; the previous version ${replaced.version ?? '?'} keeps running on ${hostPort(replaced)}` : '';
  report(`${deployName}: deployed on ${running.baseUrl} (ready after ${(ready.afterMs / 1000).toFixed(1)}s)${reloaded ? '; gateway reloaded' : ''}${keptNote}`);
  return { outcome: 'deployed', url: running.baseUrl, instance };
}

/**
 * Records `instance` as current with the plan's kept versions, points the gateway at them, and
 * only then stops what the plan lets go, so every request finds a ready instance (the old one
 * drains in-flight requests on SIGTERM). The routes file is written under the state lock:
 * deploy jobs running side by side each write a table that holds every instance recorded so far.
 */
async function swapIn(request: LocalDeployRequest, root: string, instance: LocalModelInstance, plan: KeptVersionsPlan, gone: readonly LocalModelInstance[]): Promise<boolean> {
  const after = await updateLocalState(async (state: LocalState) => {
    const next = withVersions(state, instance, plan.kept);
    await writeLocalRoutes(request.fleet, next, routesFile(root));
    return next;
  }, root);
  const reloaded = await reloadLocalGateway(after, request.docker);
  for (const old of [...plan.stop, ...gone]) await stopInstance(old, request.docker);
  return reloaded;
}

async function partitionAlive(instances: readonly LocalModelInstance[], docker: DockerSeam | undefined): Promise<{ alive: LocalModelInstance[]; gone: LocalModelInstance[] }> {
  const alive: LocalModelInstance[] = [];
  const gone: LocalModelInstance[] = [];
  for (const instance of instances) ((await isInstanceAlive(instance, docker)) ? alive : gone).push(instance);
  return { alive, gone };
}

/** Stops a deployable's local instance and its kept versions, and takes its route out of the gateway. */
export async function removeLocal(fleet: FleetSpec | undefined, deployName: string, docker: DockerSeam | undefined, report: (line: string) => void = () => undefined, root = stateRoot()): Promise<boolean> {
  const state = await readLocalState(root);
  const current = state.models[deployName];
  if (!current) return false;
  const after = await updateLocalState(async (s) => {
    const next = withoutModel(s, deployName);
    if (fleet) await writeLocalRoutes(fleet, next, routesFile(root));
    return next;
  }, root);
  if (fleet) await reloadLocalGateway(after, docker).catch(() => false);
  await stopInstance(current, docker);
  report(`${deployName}: stopped the local instance on ${hostPort(current)}`);
  for (const kept of keptOf(state, deployName)) {
    await stopInstance(kept, docker);
    report(`${deployName}: stopped its kept version ${kept.version ?? '?'} on ${hostPort(kept)}`);
  }
  return true;
}

/** Instances outlive this command: a container until it is stopped, a process detached with a log file. */
export async function startInstance(request: Pick<LocalDeployRequest, 'runtime' | 'deployName' | 'docker' | 'env'>, port: number, root: string): Promise<ServerInstance> {
  const { runtime, deployName } = request;
  if (runtime.kind === 'docker') {
    if (!request.docker) throw new UserError('DEPLOY_LOCAL_NO_RUNTIME', `model ${deployName}: no Docker engine answers, so its image ${runtime.image} cannot run`, 'Start Docker with `bash scripts/setup-docker.sh`.');
    return startContainerInstance(request.docker, {
      name: `modelfleet-local-${deployName}-${port}`,
      image: runtime.image,
      port,
      env: request.env,
      labels: { [LOCAL_LABEL]: deployName },
      ...(runtime.memoryLimitBytes ? { memoryCapBytes: runtime.memoryLimitBytes } : {}),
    });
  }
  return startProcessInstance({
    args: modelfleetArgs('serve', '--model-dir', runtime.modelDir, '--port', String(port), '--host', '127.0.0.1'),
    port,
    env: request.env,
    logFile: join(localDir(root), 'logs', `${deployName}-${port}.log`),
  });
}

function hostPort(record: { readonly host?: string; readonly port: number }): string {
  return `${record.host ?? '127.0.0.1'}:${record.port}`;
}

function describeRuntime(runtime: LocalRuntimeChoice): string {
  if (runtime.kind === 'process') return `a model server process for ${runtime.modelDir}`;
  const cap = runtime.memoryLimitBytes ? `, memory capped at ${Math.round(runtime.memoryLimitBytes / 1024 / 1024)} MiB` : '';
  return `container ${runtime.image}${cap}`;
}

/** Everything that decides what the instance serves: same hash and still alive → nothing to do. */
async function instanceHash(request: LocalDeployRequest): Promise<string> {
  const hash = createHash('sha256');
  hash.update(JSON.stringify({ runtime: request.runtime, env: Object.entries(request.env).sort() }));
  if (request.runtime.kind === 'process') {
    // A model directory can change in place; its files are small, so hash their bytes.
    const dir = request.runtime.modelDir;
    const files = (await readdir(dir).catch(() => [] as string[])).sort();
    for (const file of files) hash.update(file).update(await readFile(join(dir, file)).catch(() => Buffer.alloc(0)));
  }
  return hash.digest('hex').slice(0, 16);
}
