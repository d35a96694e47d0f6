import { describe, expect, it } from 'vitest';
import { findFreePort } from '../../pipeline/loadtest/free-port.js';
import { measureRun } from '../../pipeline/loadtest/measure-run.js';
import { startProcessTarget } from '../../pipeline/loadtest/process-target.js';
import { waitUntilReady } from '../../pipeline/loadtest/wait-ready.js';
import { MiB } from '../../pipeline/sizing/sizing-policy.js';

/** A tiny HTTP server that keeps `leakMiB` MiB per request (touched, so it counts in RSS). */
function serverScript(leakMiB: number): string {
  return `
    const http = require('node:http');
    const kept = [];
    http.createServer((req, res) => {
      if (req.url === '/readyz') return res.end('ok');
      req.resume();
      req.on('end', () => {
        if (${leakMiB} > 0) kept.push(Buffer.alloc(${leakMiB} * 1024 * 1024, kept.length % 251));
        res.setHeader('content-type', 'application/json');
        res.end('{"predictions":[1]}');
      });
    }).listen(Number(process.env.PORT), process.env.HOST);
  `;
}

describe('process-mode server target', () => {
  it('samples RSS and CPU of the server process while it is under load', async () => {
    const port = await findFreePort();
    const target = startProcessTarget({ args: ['-e', serverScript(0)], env: {}, port });
    try {
      await waitUntilReady(target, { timeoutMs: 20_000, model: 'plain' });
      const run = await measureRun(target, { bodies: ['{}'], durationSeconds: 1, connections: 2 });
      expect(run.load.ok).toBeGreaterThan(0);
      expect(run.samples.length).toBeGreaterThanOrEqual(3);
      expect(run.peakWorkingSetBytes).toBeGreaterThan(10 * MiB);
      expect(run.state).toEqual({ running: true, oomKilled: false, exitCode: undefined, restartCount: 0 });
    } finally {
      await target.stop();
    }
  });

  it('kills a server whose RSS goes over the cap and reports it like an OOM kill', async () => {
    const port = await findFreePort();
    const target = startProcessTarget({ args: ['-e', serverScript(4)], env: {}, port, memoryCapBytes: 96 * MiB });
    try {
      await waitUntilReady(target, { timeoutMs: 20_000, model: 'leaky' });
      const run = await measureRun(target, { bodies: ['{}'], durationSeconds: 2, connections: 2 });
      expect(run.state.oomKilled).toBe(true);
      expect(run.state.running).toBe(false);
      expect(target.description).toContain('RSS watchdog at 96Mi');
    } finally {
      await target.stop();
    }
  });
});
