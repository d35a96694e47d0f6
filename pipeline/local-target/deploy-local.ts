/**
 * `modelfleet deploy` on the local target: start the new instance beside the old one, wait
 * for its /readyz, point the gateway at it, then stop the old one. If the new instance never
 * gets ready, it is stopped, the old one keeps serving, and the job fails with the reason.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '../../lib/errors/user-error.js';
import type { FleetSpec } from '../../generator/fleet/types.js';
import { findFreePort } from '../loadtest/free-port.js';
import type { DockerSeam } from '../seams/docker.js';
import { isInstanceAlive, startContainer, startProcess, stopInstance, type RunningInstance } from './instance-runtime.js';
import { reloadLocalGateway, routesFile, writeLocalRoutes } from './local-gateway.js';
import { localDir, readLocalState, stateRoot, updateLocalState, withModel, withoutModel, type LocalModelInstance } from './local-state.js';
import { waitHttpReady } from './wait-http-ready.js';

export const DEFAULT_LOCAL_READY_TIMEOUT_MS = 60_000;
const LOG_LINES = 20;

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
}

export interface LocalDeployResult {
  readonly outcome: 'deployed' | 'unchanged';
  readonly url: string;
  readonly instance: LocalModelInstance;
}

export async function deployLocal(request: LocalDeployRequest): Promise<LocalDeployResult> {
  const { deployName, docker } = request;
  const report = request.report ?? (() => undefined);
  const root = request.root ?? stateRoot();
  const hash = await instanceHash(request);
  const before = await readLocalState(root);
  const current = before.models[deployName];
  if (current && current.hash === hash && (await isInstanceAlive(current, docker))) {
    const ready = await waitHttpReady({ url: `http://127.0.0.1:${current.port}/readyz`, timeoutMs: 0 });
    if (ready.ready) {
      report(`${deployName}: unchanged (already serving on 127.0.0.1:${current.port}); nothing to do`);
      return { outcome: 'unchanged', url: `http://127.0.0.1:${current.port}`, instance: current };
    }
  }

  const taken = new Set(Object.values(before.models).map((m) => m.port));
  let port = await findFreePort();
  while (taken.has(port)) port = await findFreePort();
  const running = await startInstance(request, port, root);
  report(`${deployName}: started ${describeRuntime(request.runtime)} on 127.0.0.1:${port}; waiting for /readyz`);
  const timeoutMs = request.readyTimeoutMs ?? DEFAULT_LOCAL_READY_TIMEOUT_MS;
  const ready = await waitHttpReady({ url: `http://127.0.0.1:${port}/readyz`, timeoutMs, exitReason: () => running.exitReason() });

  if (!ready.ready) {
    const logs = await running.logs(LOG_LINES);
    await stopInstance(running.instance, docker, 2);
    report(`${deployName}: the new instance on 127.0.0.1:${port} did not become ready: ${ready.reason}`);
    if (logs.trim() !== '') {
      report(`  last ${LOG_LINES} log lines:`);
      for (const line of logs.trimEnd().split('\n')) report(`  | ${line}`);
    }
    const kept = current && (await isInstanceAlive(current, docker))
      ? `The previous instance on 127.0.0.1:${current.port} keeps serving.`
      : 'There was no running previous instance.';
    throw new UserError('DEPLOY_LOCAL_NOT_READY', `model ${deployName}: the new instance did not become ready (${ready.reason}). It was stopped. ${kept}`,
      `Read the log lines above, fix the cause (memory limit in sizing.json, model files, port), then run \`modelfleet deploy --model ${deployName}\` again.`);
  }

  const instance: LocalModelInstance = {
    ...running.instance,
    deployName,
    serves: request.runtime.kind === 'docker' ? request.runtime.image : request.runtime.modelDir,
    hash,
    ...(request.runtime.kind === 'docker' && request.runtime.memoryLimitBytes ? { memoryLimitBytes: request.runtime.memoryLimitBytes } : {}),
  };
  // Swap: record the new instance, point the gateway at it, and only then stop the old one,
  // so every request finds a ready instance (the old one drains in-flight requests on SIGTERM).
  // The routes file is written under the state lock: deploy jobs running side by side each
  // write a table that holds every instance recorded so far, never a stale one.
  const after = await updateLocalState(async (state) => {
    const next = withModel(state, instance);
    await writeLocalRoutes(request.fleet, next, routesFile(root));
    return next;
  }, root);
  const reloaded = await reloadLocalGateway(after, docker);
  if (current && (current.port !== instance.port || current.containerId !== instance.containerId)) await stopInstance(current, docker);
  report(`${deployName}: deployed on http://127.0.0.1:${port} (ready after ${(ready.afterMs / 1000).toFixed(1)}s)${reloaded ? '; gateway reloaded' : ''}`);
  return { outcome: 'deployed', url: `http://127.0.0.1:${port}`, instance };
}

/** Stops a deployable's local instance and takes its route out of the gateway. */
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
  report(`${deployName}: stopped the local instance on 127.0.0.1:${current.port}`);
  return true;
}

async function startInstance(request: LocalDeployRequest, port: number, root: string): Promise<RunningInstance> {
  const { runtime, deployName } = request;
  if (runtime.kind === 'docker') {
    if (!request.docker) throw new UserError('DEPLOY_LOCAL_NO_RUNTIME', `model ${deployName}: no Docker engine answers, so its image ${runtime.image} cannot run`, 'Start Docker with `bash scripts/setup-docker.sh`.');
    return startContainer(request.docker, {
      name: `modelfleet-local-${deployName}-${port}`,
      image: runtime.image,
      port,
      env: request.env,
      label: deployName,
      ...(runtime.memoryLimitBytes ? { memoryLimitBytes: runtime.memoryLimitBytes } : {}),
    });
  }
  return startProcess({
    args: ['serve', '--model-dir', runtime.modelDir, '--port', String(port), '--host', '127.0.0.1'],
    port,
    env: request.env,
    logFile: join(localDir(root), 'logs', `${deployName}-${port}.log`),
  });
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
