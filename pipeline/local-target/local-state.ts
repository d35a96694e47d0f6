/**
 * What the local target runs right now: one instance per deployable (its port, container or
 * pid), the earlier versions each keeps running (models.yaml `keepVersions:`) and the gateway. Kept in `.modelfleet/local/state.json` (MODELFLEET_STATE_DIR moves the
 * `.modelfleet` folder), written atomically under a lock file because deploy jobs of one
 * pipeline run side by side.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { DeploymentRecord } from '../history/deployment-record.js';
import type { InstanceRecord } from '../instance-runtime/server-instance.js';

export const STATE_FORMAT = 1;

export interface LocalModelInstance extends InstanceRecord {
  readonly deployName: string;
  /** Image reference (Docker) or model directory (process) it serves. */
  readonly serves: string;
  /** Hash of everything that decides the instance; equal hash and alive = unchanged. */
  readonly hash: string;
  /** Docker memory cap from sizing.json (bytes); undefined in process mode. */
  readonly memoryLimitBytes?: number;
  /** How to start it again on the same port (a model that scales to zero is woken from this). */
  readonly start?: LocalStartSpec;
  /** The model version it serves (MLflow registry version or `local-<digest>`), when the deploy knew it. */
  readonly version?: string;
}

/** The runtime and server settings an instance was deployed with. */
export interface LocalStartSpec {
  readonly runtime: { readonly kind: 'docker'; readonly image: string; readonly memoryLimitBytes?: number } | { readonly kind: 'process'; readonly modelDir: string };
  readonly env: Readonly<Record<string, string>>;
}

export interface LocalGatewayInstance extends InstanceRecord {
  readonly routesFile: string;
}

export interface LocalState {
  readonly format: typeof STATE_FORMAT;
  readonly models: Readonly<Record<string, LocalModelInstance>>;
  /** Earlier versions of a deployable that still run beside its current instance, newest first. */
  readonly kept?: Readonly<Record<string, readonly LocalModelInstance[]>>;
  readonly gateway?: LocalGatewayInstance;
  /** Every model's deployments here, oldest first (`modelfleet history`); kept when a model is removed. */
  readonly history?: Readonly<Record<string, readonly DeploymentRecord[]>>;
}

export const EMPTY_STATE: LocalState = { format: STATE_FORMAT, models: {} };

/** `.modelfleet` in the current folder, or MODELFLEET_STATE_DIR. */
export function stateRoot(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.MODELFLEET_STATE_DIR ?? '.modelfleet');
}

/**
 * The state folder of one environment on this machine: the first environment of the fleet
 * (where `modelfleet up` and `npm start` deploy) keeps the plain `.modelfleet`, each later one
 * has its own `.modelfleet/environments/<name>`, with its own instances, routes and gateway.
 */
export function environmentStateRoot(environments: readonly { readonly name: string }[], environment: string, root = stateRoot()): string {
  return environments[0]?.name === environment ? root : join(root, 'environments', environment);
}

/** The state folders of every environment that has one on this machine, the first environment's first. */
export async function environmentStateRoots(root = stateRoot()): Promise<string[]> {
  const folder = join(root, 'environments');
  const names = await readdir(folder).catch(() => [] as string[]);
  return [root, ...names.sort().map((name) => join(folder, name))];
}

export function localDir(root = stateRoot()): string {
  return join(root, 'local');
}

export function stateFile(root = stateRoot()): string {
  return join(localDir(root), 'state.json');
}

export async function readLocalState(root = stateRoot()): Promise<LocalState> {
  let text: string;
  try {
    text = await readFile(stateFile(root), 'utf8');
  } catch {
    return EMPTY_STATE;
  }
  try {
    const parsed = JSON.parse(text) as Partial<LocalState>;
    if (parsed.format !== STATE_FORMAT || typeof parsed.models !== 'object' || parsed.models === null) return EMPTY_STATE;
    return {
      format: STATE_FORMAT,
      models: parsed.models,
      ...(typeof parsed.kept === 'object' && parsed.kept !== null ? { kept: parsed.kept } : {}),
      ...(parsed.gateway ? { gateway: parsed.gateway } : {}),
      ...(typeof parsed.history === 'object' && parsed.history !== null ? { history: parsed.history } : {}),
    };
  } catch {
    // A torn or hand-edited file: start over rather than fail every later deploy.
    return EMPTY_STATE;
  }
}

async function writeLocalState(state: LocalState, root: string): Promise<void> {
  await mkdir(localDir(root), { recursive: true });
  const file = stateFile(root);
  const temp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(temp, `${JSON.stringify(state, null, 2)}\n`);
  await rename(temp, file);
}

const LOCK_STALE_MS = 30_000;

/**
 * Runs `change` on the current state under an exclusive lock and writes what it returns.
 * A lock older than 30 s (a killed job) is taken over.
 */
export async function updateLocalState(change: (state: LocalState) => LocalState | Promise<LocalState>, root = stateRoot()): Promise<LocalState> {
  await mkdir(localDir(root), { recursive: true });
  const lock = join(localDir(root), 'state.lock');
  const started = Date.now();
  for (;;) {
    try {
      const handle = await open(lock, 'wx');
      await handle.writeFile(String(process.pid));
      await handle.close();
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const age = await stat(lock).then((s) => Date.now() - s.mtimeMs, () => 0);
      if (age > LOCK_STALE_MS || Date.now() - started > 2 * LOCK_STALE_MS) await rm(lock, { force: true });
      else await new Promise((r) => setTimeout(r, 50));
    }
  }
  try {
    const next = await change(await readLocalState(root));
    await writeLocalState(next, root);
    return next;
  } finally {
    await rm(lock, { force: true });
  }
}

export function withModel(state: LocalState, instance: LocalModelInstance): LocalState {
  return { ...state, models: { ...state.models, [instance.deployName]: instance } };
}

/** A deployable's current instance and its kept versions (an empty list keeps none). */
export function withVersions(state: LocalState, instance: LocalModelInstance, kept: readonly LocalModelInstance[]): LocalState {
  const others = { ...state.kept };
  delete others[instance.deployName];
  const keptAll = kept.length > 0 ? { ...others, [instance.deployName]: kept } : others;
  const { kept: _replaced, ...rest } = withModel(state, instance);
  return { ...rest, ...(Object.keys(keptAll).length > 0 ? { kept: keptAll } : {}) };
}

/** The earlier versions of a deployable still running, newest first. */
export function keptOf(state: LocalState, deployName: string): readonly LocalModelInstance[] {
  return state.kept?.[deployName] ?? [];
}

/** Every instance the state records: current ones and kept ones. */
export function allInstances(state: LocalState): LocalModelInstance[] {
  return [...Object.values(state.models), ...Object.values(state.kept ?? {}).flat()];
}

/** Forgets a deployable: its current instance and its kept versions. */
export function withoutModel(state: LocalState, deployName: string): LocalState {
  const models = { ...state.models };
  delete models[deployName];
  const kept = { ...state.kept };
  delete kept[deployName];
  const { kept: _dropped, ...rest } = state;
  return { ...rest, models, ...(Object.keys(kept).length > 0 ? { kept } : {}) };
}
