import { connect as connectTcp, type Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';
import { closeParser, createParser, onParserEvents, type HeaderAccumulator, type NodeHttpParser, type RawHeaders } from '../../../lib/http1/node-http-parser.js';

/** Why an upstream call ended without an answer; `code` drives the metrics' `reason` label. */
export interface UpstreamFailure extends Error {
  readonly code: string;
  /**
   * The call went out on a kept-alive connection that the model server closed before sending a
   * byte: the request may be sent again on a fresh connection (the keep-alive race).
   */
  readonly stale?: boolean;
}

/** Receives the outcome of one call: exactly one of the two is called. */
export interface UpstreamHandler {
  /** The whole answer; `rawHeaders` as received. */
  onAnswer(status: number, rawHeaders: RawHeaders, body: Buffer): void;
  onFailure(err: UpstreamFailure): void;
}

export interface UpstreamPoolOptions {
  readonly connectTimeoutMs: number;
  /** Bound on each silence while a call waits: for the first answer byte and between body reads. */
  readonly upstreamTimeoutMs: number;
  /** Largest answer collected; a bigger one fails the call (ANSWER_TOO_LARGE). */
  readonly maxAnswerBytes: number;
  /** Idle kept-alive connections are closed after this long. */
  readonly idleTimeoutMs: number;
}

function failure(code: string, message: string, stale = false): UpstreamFailure {
  return Object.assign(new Error(message), { code, stale });
}

const EMPTY = Buffer.alloc(0);
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);

/** One connection to a model server, carrying one call at a time (no pipelining). */
export class UpstreamConnection {
  readonly socket: Socket;
  readonly #parser: NodeHttpParser;
  readonly #accumulator: HeaderAccumulator = { headers: [], url: '' };
  handler: UpstreamHandler | undefined;
  /** Calls this connection completed: a failure before the first byte on a used one is the keep-alive race. */
  served = 0;
  connected = false;
  /** Sweep tick of the last sign of life (connect, a read, the request written). */
  activityTick: number;
  #received = false;
  #requestEnded = false;
  #status = 0;
  #headers: RawHeaders = [];
  #chunks: Buffer[] = [];
  #size = 0;
  #keepAlive = false;
  #closed = false;

  constructor(private readonly pool: UpstreamPool) {
    const { host, port, tls } = pool.target;
    // Plain connections read into one shared buffer through `onread`: no Readable stream and no
    // allocation per read. That is safe because each read is parsed at once (the parser copies
    // what it keeps).
    this.socket = tls
      ? connectTls({ host, port, servername: host })
      : connectTcp({ host, port, onread: { buffer: READ_BUFFER, callback: (bytes: number, buffer: Uint8Array) => this.#onRead(bytes, buffer) } });
    this.socket.setNoDelay(true);
    this.activityTick = pool.clock.tick;
    this.#parser = createParser('response', 0, this.#accumulator);
    onParserEvents(this.#parser, {
      headersComplete: (_major, _minor, headers, _method, _url, status, _message, _upgrade, keepAlive) => {
        const acc = this.#accumulator;
        let raw = headers ?? [];
        if (acc.headers.length > 0) {
          raw = acc.headers.concat(raw);
          acc.headers = [];
        }
        this.#status = status ?? 0;
        this.#headers = raw;
        this.#keepAlive = keepAlive;
        return 0;
      },
      body: (chunk) => {
        this.#size += chunk.length;
        if (this.#size > pool.options.maxAnswerBytes) {
          this.#fail(failure('ANSWER_TOO_LARGE', `the answer exceeds ${pool.options.maxAnswerBytes} bytes`));
          return;
        }
        this.#chunks.push(chunk);
      },
      messageComplete: () => this.#onAnswer(),
    });
    this.socket.on(tls ? 'secureConnect' : 'connect', () => {
      this.connected = true;
      this.activityTick = pool.clock.tick;
    });
    if (tls) this.socket.on('data', (data: Buffer) => this.#onData(data));
    this.socket.on('end', () => this.#onEnd());
    this.socket.on('error', (err: NodeJS.ErrnoException) => this.#fail(failure(err.code ?? 'UPSTREAM_ERROR', err.message, this.#isStale())));
    this.socket.on('close', () => this.#fail(failure('UPSTREAM_CLOSED', 'the model server closed the connection before answering', this.#isStale())));
  }

  get busy(): boolean {
    return this.handler !== undefined;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Starts a call on this (idle or fresh) connection. */
  start(handler: UpstreamHandler): void {
    this.handler = handler;
    this.#received = false;
    this.#requestEnded = false;
    this.#status = 0;
    this.#chunks = [];
    this.#size = 0;
    this.activityTick = this.pool.clock.tick;
  }

  /** Sends request bytes; `last` marks the end of the request. */
  send(data: Buffer, last: boolean): void {
    if (this.#closed) return;
    if (last) this.#requestEnded = true;
    this.socket.write(data);
  }

  /** Gives up on the call (the caller went away, or its request broke): the connection is not reused. */
  abort(): void {
    this.handler = undefined;
    this.destroy();
  }

  #isStale(): boolean {
    return this.served > 0 && !this.#received;
  }

  #onRead(bytes: number, buffer: Uint8Array): boolean {
    this.#onData((buffer as Buffer).subarray(0, bytes));
    return true;
  }

  #onData(data: Buffer): void {
    this.activityTick = this.pool.clock.tick;
    if (this.handler === undefined) {
      // Bytes nobody asked for (an idle connection): the connection is out of step; drop it.
      this.destroy();
      return;
    }
    this.#received = true;
    const result = this.#parser.execute(data);
    if (typeof result !== 'number') this.#fail(failure(result.code, `the model server's answer is not valid HTTP/1.1 (${result.code})`));
  }

  #onAnswer(): void {
    const handler = this.handler;
    if (handler === undefined) return;
    if (this.#status < 200) {
      // An interim answer (100 Continue, 103 Early Hints): the real one follows.
      this.#chunks = [];
      this.#size = 0;
      return;
    }
    const chunks = this.#chunks;
    const body = chunks.length === 1 ? (chunks[0] as Buffer) : chunks.length === 0 ? EMPTY : Buffer.concat(chunks, this.#size);
    const reusable = this.#keepAlive && this.#requestEnded;
    this.handler = undefined;
    this.#chunks = [];
    this.served += 1;
    if (reusable) this.pool.release(this);
    else this.destroy();
    handler.onAnswer(this.#status, this.#headers, body);
  }

  #onEnd(): void {
    // A close-delimited answer ends here; anything else still in progress was cut short.
    if (this.handler !== undefined && this.#received) {
      const result = this.#parser.finish();
      if (result !== undefined) this.#fail(failure('UPSTREAM_CLOSED', 'the model server closed the connection in the middle of its answer'));
    }
    this.#fail(failure('UPSTREAM_CLOSED', 'the model server closed the connection before answering', this.#isStale()));
  }

  /** Ends the call in progress (if any) with `err` and closes the connection. */
  #fail(err: UpstreamFailure): void {
    const handler = this.handler;
    this.handler = undefined;
    this.destroy();
    handler?.onFailure(err);
  }

  /** The sweep found the call silent for too long. */
  timeOut(connecting: boolean): void {
    this.#fail(connecting
      ? failure('UPSTREAM_CONNECT_TIMEOUT', `no connection within ${this.pool.options.connectTimeoutMs} ms`)
      : failure('UPSTREAM_TIMEOUT', `no answer within ${this.pool.options.upstreamTimeoutMs} ms`));
  }

  destroy(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.socket.destroy();
    closeParser(this.#parser);
    this.pool.forget(this);
  }
}

/** The sweep clock shared by a gateway's pools: calls stamp ticks, never read the time. */
export class SweepClock {
  tick = 1;
}

/**
 * Kept-alive connections to one model server (one origin). A call takes an idle connection (the
 * most recently used, whose socket is warm) or opens a new one; connections are unbounded in
 * number, so no call waits in a queue that no timeout covers.
 */
export class UpstreamPool {
  readonly target: { readonly host: string; readonly port: number; readonly tls: boolean; readonly hostHeader: string };
  readonly #idle: UpstreamConnection[] = [];
  readonly #all = new Set<UpstreamConnection>();
  #closing = false;

  constructor(
    origin: string,
    readonly options: UpstreamPoolOptions,
    readonly clock: SweepClock,
  ) {
    const url = new URL(origin);
    const tls = url.protocol === 'https:';
    const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    this.target = { host, port: Number(url.port || (tls ? 443 : 80)), tls, hostHeader: url.host };
  }

  /** A connection for one call (`fresh`: a new one, not a kept-alive one); `handler` gets the outcome. */
  open(handler: UpstreamHandler, fresh = false): UpstreamConnection {
    let conn = fresh ? undefined : this.#idle.pop();
    while (conn !== undefined && conn.closed) conn = this.#idle.pop();
    if (conn === undefined) {
      conn = new UpstreamConnection(this);
      this.#all.add(conn);
    }
    conn.start(handler);
    return conn;
  }

  /** A finished call hands its connection back for the next one. */
  release(conn: UpstreamConnection): void {
    if (this.#closing) {
      conn.destroy();
      return;
    }
    conn.activityTick = this.clock.tick;
    this.#idle.push(conn);
  }

  forget(conn: UpstreamConnection): void {
    this.#all.delete(conn);
    const i = this.#idle.indexOf(conn);
    if (i !== -1) this.#idle.splice(i, 1);
  }

  get busy(): number {
    let n = 0;
    for (const conn of this.#all) if (conn.busy) n++;
    return n;
  }

  /** Times out silent calls and closes connections idle for too long. */
  sweep(tick: number, ticks: { connect: number; call: number; idle: number }): void {
    for (const conn of this.#all) {
      const age = tick - conn.activityTick;
      if (conn.busy) {
        if (!conn.connected && age > ticks.connect) conn.timeOut(true);
        else if (age > ticks.call) conn.timeOut(false);
      } else if (age > ticks.idle) {
        conn.destroy();
      }
    }
  }

  /** Closes idle connections now and busy ones after their answer; `force` cuts them too. */
  close(force: boolean): Promise<void> {
    this.#closing = true;
    for (const conn of [...this.#all]) if (force || !conn.busy) conn.destroy();
    if (this.#all.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const wait = setInterval(() => {
        if (this.#all.size === 0 || [...this.#all].every((c) => !c.busy)) {
          clearInterval(wait);
          for (const conn of [...this.#all]) conn.destroy();
          resolve();
        }
      }, 20);
    });
  }
}
