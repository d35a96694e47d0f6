import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Waker, WakeTarget } from '../../serving/gateway/cold-start-gate.js';

/**
 * A model server that can sleep: it owns a port on 127.0.0.1 and listens on it only while
 * awake. It counts what it answered and the most requests it had in hand at once.
 */
export interface SleepyUpstream {
  readonly url: string;
  readonly name: string;
  /** Bodies of the scoring requests answered, in order. */
  readonly bodies: string[];
  /** The most scoring requests in hand at once. */
  readonly maxConcurrent: number;
  readonly awake: boolean;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export async function reservePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

export async function createSleepyUpstream(name: string, answerDelayMs = 5): Promise<SleepyUpstream> {
  const port = await reservePort();
  const bodies: string[] = [];
  let server: Server | undefined;
  let inHand = 0;
  let maxConcurrent = 0;
  const listen = (): Server => createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.url === '/readyz') {
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ready"}');
        return;
      }
      inHand += 1;
      maxConcurrent = Math.max(maxConcurrent, inHand);
      const body = Buffer.concat(chunks).toString('utf8');
      setTimeout(() => {
        inHand -= 1;
        bodies.push(body);
        const text = JSON.stringify({ predictions: [0.5], served_by: name, echo: body });
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
      }, answerDelayMs);
    });
  });
  return {
    url: `http://127.0.0.1:${port}`,
    name,
    bodies,
    get maxConcurrent() {
      return maxConcurrent;
    },
    get awake() {
      return server !== undefined;
    },
    async start() {
      if (server) return;
      const s = listen();
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.listen(port, '127.0.0.1', () => resolve());
      });
      server = s;
    },
    async stop() {
      const s = server;
      server = undefined;
      if (!s) return;
      await new Promise<void>((resolve) => {
        s.close(() => resolve());
        s.closeAllConnections();
      });
    },
  };
}

/** A waker over sleepy upstreams by deployName, with a start delay and a record of what it was asked. */
export function sleepyWaker(upstreams: Record<string, SleepyUpstream>, startDelayMs = 50): Waker & { wakes: string[]; sleeps: string[] } {
  const wakes: string[] = [];
  const sleeps: string[] = [];
  return {
    wakes,
    sleeps,
    async wake(target: WakeTarget) {
      wakes.push(target.deployName);
      await new Promise((r) => setTimeout(r, startDelayMs));
      await (upstreams[target.deployName] as SleepyUpstream).start();
    },
    async sleep(target: WakeTarget) {
      sleeps.push(target.deployName);
      await (upstreams[target.deployName] as SleepyUpstream).stop();
    },
  };
}
