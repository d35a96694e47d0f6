import { UserError } from '../../lib/errors/user-error.js';
import { describeEnd, type ServerInstance } from '../instance-runtime/server-instance.js';
import { waitForReady, type WaitForReadyOptions } from '../instance-runtime/wait-for-ready.js';

export interface WaitReadyOptions extends WaitForReadyOptions {
  /** Names the model in the error. */
  readonly model: string;
}

/**
 * The load test's wait for its server: the shared readiness poll, failing the job with
 * LOADTEST_SERVER_NOT_READY and the server's last output when the server dies or never gets
 * ready. Returns how long it took.
 */
export async function waitUntilReady(target: ServerInstance, options: WaitReadyOptions): Promise<number> {
  const outcome = await waitForReady(target, options);
  if (outcome.ready) return outcome.afterMs;
  const what = outcome.ended
    ? `the server ${describeEnd(outcome.ended, target.memoryCapBytes)} before it became ready (${target.description})`
    : `the server was not ready within ${Math.round(options.timeoutMs / 1000)} s (${outcome.lastProblem}; ${target.description})`;
  throw new UserError('LOADTEST_SERVER_NOT_READY', `model ${options.model}: ${what}.\n${await tailOf(target)}`);
}

async function tailOf(target: ServerInstance): Promise<string> {
  const logs = (await target.logs(20).catch(() => '')).trim();
  return logs === '' ? 'The server printed nothing.' : `Last lines of the server's output:\n${logs}`;
}
