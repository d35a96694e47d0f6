import { UserError } from '../../lib/errors/user-error.js';
import { systemClock, type Clock } from '../seams/clock.js';
import type { ServerTarget } from './server-target.js';

export interface WaitReadyOptions {
  readonly timeoutMs: number;
  readonly intervalMs?: number;
  readonly clock?: Clock;
  /** Names the model in the error. */
  readonly model: string;
}

/**
 * Polls the server's ready path until it answers 2xx. Fails early, with the server's last log
 * lines, when the server exits; fails after `timeoutMs` when it never becomes ready.
 */
export async function waitUntilReady(target: ServerTarget, options: WaitReadyOptions): Promise<number> {
  const clock = options.clock ?? systemClock;
  const started = clock.now();
  const url = new URL(target.readyPath, target.baseUrl).toString();
  let lastProblem = 'no answer yet';
  while (clock.now() - started < options.timeoutMs) {
    const state = await target.state();
    if (!state.running) {
      const why = state.oomKilled ? 'was OOM-killed' : `exited with code ${state.exitCode ?? 'unknown'}`;
      throw new UserError('LOADTEST_SERVER_NOT_READY', `model ${options.model}: the server ${why} before it became ready (${target.description}).\n${await tailOf(target)}`);
    }
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      await response.arrayBuffer();
      if (response.ok) return clock.now() - started;
      lastProblem = `${url} answered ${response.status}`;
    } catch (err) {
      lastProblem = `${url}: ${(err as Error).message}`;
    }
    await clock.sleep(options.intervalMs ?? 200);
  }
  throw new UserError(
    'LOADTEST_SERVER_NOT_READY',
    `model ${options.model}: the server was not ready within ${Math.round(options.timeoutMs / 1000)} s (${lastProblem}; ${target.description}).\n${await tailOf(target)}`,
  );
}

async function tailOf(target: ServerTarget): Promise<string> {
  const logs = (await target.logs(20).catch(() => '')).trim();
  return logs === '' ? 'The server printed nothing.' : `Last lines of the server's output:\n${logs}`;
}
