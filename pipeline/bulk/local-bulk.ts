import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { FleetSpec } from '../../generator/fleet/types.js';
import { findPackageRoot } from '../../lib/package-root.js';
import { localDir, stateRoot } from '../local-target/local-state.js';
import { fleetHasBulk } from './fleet-has-bulk.js';
import { LocalRedisServer, waitForPing } from './local-redis.js';
import { isAlive, readLocalBulkState, writeLocalBulkState } from './local-bulk-state.js';

/** How long `down` gives the supervisor to stop its workers (they answer the chunks in hand first). */
const SUPERVISOR_STOP_MS = 40_000;

/**
 * The local target's bulk part, for a fleet with bulk models: a redis-server of its own
 * (`.modelfleet/local/redis`, append-only file, 127.0.0.1, MODELFLEET_REDIS_PORT or a free port),
 * kept across runs, and the supervisor (`modelfleet bulk supervise`), restarted on every run so it
 * follows the current models.yaml. Both outlive this command; `stopLocalBulk` ends them.
 * Returns Redis' URL, or undefined when the fleet has no bulk model.
 */
export async function startLocalBulk(fleet: FleetSpec, options: { readonly file: string; readonly out: string; readonly print: (line: string) => void }): Promise<string | undefined> {
  if (!fleetHasBulk(fleet)) return undefined;
  const { print } = options;
  const state = await readLocalBulkState();
  let redis = state.redis;
  if (redis && isAlive(redis.pid)) {
    await waitForPing(`redis://127.0.0.1:${redis.port}`, 5_000);
  } else {
    const requested = process.env.MODELFLEET_REDIS_PORT ? Number(process.env.MODELFLEET_REDIS_PORT) : undefined;
    const server = await LocalRedisServer.start({ dir: join(localDir(), 'redis'), detached: true, ...(requested ? { port: requested } : {}) });
    redis = { port: server.port, pid: server.pid ?? -1, dir: server.dir };
    print(`bulk: started redis-server on 127.0.0.1:${server.port} (data in ${server.dir})`);
  }
  const url = `redis://127.0.0.1:${redis.port}`;
  if (state.supervisor && isAlive(state.supervisor.pid)) await stopProcess(state.supervisor.pid, SUPERVISOR_STOP_MS);
  const logFile = join(localDir(), 'logs', 'bulk-supervisor.log');
  await mkdir(join(localDir(), 'logs'), { recursive: true });
  const out = openSync(logFile, 'a');
  const child = spawn(process.execPath, [join(findPackageRoot(), 'bin', 'modelfleet.js'), 'bulk', 'supervise', '--file', resolve(options.file), '--build-dir', resolve(options.out), '--redis', url],
    { detached: true, stdio: ['ignore', out, out], env: { ...process.env, MODELFLEET_STATE_DIR: stateRoot() } });
  closeSync(out);
  child.unref();
  await writeLocalBulkState({ redis, supervisor: { pid: child.pid ?? -1, logFile, file: resolve(options.file) } });
  print(`bulk: Redis ${url}; the supervisor (pid ${child.pid ?? '?'}, log ${logFile}) starts workers while a queue has lag`);
  return url;
}

/** Stops the supervisor (and so its workers), then Redis (it flushes its append-only file). */
export async function stopLocalBulk(print: (line: string) => void): Promise<void> {
  const state = await readLocalBulkState();
  if (state.supervisor && isAlive(state.supervisor.pid)) {
    await stopProcess(state.supervisor.pid, SUPERVISOR_STOP_MS);
    print(`stopped the bulk supervisor and its workers (pid ${state.supervisor.pid})`);
  }
  if (state.redis && isAlive(state.redis.pid)) {
    await stopProcess(state.redis.pid, 10_000);
    print(`stopped redis-server (127.0.0.1:${state.redis.port}; its data stays in ${state.redis.dir})`);
  }
  if (state.redis || state.supervisor) await writeLocalBulkState({});
}

/** SIGTERM, then SIGKILL once `graceMs` has passed. */
export async function stopProcess(pid: number, graceMs: number): Promise<void> {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (isAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  if (isAlive(pid)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Gone meanwhile.
    }
  }
}
