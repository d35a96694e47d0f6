import { connect, createServer, type Server, type Socket } from 'node:net';
import fc from 'fast-check';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createGateway } from '../../serving/gateway/create-gateway.js';
import { buildRouteTable } from '../../serving/gateway/route-table.js';
import { startFakeUpstream, type FakeUpstream } from './fake-upstream.js';
import { fleet, model, variant } from './fleet-fixture.js';

/*
 * The gateway's own HTTP/1.1 layer (serving/gateway/http1), spoken to byte by byte over real
 * sockets on 127.0.0.1: pipelining, chunked bodies, 100-continue, broken requests, HTTP/1.0,
 * half-closed callers, model servers that answer chunked, cut an answer short or close a kept-alive
 * connection under a request.
 */
const ROUTE = '/score/m';

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

async function gatewayOver(upstreamUrl: string, options: { maxBodyBytes?: number } = {}): Promise<{ port: number }> {
  const table = buildRouteTable(fleet([model('m', ROUTE, [variant('m', 100)])]), () => upstreamUrl);
  const gateway = await createGateway({ table, upstreamTimeoutMs: 2_000, logger: pino({ level: 'silent' }), ...options });
  cleanup.push(() => gateway.close());
  const url = await gateway.listen(0);
  return { port: Number(new URL(url).port) };
}

async function fakeUpstream(): Promise<FakeUpstream> {
  const up = await startFakeUpstream('m');
  cleanup.push(() => up.kill());
  return up;
}

/** A raw model server: `onRequest(socket, index on this connection, request bytes)` decides what to send back. */
async function rawUpstream(onRequest: (socket: Socket, n: number, request: string) => void): Promise<{ url: string; requests: string[] }> {
  const requests: string[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    let n = 0;
    let buffered = '';
    socket.on('error', () => undefined);
    socket.on('data', (data) => {
      buffered += data.toString('latin1');
      // Requests from the gateway carry a content-length; take each one whole.
      for (;;) {
        const end = buffered.indexOf('\r\n\r\n');
        if (end === -1) return;
        const length = Number(/content-length: (\d+)/i.exec(buffered.slice(0, end))?.[1] ?? 0);
        if (buffered.length < end + 4 + length) return;
        const request = buffered.slice(0, end + 4 + length);
        buffered = buffered.slice(end + 4 + length);
        requests.push(request);
        onRequest(socket, n++, request);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanup.push(() => new Promise((resolve) => {
    server.close(resolve);
    for (const socket of sockets) socket.destroy();
  }));
  const address = server.address() as { port: number };
  return { url: `http://127.0.0.1:${address.port}`, requests };
}

/** Sends `chunks` (with a pause between them) and collects everything until the gateway closes or `until` matches. */
function exchange(port: number, chunks: readonly string[], until?: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let received = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no complete answer within 5 s; got: ${JSON.stringify(received)}`));
    }, 5_000);
    const done = (): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(received);
    };
    socket.on('data', (data) => {
      received += data.toString('latin1');
      if (until?.test(received)) done();
    });
    socket.on('end', done);
    socket.on('error', reject);
    socket.on('connect', async () => {
      for (const chunk of chunks) {
        socket.write(chunk, 'latin1');
        await new Promise((r) => setTimeout(r, 5));
      }
    });
  });
}

const post = (body: string, headers = ''): string => `POST ${ROUTE} HTTP/1.1\r\nhost: gw\r\ncontent-type: application/json\r\n${headers}content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
// Answers follow each other without a line break between a body and the next status line.
const statuses = (text: string): number[] => [...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));

describe('the gateway\'s HTTP/1.1 front', () => {
  it('answers pipelined requests in order, even when a later one is ready first', async () => {
    let held: (() => void) | undefined;
    const up = await rawUpstream((socket, _n, request) => {
      const body = /"i":(\d+)/.exec(request)?.[1] ?? '?';
      const answer = (): void => void socket.write(`HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${body.length + 6}\r\n\r\n{"i":${body}}`);
      // The first request's answer waits until the second one was answered by the model server.
      if (body === '1') held = answer;
      else {
        answer();
        held?.();
      }
    });
    const { port } = await gatewayOver(up.url);
    const text = await exchange(port, [post('{"i":1}') + post('{"i":2}')], /"i":2}/);
    expect(statuses(text)).toEqual([200, 200]);
    expect(text.indexOf('{"i":1}')).toBeLessThan(text.indexOf('{"i":2}'));
  });

  it('forwards a chunked body intact however the caller\'s bytes are split across packets', async () => {
    const up = await fakeUpstream();
    const { port } = await gatewayOver(up.url);
    await fc.assert(fc.asyncProperty(
      fc.array(fc.string({ minLength: 1, maxLength: 40 }), { minLength: 1, maxLength: 4 }),
      fc.array(fc.integer({ min: 1, max: 200 }), { maxLength: 3 }),
      async (parts, cuts) => {
        const encoded = parts.map((p) => `${Buffer.byteLength(p).toString(16)}\r\n${p}\r\n`).join('');
        const wire = `POST ${ROUTE} HTTP/1.1\r\nhost: gw\r\ntransfer-encoding: chunked\r\ncontent-type: text/plain\r\n\r\n${encoded}0\r\n\r\n`;
        const bytes = Buffer.from(wire, 'utf8').toString('latin1');
        const pieces: string[] = [];
        let at = 0;
        for (const cut of cuts) {
          if (at + cut >= bytes.length) break;
          pieces.push(bytes.slice(at, at + cut));
          at += cut;
        }
        pieces.push(bytes.slice(at));
        const before = up.seen.length;
        const text = await exchange(port, pieces, /"served_by"/);
        expect(statuses(text)).toEqual([200]);
        expect(up.seen[before]?.body).toBe(parts.join(''));
      },
    ), { numRuns: 15 });
  });

  it('sends 100 Continue to a caller that waits for it, then proxies its body', async () => {
    const up = await fakeUpstream();
    const { port } = await gatewayOver(up.url);
    const head = `POST ${ROUTE} HTTP/1.1\r\nhost: gw\r\nexpect: 100-continue\r\ncontent-length: 7\r\n\r\n`;
    const text = await new Promise<string>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => socket.write(head));
      let received = '';
      socket.on('error', reject);
      socket.on('data', (data) => {
        received += data.toString('latin1');
        if (received === 'HTTP/1.1 100 Continue\r\n\r\n') socket.write('{"a":1}');
        if (received.includes('served_by')) {
          socket.destroy();
          resolve(received);
        }
      });
    });
    expect(statuses(text)).toEqual([100, 200]);
    expect(up.seen[0]?.body).toBe('{"a":1}');
    expect(up.seen[0]?.headers.expect).toBeUndefined();
  });

  it('answers a request that is not HTTP/1.1 with 400 and closes, and an oversized head with 431', async () => {
    const up = await fakeUpstream();
    const { port } = await gatewayOver(up.url);
    const bad = await exchange(port, ['POST /score/m HTTP/1.1\r\nhost: gw\r\ncontent-length: 1\r\ncontent-length: 2\r\n\r\nab']);
    expect(statuses(bad)).toEqual([400]);
    expect(bad).toMatch(/connection: close/);
    const huge = await exchange(port, [`GET /healthz HTTP/1.1\r\nhost: gw\r\nx-big: ${'a'.repeat(20_000)}\r\n\r\n`]);
    expect(statuses(huge)).toEqual([431]);
    expect(up.seen).toHaveLength(0);
  });

  it('closes after answering an HTTP/1.0 caller, and answers a caller that half-closed after its request', async () => {
    const up = await fakeUpstream();
    const { port } = await gatewayOver(up.url);
    const old = await exchange(port, [`POST ${ROUTE} HTTP/1.0\r\ncontent-length: 2\r\n\r\n{}`]);
    expect(statuses(old)).toEqual([200]);
    expect(old).toMatch(/connection: close/);
    const halfClosed = await new Promise<string>((resolve, reject) => {
      let received = '';
      const socket = connect(port, '127.0.0.1', () => socket.end(post('{}')));
      socket.on('data', (data) => {
        received += data.toString('latin1');
      });
      socket.on('end', () => resolve(received));
      socket.on('error', reject);
    });
    expect(statuses(halfClosed)).toEqual([200]);
    expect(halfClosed).toContain('served_by');
  });

  it('refuses a chunked body that grows past the limit with 413, and the model server never gets it whole', async () => {
    const up = await fakeUpstream();
    const { port } = await gatewayOver(up.url, { maxBodyBytes: 100 });
    const chunk = `40\r\n${'x'.repeat(64)}\r\n`;
    const text = await exchange(port, [`POST ${ROUTE} HTTP/1.1\r\nhost: gw\r\ntransfer-encoding: chunked\r\n\r\n`, chunk, chunk, chunk, '0\r\n\r\n'], /request body too large/);
    expect(statuses(text)).toEqual([413]);
    await new Promise((r) => setTimeout(r, 100));
    expect(up.seen).toHaveLength(0);
  });
});

describe('the gateway\'s HTTP/1.1 client to model servers', () => {
  it('relays a chunked answer with its length, and turns an answer cut short into a clean 503', async () => {
    const up = await rawUpstream((socket, _n, request) => {
      if (request.includes('"cut"')) {
        socket.end('HTTP/1.1 200 OK\r\ncontent-length: 50\r\n\r\n{"predictions":');
        return;
      }
      socket.write('HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n5\r\n{"a":\r\n3\r\n42}\r\n0\r\n\r\n');
    });
    const { port } = await gatewayOver(up.url);
    const whole = await exchange(port, [post('{}')], /\{"a":42\}/);
    expect(whole).toMatch(/content-length: 8\r\n/i);
    expect(whole).not.toMatch(/transfer-encoding/i);
    const cut = await exchange(port, [post('{"cut":1}')], /"model unavailable"[^]*\}$/);
    expect(statuses(cut)).toEqual([503]);
    expect(cut).not.toContain('{"predictions":');
  });

  it('sends a request again on a fresh connection when the model server closed the kept-alive one under it', async () => {
    // Each connection of this model server answers its first request and drops the connection,
    // without a word, when a second one arrives: the keep-alive race, made certain.
    const up = await rawUpstream((socket, n) => {
      if (n > 0) {
        socket.destroy();
        return;
      }
      socket.write('HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 11\r\n\r\n{"ok":true}');
    });
    const { port } = await gatewayOver(up.url);
    for (let i = 0; i < 3; i++) {
      const text = await exchange(port, [post(`{"i":${i}}`)], /\{"ok":true\}/);
      expect(statuses(text)).toEqual([200]);
    }
    // Requests 2 and 3 each went out twice: once on the dropped connection, once on a new one.
    expect(up.requests).toHaveLength(5);
  });
});
