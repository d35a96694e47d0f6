import { createServer, type Server } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { updateLocalState, withModel, readLocalState, type LocalModelInstance } from '../../pipeline/local-target/local-state.js';
import { createLocalWaker } from '../../pipeline/local-target/local-waker.js';
import type { ContainerHandle, DockerSeam, RunRequest } from '../../pipeline/seams/docker.js';
import { reservePort } from '../gateway/sleepy-upstream.js';

/**
 * An engine whose "containers" are HTTP servers on 127.0.0.1 answering /readyz: enough to see
 * which container a wake-up starts, with which settings, and that a sleep keeps it for later.
 */
function fakeEngine(options: { readyAfterMs?: number; exitAtOnce?: boolean } = {}) {
  const containers = new Map<string, { port: number; running: boolean; server?: Server; timer?: NodeJS.Timeout; request?: RunRequest; starts: number }>();
  const calls: string[] = [];
  const listen = async (id: string): Promise<void> => {
    const c = containers.get(id);
    if (!c) throw Object.assign(new Error('no such container'), { statusCode: 404 });
    c.starts += 1;
    if (options.exitAtOnce) return;
    c.running = true;
    const server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ready"}'));
    c.server = server;
    c.timer = setTimeout(() => server.listen(c.port, '127.0.0.1'), options.readyAfterMs ?? 30);
  };
  const handle = (id: string): ContainerHandle => ({
    id,
    name: id,
    async inspect() {
      const c = containers.get(id);
      if (!c) throw Object.assign(new Error('no such container'), { statusCode: 404 });
      return { running: c.running, oomKilled: false, exitCode: c.running ? 0 : 1, restartCount: 0, status: c.running ? 'running' : 'exited' };
    },
    async *stats() {},
    logs: async () => 'Error: model.onnx is not an ONNX model',
    async stop() {
      calls.push(`stop ${id}`);
      const c = containers.get(id);
      if (!c) return;
      c.running = false;
      clearTimeout(c.timer);
      const server = c.server;
      c.server = undefined;
      if (server?.listening) {
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
      }
    },
    async start() {
      calls.push(`start ${id}`);
      await listen(id);
    },
    async remove() {
      calls.push(`remove ${id}`);
      await this.stop();
      containers.delete(id);
    },
  });
  const seam = {
    async runContainer(request: RunRequest) {
      const id = `c${containers.size + 1}`;
      calls.push(`run ${id}`);
      containers.set(id, { port: Number(request.env?.PORT), running: false, request, starts: 0 });
      await listen(id);
      return handle(id);
    },
    container: (id: string) => handle(id),
  } as unknown as DockerSeam;
  return { seam, containers, calls, add: (id: string, port: number) => containers.set(id, { port, running: false, starts: 0 }), handle };
}

let root: string;
const cleanup: Array<() => Promise<unknown>> = [];
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'modelfleet-waker-'));
});
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
  await rm(root, { recursive: true, force: true });
});

async function record(port: number, containerId: string): Promise<LocalModelInstance> {
  const instance: LocalModelInstance = {
    runtime: 'docker', host: '127.0.0.1', port, containerId, containerName: `modelfleet-local-m-${port}`, startedAt: new Date(0).toISOString(),
    deployName: 'm', serves: 'modelfleet/m:1', hash: 'h1', memoryLimitBytes: 96 * 1024 * 1024,
    start: { runtime: { kind: 'docker', image: 'modelfleet/m:1', memoryLimitBytes: 96 * 1024 * 1024 }, env: { MODEL_NAME: 'm' } },
  };
  await updateLocalState((state) => withModel(state, instance), root);
  return instance;
}

/** A running container `c0` on a port of its own, recorded in the local state, and a waker over it. */
async function runningContainer(): Promise<{ engine: ReturnType<typeof fakeEngine>; port: number; waker: ReturnType<typeof createLocalWaker> }> {
  const engine = fakeEngine();
  const port = await reservePort();
  engine.add('c0', port);
  await engine.handle('c0').start?.();
  cleanup.push(() => engine.handle('c0').remove());
  await record(port, 'c0');
  return { engine, port, waker: createLocalWaker({ root, docker: () => Promise.resolve(engine.seam) }) };
}

const target = (port: number, deadlineMs = 5_000) => ({ deployName: 'm', upstream: `http://127.0.0.1:${port}`, readyPath: '/readyz', deadline: performance.now() + deadlineMs });

describe('the local waker', () => {
  it('puts a container to sleep by stopping it (kept), and wakes it by starting that same container', async () => {
    const { engine, port, waker } = await runningContainer();

    await waker.sleep?.(target(port));
    expect(engine.containers.get('c0')?.running).toBe(false);
    await waker.wake(target(port));
    expect(engine.containers.get('c0')?.running).toBe(true);
    expect(engine.calls).toEqual(['start c0', 'stop c0', 'start c0']);
    expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
  });

  it('creates the container again, on its port and with its memory cap, when the stopped one is gone', async () => {
    const engine = fakeEngine();
    const port = await reservePort();
    await record(port, 'gone');
    const waker = createLocalWaker({ root, docker: () => Promise.resolve(engine.seam) });

    await waker.wake(target(port));
    cleanup.push(() => engine.handle('c1').remove());
    const created = engine.containers.get('c1');
    expect(created?.request).toMatchObject({ image: 'modelfleet/m:1', memoryBytes: 96 * 1024 * 1024, env: { MODEL_NAME: 'm', PORT: String(port) } });
    await expect.poll(async () => (await readLocalState(root)).models.m?.containerId).toBe('c1');
  });

  it('rejects with why the instance did not start: its end and its last log lines', async () => {
    const engine = fakeEngine({ exitAtOnce: true });
    const port = await reservePort();
    await record(port, 'gone');
    const waker = createLocalWaker({ root, docker: () => Promise.resolve(engine.seam) });
    await expect(waker.wake(target(port, 2_000))).rejects.toThrow(/container exited with code 1.*not an ONNX model/);
  });

  it('leaves alone an instance that a deploy moved to another address since the gateway saw it idle', async () => {
    const { engine, port, waker } = await runningContainer();
    await waker.sleep?.(target(port + 1));
    expect(engine.containers.get('c0')?.running).toBe(true);
  });
});
