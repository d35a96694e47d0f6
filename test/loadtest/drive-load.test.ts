import { createServer, type RequestListener, type Server } from 'node:http';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { driveLoad } from '../../pipeline/loadtest/drive-load.js';
import { fireBadRequests } from '../../pipeline/loadtest/fire-bad-requests.js';
import { listenOnLoopback } from '../support/listen-on-loopback.js';

const servers: Server[] = [];

async function serve(handler: RequestListener): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  return listenOnLoopback(server);
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

/** Answers 200, or 500 for bodies holding "fail". */
const echo: RequestListener = (req, res) => {
  let body = '';
  req.on('data', (chunk: Buffer) => (body += chunk.toString()));
  req.on('end', () => {
    res.statusCode = body.includes('fail') ? 500 : 200;
    res.setHeader('content-type', 'application/json');
    res.end('{"predictions":[0.5]}');
  });
};

describe('load driver', () => {
  it('drives real HTTP load for the set duration, second by second, and stops by itself', async () => {
    const baseUrl = await serve(echo);
    const seconds: number[] = [];
    // Resolving at all is "stops by itself"; the seconds it reports are bounded by the duration,
    // however long a busy machine made the run take.
    const result = await driveLoad({ baseUrl, path: '/invocations', bodies: ['{"a":1}', '{"a":2}'], durationSeconds: 2, connections: 2, onSecond: (s) => seconds.push(s.second) });
    expect(result.requests).toBeGreaterThan(0);
    expect(result.ok).toBe(result.requests);
    expect(result.non2xx + result.errors).toBe(0);
    expect(result.timeline.map((s) => s.second)).toEqual([1, 2]);
    expect(seconds).toEqual([1, 2]);
    expect(result.latencyMs.p99).toBeGreaterThanOrEqual(result.latencyMs.p50);
  });

  it('counts non-2xx answers by status code', async () => {
    const baseUrl = await serve(echo);
    const result = await driveLoad({ baseUrl, path: '/invocations', bodies: ['{"a":1}', '{"fail":1}'], durationSeconds: 1, connections: 1 });
    expect(result.non2xx).toBeGreaterThan(0);
    expect(result.statusCodes).toEqual({ '500': result.non2xx });
    expect(result.ok + result.non2xx).toBe(result.requests - result.errors);
  });

  it('counts requests the server closed the connection on without answering', async () => {
    const baseUrl = await serve((req) => req.socket.destroy());
    const result = await driveLoad({ baseUrl, path: '/invocations', bodies: ['{}'], durationSeconds: 1, connections: 1 });
    expect(result.ok).toBe(0);
    expect(result.unanswered + result.errors).toBeGreaterThan(0);
    expect(result.requests).toBe(result.unanswered + result.errors);
  });

  it('counts socket errors when nothing listens any more', async () => {
    const baseUrl = await serve(echo);
    await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
    const result = await driveLoad({ baseUrl, path: '/invocations', bodies: ['{}'], durationSeconds: 1, connections: 1 });
    expect(result.errors).toBeGreaterThan(0);
    expect(result.errorSamples[0]).toMatch(/ECONNREFUSED/);
  });

  it('refuses to send load anywhere but 127.0.0.1', async () => {
    await expect(driveLoad({ baseUrl: 'http://172.17.0.2:8080', path: '/', bodies: ['{}'], durationSeconds: 1, connections: 1 })).rejects.toThrow(/127\.0\.0\.1/);
  });

  it('under Docker-in-Docker also allows the engine\'s host, and still nothing else', async () => {
    vi.stubEnv('DOCKER_HOST', 'tcp://docker:2375');
    try {
      await expect(driveLoad({ baseUrl: 'http://172.17.0.2:8080', path: '/', bodies: ['{}'], durationSeconds: 1, connections: 1 }))
        .rejects.toThrow('load tests target http://127.0.0.1 or http://docker:<port> only, got http://172.17.0.2:8080');
    } finally {
      vi.unstubAllEnvs();
    }
  });
});

describe('bad-request firing', () => {
  it('records each answer and whether it was a 4xx', async () => {
    const baseUrl = await serve((req, res) => {
      res.statusCode = req.url === '/crash' ? 500 : req.method === 'GET' ? 405 : 400;
      res.end('{}');
    });
    const outcomes = await fireBadRequests(baseUrl, [
      { name: 'bad-json', method: 'POST', path: '/invocations', headers: { 'content-type': 'application/json' }, body: '{', expectStatus: 400 },
      { name: 'wrong-method', method: 'GET', path: '/invocations', headers: {}, body: '', expectStatus: 405 },
      { name: 'five-hundred', method: 'POST', path: '/crash', headers: {}, body: '{}', expectStatus: 400 },
    ]);
    expect(outcomes).toEqual([
      { name: 'bad-json', status: 400, answered4xx: true },
      { name: 'wrong-method', status: 405, answered4xx: true },
      { name: 'five-hundred', status: 500, answered4xx: false },
    ]);
  });

  it('reads a 413 that a server sends before the whole body arrived, then closes', async () => {
    const baseUrl = await serve((req, res) => {
      // Refuse by Content-Length without reading the body, as fastify's bodyLimit does.
      res.writeHead(413, { connection: 'close', 'content-type': 'application/json' });
      res.end('{"error":"body_too_large"}', () => req.socket.destroy());
    });
    const outcomes = await fireBadRequests(baseUrl, [
      { name: 'body-too-large', method: 'POST', path: '/invocations', headers: { 'content-type': 'application/json' }, body: 'x'.repeat(8 * 1024 * 1024), expectStatus: 413 },
    ]);
    expect(outcomes).toEqual([{ name: 'body-too-large', status: 413, answered4xx: true }]);
  });

  it('reports a request the server never answers', async () => {
    const baseUrl = await serve((req) => req.socket.destroy());
    const [outcome] = await fireBadRequests(baseUrl, [{ name: 'dropped', method: 'POST', path: '/', headers: {}, body: '{}', expectStatus: 400 }], 2_000);
    expect(outcome).toMatchObject({ name: 'dropped', status: undefined, answered4xx: false });
    expect(outcome?.error).toBeTruthy();
  });
});
