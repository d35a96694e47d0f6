import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { findFreePort } from '../../lib/free-port.js';
import type { InstanceState } from '../../pipeline/instance-runtime/server-instance.js';
import { waitForReady } from '../../pipeline/instance-runtime/wait-for-ready.js';
import type { Clock } from '../../pipeline/seams/clock.js';
import { listenOnLoopback } from '../support/listen-on-loopback.js';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

/** A server whose /readyz answers 503 until `readyAfter` probes have come in. */
async function serverReadyAfter(readyAfter: number): Promise<{ baseUrl: string; probes: () => number }> {
  let probes = 0;
  const server = createServer((req, res) => {
    probes++;
    res.writeHead(probes > readyAfter ? 200 : 503).end();
  });
  servers.push(server);
  return { baseUrl: await listenOnLoopback(server), probes: () => probes };
}

/** Time that moves only when the poller sleeps: timeouts count polls, not the machine's speed. */
function pollClock(): Clock & { sleeps: number } {
  let now = 0;
  return {
    sleeps: 0,
    now: () => now,
    async sleep(ms) {
      this.sleeps++;
      now += ms;
    },
  };
}

const running: InstanceState = { running: true, oomKilled: false, exitCode: undefined, restartCount: 0 };

describe('waitForReady', () => {
  it('polls until the ready path answers 2xx and says how long that took on its clock', async () => {
    const server = await serverReadyAfter(3);
    const clock = pollClock();
    const outcome = await waitForReady({ baseUrl: server.baseUrl, readyPath: '/readyz', state: async () => running }, { timeoutMs: 10_000, intervalMs: 200, clock });
    expect(outcome).toEqual({ ready: true, afterMs: 600 });
    expect(server.probes()).toBe(4);
  });

  it('gives up after the timeout, naming the last answer', async () => {
    const server = await serverReadyAfter(Number.POSITIVE_INFINITY);
    const clock = pollClock();
    const outcome = await waitForReady({ baseUrl: server.baseUrl, readyPath: '/readyz' }, { timeoutMs: 1_000, intervalMs: 250, clock });
    expect(outcome).toEqual({ ready: false, ended: undefined, lastProblem: `${server.baseUrl}/readyz answered 503` });
    // Probes at 0, 250, 500, 750 and 1000 ms of the clock.
    expect(server.probes()).toBe(5);
  });

  it('stops at once when the instance ended, with how it ended', async () => {
    const port = await findFreePort();
    const clock = pollClock();
    const ended: InstanceState = { running: false, oomKilled: true, exitCode: 137, restartCount: 0 };
    const outcome = await waitForReady({ baseUrl: `http://127.0.0.1:${port}`, readyPath: '/readyz', state: async () => ended }, { timeoutMs: 60_000, clock });
    expect(outcome.ready).toBe(false);
    expect(!outcome.ready && outcome.ended).toEqual(ended);
    expect(!outcome.ready && outcome.lastProblem).toMatch(/did not answer \(connect ECONNREFUSED/);
    expect(clock.sleeps).toBe(0);
  });

  it('asks once when the timeout is 0', async () => {
    const server = await serverReadyAfter(Number.POSITIVE_INFINITY);
    const outcome = await waitForReady({ baseUrl: server.baseUrl, readyPath: '/readyz' }, { timeoutMs: 0, clock: pollClock() });
    expect(outcome.ready).toBe(false);
    expect(server.probes()).toBe(1);
  });
});
