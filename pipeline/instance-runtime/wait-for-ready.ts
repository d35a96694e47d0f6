import { systemClock, type Clock } from '../seams/clock.js';
import type { InstanceState, ServerInstance } from './server-instance.js';

export interface WaitForReadyOptions {
  /** 0 asks once. */
  readonly timeoutMs: number;
  readonly intervalMs?: number;
  readonly clock?: Clock;
}

export type ReadyOutcome =
  | { readonly ready: true; readonly afterMs: number }
  /** `ended`: the instance stopped running (how); otherwise time ran out. `lastProblem` is the last failed probe. */
  | { readonly ready: false; readonly ended: InstanceState | undefined; readonly lastProblem: string };

/** What the poller needs of an instance; `state` is optional so a bare URL can be waited for too. */
export type ReadyProbeTarget = Pick<ServerInstance, 'baseUrl' | 'readyPath'> & { readonly state?: ServerInstance['state'] };

/**
 * Polls the instance's ready path until it answers 2xx. Ends early, with how it ended, when the
 * instance stops running, so a crash is reported at once instead of after the whole timeout.
 * The timeout is read on `clock`, so tests can count polls instead of waiting.
 */
export async function waitForReady(target: ReadyProbeTarget, options: WaitForReadyOptions): Promise<ReadyOutcome> {
  const clock = options.clock ?? systemClock;
  const started = clock.now();
  const url = new URL(target.readyPath, target.baseUrl).toString();
  let lastProblem = 'no answer yet';
  for (;;) {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      await response.arrayBuffer();
      if (response.ok) return { ready: true, afterMs: clock.now() - started };
      lastProblem = `${url} answered ${response.status}`;
    } catch (err) {
      const cause = (err as Error).cause;
      lastProblem = `${url} did not answer (${cause instanceof Error ? cause.message : (err as Error).message})`;
    }
    const state = await target.state?.();
    if (state && !state.running) return { ready: false, ended: state, lastProblem };
    if (clock.now() - started >= options.timeoutMs) return { ready: false, ended: undefined, lastProblem };
    await clock.sleep(options.intervalMs ?? 200);
  }
}
