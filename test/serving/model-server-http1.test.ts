import { connect, type Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { AdaptiveBatcher } from '../../serving/model-server/adaptive-batcher.js';
import type { ModelServer } from '../../serving/model-server/create-model-server.js';
import { startExampleServer } from './support/model-server.js';

/**
 * The model server on a socket: HTTP/1.1 edge cases of the path a request takes there (the scoring lane
 * on the HTTP/1.1 front, or fastify through inject for everything else).
 */

const MODEL = 'match-logreg-v2';
const COLUMNS = ['route_decision_score', 'farevalueinminor', 'offer_throughput_rate', 'eventtime', 'backtoback'];
const MAX_BODY = 4096;

const body = (rows: number, seed = 0): string =>
  JSON.stringify({ dataframe_split: { columns: COLUMNS, data: Array.from({ length: rows }, (_, r) => [0.5 + (r + seed) / 100, 1250 + r, 0.42, 1_767_225_600 + r, (r + seed) % 2]) } });
const post = (text: string, extra = '', path = '/invocations'): string =>
  `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\n${extra}\r\n${text}`;

interface Answer { status: number; headers: Record<string, string>; body: string }

/** Reads HTTP/1.1 answers off a socket (content-length framed), interim 1xx answers included. */
class Reader {
  #buffer = Buffer.alloc(0);
  #waiters: (() => void)[] = [];
  closed = false;
  readonly answers: Answer[] = [];

  constructor(readonly socket: Socket) {
    socket.on('data', (data: Buffer) => {
      this.#buffer = Buffer.concat([this.#buffer, data]);
      this.#parse();
    });
    socket.on('close', () => {
      this.closed = true;
      this.#wake();
    });
    socket.on('error', () => undefined);
  }

  #parse(): void {
    for (;;) {
      const end = this.#buffer.indexOf('\r\n\r\n');
      if (end < 0) return;
      const [statusLine = '', ...lines] = this.#buffer.subarray(0, end).toString('latin1').split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const colon = line.indexOf(':');
        headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
      }
      const length = Number(headers['content-length'] ?? 0);
      if (this.#buffer.length < end + 4 + length) return;
      this.answers.push({ status: Number(statusLine.split(' ')[1]), headers, body: this.#buffer.subarray(end + 4, end + 4 + length).toString('utf8') });
      this.#buffer = this.#buffer.subarray(end + 4 + length);
      this.#wake();
    }
  }

  #wake(): void {
    for (const w of this.#waiters.splice(0)) w();
  }

  /** Resolves once `count` answers arrived (or the socket closed). */
  async waitFor(count: number, timeoutMs = 5_000): Promise<Answer[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.answers.length < count && !this.closed && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
    return this.answers;
  }
}

let server: ModelServer;
let port = 0;
const sockets: Socket[] = [];

async function open(): Promise<Reader> {
  const socket = connect(port, '127.0.0.1');
  sockets.push(socket);
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  return new Reader(socket);
}

async function scoreAlone(text: string): Promise<Answer> {
  const reader = await open();
  reader.socket.write(post(text));
  const [answer] = await reader.waitFor(1);
  if (!answer) throw new Error('no answer');
  return answer;
}

beforeAll(async () => {
  server = await startExampleServer(MODEL, { maxBodyBytes: MAX_BODY, maxRowsPerRequest: 100 });
  port = Number(new URL(await server.listen({ port: 0, host: '127.0.0.1' })).port);
});

afterEach(() => {
  for (const s of sockets.splice(0)) s.destroy();
  vi.restoreAllMocks();
});

afterAll(async () => {
  await server.close();
});

describe('the model server on a socket', () => {
  it('answers pipelined requests in order, scoring ones and fastify ones alike', async () => {
    const expected = [await scoreAlone(body(3, 1)), await scoreAlone(body(2, 7))];
    const reader = await open();
    reader.socket.write(post(body(3, 1)) + 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n' + post(body(2, 7)) + post('{"nope":1}'));
    const answers = await reader.waitFor(4);
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 400]);
    expect(answers[0]?.body).toBe(expected[0]?.body);
    expect(JSON.parse(answers[1]?.body ?? '')).toEqual({ status: 'ok' });
    expect(answers[2]?.body).toBe(expected[1]?.body);
    expect(answers[3]?.headers['x-model-name']).toBe(MODEL);
    expect(reader.closed).toBe(false);
  });

  it('reads a body that arrives across several reads', async () => {
    const text = body(20, 3);
    const expected = await scoreAlone(text);
    const reader = await open();
    const whole = post(text);
    const cut = [whole.indexOf('\r\n\r\n') - 3, whole.length - 400, whole.length - 1];
    let from = 0;
    for (const at of [...cut, whole.length]) {
      reader.socket.write(whole.slice(from, at));
      from = at;
      await new Promise((r) => setTimeout(r, 20));
    }
    const [answer] = await reader.waitFor(1);
    expect(answer?.status).toBe(200);
    expect(answer?.body).toBe(expected.body);
    expect((JSON.parse(answer?.body ?? '{}') as { predictions: number[] }).predictions).toHaveLength(20);
  });

  it('ends the intake of a caller that disconnects mid-body, and goes on serving', async () => {
    const started = vi.spyOn(AdaptiveBatcher.prototype, 'intakeStarted');
    const done = vi.spyOn(AdaptiveBatcher.prototype, 'intakeDone');
    for (const path of ['/invocations', '/v2/models/match-logreg-v2/infer']) {
      const reader = await open();
      const whole = post(body(10), '', path);
      reader.socket.write(whole.slice(0, whole.length - 50));
      await new Promise((r) => setTimeout(r, 30));
      reader.socket.destroy();
    }
    // A chunked body (the fastify path) cut short too.
    const chunked = await open();
    chunked.socket.write('POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabcde\r\n');
    await new Promise((r) => setTimeout(r, 30));
    chunked.socket.destroy();
    await new Promise((r) => setTimeout(r, 50));
    expect(started).toHaveBeenCalledTimes(3);
    expect(done).toHaveBeenCalledTimes(3);
    expect((await scoreAlone(body(1))).status).toBe(200);
  });

  it('sends 100 Continue to a caller that expects it, then reads the body', async () => {
    const text = body(4);
    const expected = await scoreAlone(text);
    const reader = await open();
    const whole = post(text, 'Expect: 100-continue\r\n');
    const head = whole.slice(0, whole.indexOf('\r\n\r\n') + 4);
    reader.socket.write(head);
    const [interim] = await reader.waitFor(1);
    expect(interim?.status).toBe(100);
    reader.socket.write(text);
    const answers = await reader.waitFor(2);
    expect(answers[1]?.status).toBe(200);
    expect(answers[1]?.body).toBe(expected.body);
  });

  it('answers an expectation other than 100-continue with 417', async () => {
    const reader = await open();
    reader.socket.write(post(body(1), 'Expect: something-else\r\n'));
    const [answer] = await reader.waitFor(1);
    expect(answer?.status).toBe(417);
  });

  it('gives a chunked body to fastify, which scores it as the same body with a length', async () => {
    const text = body(5, 2);
    const expected = await scoreAlone(text);
    const reader = await open();
    const half = Math.floor(text.length / 2);
    const chunk = (s: string) => `${Buffer.byteLength(s).toString(16)}\r\n${s}\r\n`;
    reader.socket.write(`POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n${chunk(text.slice(0, half))}`);
    await new Promise((r) => setTimeout(r, 20));
    reader.socket.write(`${chunk(text.slice(half))}0\r\n\r\n`);
    const [answer] = await reader.waitFor(1);
    expect(answer).toMatchObject({ status: 200, body: expected.body });
    expect(answer?.headers['x-model-name']).toBe(MODEL);
  });

  it('answers 413 to an oversized body, declared or chunked, and closes the connection as fastify asks', async () => {
    const big = JSON.stringify({ inputs: 'x'.repeat(MAX_BODY) });
    const reader = await open();
    reader.socket.write(post(big));
    reader.socket.write(post(body(1)));
    const answers = await reader.waitFor(2, 1_000);
    expect(answers.map((a) => a.status)).toEqual([413]);
    expect(answers[0]?.headers.connection).toBe('close');
    expect(reader.closed).toBe(true);
    expect(JSON.parse(answers[0]?.body ?? '{}')).toMatchObject({ error: 'body_too_large' });

    const chunked = await open();
    chunked.socket.write(`POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n${Buffer.byteLength(big).toString(16)}\r\n${big}\r\n0\r\n\r\n`);
    const [answer] = await chunked.waitFor(1);
    expect(answer?.status).toBe(413);
    expect(answer?.body).toBe(answers[0]?.body);
  });

  it('answers HEAD with the length of the GET answer and no body', async () => {
    const get = await open();
    get.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    const [full] = await get.waitFor(1);
    const socket = connect(port, '127.0.0.1');
    sockets.push(socket);
    let raw = '';
    socket.on('data', (d: Buffer) => { raw += d.toString('latin1'); });
    socket.write('HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    await new Promise((r) => setTimeout(r, 200));
    expect(raw.startsWith('HTTP/1.1 200 OK\r\n')).toBe(true);
    expect(raw.toLowerCase()).toContain(`content-length: ${Buffer.byteLength(full?.body ?? '')}\r\n`);
    expect(raw.endsWith('\r\n\r\n')).toBe(true);
  });

  it('answers a request that is not HTTP/1.1 with 400 and closes', async () => {
    const reader = await open();
    reader.socket.write('POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n');
    const [answer] = await reader.waitFor(1);
    expect(answer?.status).toBe(400);
    await reader.waitFor(2, 1_000);
    expect(reader.closed).toBe(true);
  });
});

describe('a draining model server', () => {
  it('answers with connection: close and closes the connection after the answer', async () => {
    const draining = await startExampleServer(MODEL);
    const url = await draining.listen({ port: 0, host: '127.0.0.1' });
    try {
      const socket = connect(Number(new URL(url).port), '127.0.0.1');
      await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
      const reader = new Reader(socket);
      socket.write(post(body(1)));
      await reader.waitFor(1);
      draining.beginDrain();
      socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
      const answers = await reader.waitFor(2);
      expect(answers[0]?.headers.connection).toBeUndefined();
      expect(answers[1]?.status).toBe(200);
      expect(answers[1]?.headers.connection).toBe('close');
      await reader.waitFor(3, 1_000);
      expect(reader.closed).toBe(true);
      socket.destroy();
    } finally {
      await draining.close();
    }
  });
});
