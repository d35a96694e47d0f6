import { systemClock, type Clock } from '../seams/clock.js';

export interface WaitHttpReadyOptions {
  readonly url: string;
  readonly timeoutMs: number;
  /** Checked between polls: a reason ends the wait early (the instance died). */
  readonly exitReason?: () => Promise<string | undefined>;
  readonly intervalMs?: number;
  readonly clock?: Clock;
}

export type ReadyOutcome = { readonly ready: true; readonly afterMs: number } | { readonly ready: false; readonly reason: string };

/** Polls a readiness URL (127.0.0.1 only) until it answers 200, the instance dies, or time runs out. */
export async function waitHttpReady(options: WaitHttpReadyOptions): Promise<ReadyOutcome> {
  const clock = options.clock ?? systemClock;
  const started = clock.now();
  let last = 'no answer yet';
  for (;;) {
    try {
      const response = await fetch(options.url, { signal: AbortSignal.timeout(2_000) });
      await response.arrayBuffer();
      if (response.status === 200) return { ready: true, afterMs: clock.now() - started };
      last = `${options.url} answered ${response.status}`;
    } catch (err) {
      last = `${options.url} did not answer (${(err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error).message})`;
    }
    const exit = await options.exitReason?.();
    if (exit !== undefined) return { ready: false, reason: exit };
    if (clock.now() - started >= options.timeoutMs) return { ready: false, reason: `not ready after ${Math.round(options.timeoutMs / 1000)}s: ${last}` };
    await clock.sleep(options.intervalMs ?? 200);
  }
}
