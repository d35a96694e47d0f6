import type { Waker, WakeTarget } from './cold-start-gate.js';

/** How often a waking variant's ready path is asked. */
const PROBE_EVERY_MS = 50;
const PROBE_TIMEOUT_MS = 1_000;

/**
 * The waker for platforms that scale on the gateway's demand metric themselves (KEDA reads
 * modelfleet_gateway_pending_requests, docs/gateway.md "Scale to zero"): the demand is already
 * signalled by the held request being counted, so waking means watching the variant's ready path
 * until it answers 200 or the deadline passes. It never puts a variant to sleep (KEDA's cooldown does).
 */
export function createReadyProbeWaker(probe: (url: string, timeoutMs: number) => Promise<number> = fetchStatus): Waker {
  return {
    async wake(target: WakeTarget): Promise<void> {
      const url = `${target.upstream}${target.readyPath}`;
      let last = 'no answer yet';
      while (performance.now() < target.deadline) {
        const status = await probe(url, Math.min(PROBE_TIMEOUT_MS, Math.max(1, target.deadline - performance.now()))).catch((err: unknown) => describe(err));
        if (status === 200) return;
        last = typeof status === 'number' ? `${url} answered ${status}` : `${url}: ${status}`;
        await new Promise((r) => setTimeout(r, PROBE_EVERY_MS));
      }
      throw new Error(`not ready (${last})`);
    },
  };
}

async function fetchStatus(url: string, timeoutMs: number): Promise<number> {
  const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  await response.arrayBuffer();
  return response.status;
}

function describe(err: unknown): string {
  const cause = (err as { cause?: { code?: string } }).cause;
  return cause?.code ?? (err instanceof Error ? err.message : String(err));
}
