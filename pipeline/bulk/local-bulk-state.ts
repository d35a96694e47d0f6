import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { localDir, stateRoot } from '../local-target/local-state.js';

/**
 * What the local target runs for bulk predictions: its redis-server and the supervisor that
 * starts and stops workers. Kept beside the local target's state, in `.modelfleet/local/bulk.json`,
 * so `bulk submit` finds the local Redis without a flag and `modelfleet down` stops both.
 */
export interface LocalBulkState {
  readonly redis?: { readonly port: number; readonly pid: number; readonly dir: string };
  readonly supervisor?: { readonly pid: number; readonly logFile: string; readonly file: string };
}

export function bulkStateFile(root = stateRoot()): string {
  return join(localDir(root), 'bulk.json');
}

export async function readLocalBulkState(root = stateRoot()): Promise<LocalBulkState> {
  try {
    return JSON.parse(await readFile(bulkStateFile(root), 'utf8')) as LocalBulkState;
  } catch {
    return {};
  }
}

export async function writeLocalBulkState(state: LocalBulkState, root = stateRoot()): Promise<void> {
  const file = bulkStateFile(root);
  await mkdir(localDir(root), { recursive: true });
  const staging = `${file}.tmp-${process.pid}`;
  await writeFile(staging, `${JSON.stringify(state, null, 2)}\n`);
  await rename(staging, file);
}

/** Whether a pid still names a running process. */
export function isAlive(pid: number | undefined): boolean {
  if (pid === undefined || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The local target's Redis URL when its redis-server still runs. */
export async function localRedisUrl(root = stateRoot()): Promise<string | undefined> {
  const state = await readLocalBulkState(root);
  return state.redis && isAlive(state.redis.pid) ? `redis://127.0.0.1:${state.redis.port}` : undefined;
}
