import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findFreePort } from '../../lib/free-port.js';
import { startProcessInstance } from '../../pipeline/instance-runtime/process-instance.js';
import { attachInstance, isInstanceAlive, stopInstance } from '../../pipeline/instance-runtime/recorded-instance.js';
import { describeEnd } from '../../pipeline/instance-runtime/server-instance.js';
import { waitForReady } from '../../pipeline/instance-runtime/wait-for-ready.js';
import { measureRun } from '../../pipeline/loadtest/measure-run.js';
import { MiB } from '../../pipeline/sizing/sizing-policy.js';

/** A tiny HTTP server on HOST:PORT that keeps `leakMiB` MiB per request (touched, so it counts in RSS). */
function serverScript(leakMiB: number, options: { exitCode?: number } = {}): string {
  return `
    if (${options.exitCode ?? -1} >= 0) { console.error('cannot start: bad model'); process.exit(${options.exitCode ?? 0}); }
    const http = require('node:http');
    const kept = [];
    console.log('listening on ' + process.env.HOST + ':' + process.env.PORT);
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

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'modelfleet-process-instance-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('a process instance', () => {
  it('serves on 127.0.0.1, is sampled (RSS and CPU) under load, and stops on SIGTERM', async () => {
    const port = await findFreePort();
    const instance = await startProcessInstance({ args: ['-e', serverScript(0)], env: {}, port });
    try {
      expect(instance.baseUrl).toBe(`http://127.0.0.1:${port}`);
      expect((await waitForReady(instance, { timeoutMs: 20_000 })).ready).toBe(true);
      const run = await measureRun({ ...instance, predictPath: '/' }, { bodies: ['{}'], durationSeconds: 1, connections: 2 });
      expect(run.load.ok).toBeGreaterThan(0);
      expect(run.samples.length).toBeGreaterThanOrEqual(1);
      expect(run.peakWorkingSetBytes).toBeGreaterThan(10 * MiB);
      expect(run.state).toEqual({ running: true, oomKilled: false, exitCode: undefined, restartCount: 0 });
      expect(await instance.logs()).toContain(`listening on 127.0.0.1:${port}`);
    } finally {
      await instance.stop();
    }
    const state = await instance.state();
    expect(state.running).toBe(false);
    // Stopped by us: not mistaken for the OOM killer.
    expect(state.oomKilled).toBe(false);
  });

  it('kills a server whose RSS goes over the cap and reports it like an OOM kill', async () => {
    const port = await findFreePort();
    const instance = await startProcessInstance({ args: ['-e', serverScript(4)], env: {}, port, memoryCapBytes: 96 * MiB });
    try {
      await waitForReady(instance, { timeoutMs: 20_000 });
      const run = await measureRun({ ...instance, predictPath: '/' }, { bodies: ['{}'], durationSeconds: 2, connections: 2 });
      expect(run.state.oomKilled).toBe(true);
      expect(run.state.running).toBe(false);
      expect(instance.description).toContain('RSS watchdog at 96Mi');
      expect(describeEnd(run.state, instance.memoryCapBytes)).toBe('was killed by the out-of-memory killer (memory cap 96 MiB)');
    } finally {
      await instance.stop();
    }
  });

  it('reports how a process that cannot start ended, with its output, without waiting for the timeout', async () => {
    const port = await findFreePort();
    const instance = await startProcessInstance({ args: ['-e', serverScript(0, { exitCode: 3 })], env: {}, port });
    // The timeout is far beyond the test's: only the early end can finish this wait.
    const outcome = await waitForReady(instance, { timeoutMs: 10 * 60_000 });
    expect(outcome.ready).toBe(false);
    expect(!outcome.ready && outcome.ended && describeEnd(outcome.ended)).toBe('exited with code 3');
    expect(await instance.logs()).toContain('cannot start: bad model');
  });

  it('outlives its start when given a log file, and is found, checked and stopped again from its record alone', async () => {
    const port = await findFreePort();
    const logFile = join(dir, 'logs', 'serve.log');
    // The CLI's command line: a recorded pid only counts when it still runs modelfleet on that port.
    const script = join(dir, 'bin', 'modelfleet.js');
    const { mkdir, writeFile } = await import('node:fs/promises');
    await mkdir(join(dir, 'bin'), { recursive: true });
    await writeFile(script, serverScript(0));
    const started = await startProcessInstance({ args: [script, 'serve', '--port', String(port)], env: {}, port, logFile });
    try {
      expect((await waitForReady(started, { timeoutMs: 20_000 })).ready).toBe(true);
      const record = JSON.parse(JSON.stringify(started.record)) as typeof started.record;
      expect(record).toMatchObject({ runtime: 'process', host: '127.0.0.1', port, pid: started.record.pid, logFile });

      expect(await isInstanceAlive(record, undefined)).toBe(true);
      expect(await attachInstance(record, undefined)?.logs(5)).toContain(`listening on 127.0.0.1:${port}`);
      // The same pid serving another port is not this instance: never signalled.
      expect(await isInstanceAlive({ ...record, port: port + 1 }, undefined)).toBe(false);
      await stopInstance({ ...record, port: port + 1 }, undefined, 1);
      expect((await started.state()).running).toBe(true);

      await stopInstance(record, undefined, 5);
      await expect.poll(async () => (await started.state()).running).toBe(false);
      expect(await isInstanceAlive(record, undefined)).toBe(false);
    } finally {
      await started.stop(1);
    }
  });
});
