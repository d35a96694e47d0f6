import { STATUS_CODES } from 'node:http';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { closeParser, consumeSocket, createParser, firstHeader, METHODS, onParserEvents, type ConsumedHandle, type HeaderAccumulator, type NodeHttpParser, type ParseError, type RawHeaders } from './node-http-parser.js';

/** What the handler of one request receives as its body arrives. */
export interface BodySink {
  onBody(chunk: Buffer): void;
  /** The request body is complete. */
  onEnd(): void;
  /** A socket read delivered body bytes and the body goes on: what arrived may be sent on now. */
  onFlush(): void;
  /** The caller went away before its answer was written. */
  onAbort(): void;
}

export interface FrontServerOptions {
  readonly onRequest: (exchange: Exchange) => void;
  /** An idle keep-alive connection is closed after this long (Node's default: 5 s). */
  readonly keepAliveTimeoutMs: number;
  /** A request's headers must arrive within this long of its first byte (answered 408 otherwise). */
  readonly headersTimeoutMs: number;
  /** A whole request must arrive within this long of its first byte (answered 408 otherwise). */
  readonly requestTimeoutMs: number;
  /** Largest request head; a bigger one is answered 431 (Node's default: 16 KiB). */
  readonly maxHeaderSize: number;
}

/** Pipelined requests waiting for their answers before the connection stops reading more. */
const MAX_PIPELINED = 16;
/** How long a connection closed after an early answer (413, 400) keeps reading what the caller still sends, so it sees the answer rather than a reset. */
const LINGER_MS = 2_000;
/** Answers larger than this (bytes) are written as head and body rather than copied into one buffer (Node's pool serves up to 4 KiB). */
const LARGE_ANSWER = 16 * 1024;
/** Sweeps for timeouts run once a second: the front's timeouts are whole seconds. */
const SWEEP_MS = 1_000;

const NO_SINK: BodySink = { onBody() {}, onEnd() {}, onFlush() {}, onAbort() {} };

let dateText = '';
let dateSecond = -1;
/** The Date header value, formatted at most once a second (as node:http does). */
export function httpDate(): string {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateText = new Date(now).toUTCString();
  }
  return dateText;
}

/** `HTTP/1.1 200 OK\r\n` for every status, built once. */
const STATUS_LINES = new Map<number, string>();
function statusLine(status: number): string {
  let line = STATUS_LINES.get(status);
  if (line === undefined) {
    line = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Unknown'}\r\n`;
    if (STATUS_LINES.size < 1000) STATUS_LINES.set(status, line);
  }
  return line;
}

/**
 * One request on a connection and the means to answer it. Answers leave in request order
 * (HTTP/1.1 pipelining): an answer ready before an earlier one waits in `#out`.
 */
export class Exchange {
  /** Where the body goes; the request handler sets it synchronously, or the body is dropped. */
  sink: BodySink = NO_SINK;
  /** The request body has been received in full. */
  requestEnded = false;
  #answered = false;
  #out: Buffer | undefined;
  /** A large answer's body, written after `#out` (the head) without copying it into one buffer. */
  #outBody: Buffer | string | undefined;
  #closeAfter = false;

  constructor(
    private readonly conn: FrontConnection,
    readonly method: string,
    /** The request target as sent, e.g. `/probability/2/TAXI/trafficaware?x=1`. */
    readonly url: string,
    /** Header names and values as they arrived, in order. */
    readonly rawHeaders: RawHeaders,
    readonly versionMinor: number,
    /** The connection stays open after this exchange (false once the caller asked to close or half-closed). */
    public keepAlive: boolean,
    /** Declared body length; -1 when the body is chunked. */
    readonly contentLength: number,
  ) {}

  get answered(): boolean {
    return this.#answered;
  }

  get remoteAddress(): string | undefined {
    return this.conn.socket.remoteAddress;
  }

  /** The first value of a request header (name in lower case). */
  header(lowerName: string): string | undefined {
    return firstHeader(this.rawHeaders, lowerName);
  }

  /**
   * Answers the request. `headerLines` are complete `name: value\r\n` lines (latin1); the
   * content-length, and connection when needed, are added here. `close` ends the connection after
   * this answer (and stops reading further requests on it). `headLength`: the content-length to declare
   * in the answer to a HEAD request (whose body is not sent), when it is not the length of `body`.
   */
  respond(status: number, headerLines: string, body: Buffer | string | undefined, close = false, headLength?: number): void {
    if (this.#answered) return;
    this.#answered = true;
    const bodyBytes = body === undefined ? 0 : typeof body === 'string' ? Buffer.byteLength(body) : body.length;
    const declared = headLength !== undefined && this.method === 'HEAD' ? headLength : bodyBytes;
    const closing = close || !this.keepAlive || (this.conn.draining && this.conn.queue.at(-1) === this);
    this.#closeAfter = closing;
    const connection = closing ? 'connection: close\r\n' : this.versionMinor === 0 ? 'connection: keep-alive\r\n' : '';
    const head = `${statusLine(status)}${headerLines}content-length: ${declared}\r\n${connection}\r\n`;
    const withBody = this.method !== 'HEAD' && bodyBytes > 0;
    if (withBody && head.length + bodyBytes > LARGE_ANSWER) {
      // A large body leaves as it is, after its head, in one corked write: no copy into a buffer of its own.
      this.#out = Buffer.from(head, 'latin1');
      this.#outBody = body;
    } else {
      // Head and body in one buffer from Node's pool: one write, one syscall.
      const out = Buffer.allocUnsafe(head.length + (withBody ? bodyBytes : 0));
      const written = out.write(head, 0, 'latin1');
      if (withBody) {
        if (typeof body === 'string') out.write(body, written, 'utf8');
        else (body as Buffer).copy(out, written);
      }
      this.#out = out;
    }
    if (closing) this.conn.stopReading();
    this.conn.flushAnswers();
  }

  /** The interim `100 Continue` a caller that sent `expect: 100-continue` waits for before its body. */
  continue(): void {
    if (!this.#answered) this.conn.socket.write('HTTP/1.1 100 Continue\r\n\r\n', 'latin1');
  }

  /** @internal Takes the finished answer for writing; undefined while it is not ready. */
  takeAnswer(): { out: Buffer; body: Buffer | string | undefined; close: boolean } | undefined {
    const out = this.#out;
    if (out === undefined) return undefined;
    const body = this.#outBody;
    this.#out = undefined;
    this.#outBody = undefined;
    return { out, body, close: this.#closeAfter };
  }
}

/** One accepted TCP connection: parses requests, hands them out, writes answers in order. */
class FrontConnection {
  readonly parser: NodeHttpParser;
  readonly #accumulator: HeaderAccumulator = { headers: [], url: '' };
  /** Requests not answered yet, oldest first. */
  readonly queue: Exchange[] = [];
  /** The request whose body is being received. */
  parsing: Exchange | undefined;
  /** Sweep tick at which the connection was last seen idle (0 = not idle at the last sweep). */
  idleTick = 0;
  draining = false;
  #reading = true;
  #closed = false;
  /** The socket's native handle when the parser reads from it directly (see consumeSocket). */
  readonly #handle: ConsumedHandle | undefined;
  #paused = false;
  /** Some bytes were read (before the first, the parser's clock has not started). */
  #received = false;

  constructor(
    readonly server: FrontServer,
    readonly socket: Socket,
    private readonly options: FrontServerOptions,
  ) {
    this.parser = createParser('request', options.maxHeaderSize, this.#accumulator);
    onParserEvents(this.parser, {
      headersComplete: (_major, minor, headers, method, url, _status, _message, upgrade, keepAlive) => this.#onHeaders(minor, headers, method, url, upgrade, keepAlive),
      body: (chunk) => this.parsing?.sink.onBody(chunk),
      messageComplete: () => this.#onMessageComplete(),
    });
    socket.setNoDelay(true);
    this.#handle = consumeSocket(this.parser, socket, (result) => this.#afterExecute(result));
    if (this.#handle === undefined) socket.on('data', (data: Buffer) => this.#onData(data));
    socket.on('end', () => this.#onEnd());
    socket.on('error', () => this.destroy());
    socket.on('close', () => this.#onClose());
  }

  /**
   * Bytes of a request arrived and its end has not. The parser times each message itself (node:http's
   * server reads the same clock for its headers and request timeouts), so the data path sets nothing.
   */
  get inMessage(): boolean {
    return this.#received && this.parser.duration() > 0;
  }

  /** How long the current request has been arriving, in ms (0 between requests). */
  messageAgeMs(): number {
    return this.#received ? this.parser.duration() : 0;
  }

  get idle(): boolean {
    return this.queue.length === 0 && !this.inMessage;
  }

  #onData(data: Buffer): void {
    this.idleTick = 0;
    // After the last answer (or while draining) only the body of the request in progress is still read.
    if (!this.#reading && !this.inMessage) return;
    this.#afterExecute(this.parser.execute(data));
  }

  #afterExecute(result: number | ParseError): void {
    this.idleTick = 0;
    this.#received = true;
    if (typeof result !== 'number') {
      this.#refuse(result);
      return;
    }
    const parsing = this.parsing;
    if (parsing !== undefined && !parsing.requestEnded) parsing.sink.onFlush();
  }

  #onHeaders(minor: number, headers: RawHeaders | undefined, method: number | undefined, url: string | undefined, upgrade: boolean, keepAlive: boolean): number {
    const acc = this.#accumulator;
    let raw = headers;
    if (raw === undefined || acc.headers.length > 0) {
      raw = acc.headers.concat(raw ?? []);
      acc.headers = [];
    }
    const target = acc.url === '' ? (url ?? '') : acc.url + (url ?? '');
    acc.url = '';
    if (!this.#reading) return 0;
    const length = firstHeader(raw, 'content-length');
    const exchange = new Exchange(this, METHODS[method ?? -1] ?? 'GET', target, raw, minor, keepAlive && !upgrade, length === undefined ? (firstHeader(raw, 'transfer-encoding') === undefined ? 0 : -1) : Number(length));
    this.queue.push(exchange);
    this.parsing = exchange;
    if (upgrade) {
      // Protocol upgrades (WebSocket, CONNECT tunnels) are no part of a scoring API.
      exchange.respond(501, `date: ${httpDate()}\r\ncontent-type: application/json; charset=utf-8\r\n`, '{"error":"protocol upgrades are not supported"}', true);
      return 0;
    }
    if (this.queue.length >= MAX_PIPELINED) this.#pause();
    this.options.onRequest(exchange);
    return 0;
  }

  #onMessageComplete(): void {
    const exchange = this.parsing;
    this.parsing = undefined;
    if (exchange === undefined) return;
    exchange.requestEnded = true;
    exchange.sink.onEnd();
  }

  /** Writes every answer that is ready and due, in request order. */
  flushAnswers(): void {
    while (this.queue.length > 0) {
      const head = this.queue[0] as Exchange;
      const answer = head.takeAnswer();
      if (answer === undefined) return;
      this.queue.shift();
      if (this.#closed) continue;
      if (answer.body === undefined) this.socket.write(answer.out);
      else {
        this.socket.cork();
        this.socket.write(answer.out);
        if (typeof answer.body === 'string') this.socket.write(answer.body, 'utf8');
        else this.socket.write(answer.body);
        this.socket.uncork();
      }
      if (answer.close) {
        this.#endAfterWrites();
        return;
      }
    }
    if (this.#paused && this.#reading) this.#resume();
    if (this.draining && this.idle) this.#endAfterWrites();
  }

  /** A request that cannot be parsed: 400 (or 431 for an oversized head), then close. */
  #refuse(err: ParseError): void {
    this.stopReading();
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
    const pending = this.queue.at(-1);
    if (pending !== undefined && !pending.answered && pending === this.parsing) {
      pending.sink.onAbort();
      pending.respond(400, `date: ${httpDate()}\r\ncontent-type: application/json; charset=utf-8\r\n`, JSON.stringify({ error: 'bad request', reason: `the request body is not valid HTTP/1.1 (${err.code})` }), true);
      return;
    }
    if (this.queue.length > 0) {
      this.#endAfterWrites();
      return;
    }
    const body = JSON.stringify({ error: STATUS_CODES[status], reason: `the request is not valid HTTP/1.1 (${err.code})` });
    this.socket.write(`${statusLine(status)}date: ${httpDate()}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`, 'latin1');
    this.#endAfterWrites();
  }

  /** Stops handing out requests from this connection (it closes after the answers it owes). */
  stopReading(): void {
    this.#reading = false;
  }

  /** Half-closes after the queued writes, keeps draining what the caller still sends for a while, then closes. */
  #endAfterWrites(): void {
    this.stopReading();
    if (this.#closed) return;
    this.socket.end();
    const linger = setTimeout(() => this.destroy(), LINGER_MS);
    linger.unref();
    this.socket.once('close', () => clearTimeout(linger));
    if (this.#paused) this.#resume();
  }

  /** Answers 408 to a request that did not arrive in time (when no earlier answer is owed), then closes. */
  timeOut(): void {
    this.stopReading();
    if (this.queue.length === 0 || (this.queue.length === 1 && this.queue[0] === this.parsing)) {
      this.parsing?.sink.onAbort();
      this.queue.length = 0;
      this.parsing = undefined;
      const body = '{"error":"request timeout","reason":"the request did not arrive in time"}';
      this.socket.write(`${statusLine(408)}date: ${httpDate()}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`, 'latin1');
      this.#endAfterWrites();
    } else {
      this.destroy();
    }
  }

  /** Stops reading from the socket (too many pipelined requests wait for their answers). */
  #pause(): void {
    this.#paused = true;
    if (this.#handle !== undefined) this.#handle.readStop();
    else this.socket.pause();
  }

  #resume(): void {
    this.#paused = false;
    if (this.#handle !== undefined) this.#handle.readStart();
    else this.socket.resume();
  }

  #onEnd(): void {
    // The caller half-closed: answer what it asked, then close. A request cut short is abandoned.
    if (this.inMessage) {
      this.parsing?.sink.onAbort();
      this.destroy();
      return;
    }
    this.stopReading();
    if (this.queue.length === 0) this.#endAfterWrites();
    else for (const exchange of this.queue) exchange.keepAlive = false;
  }

  destroy(): void {
    if (!this.#closed) this.socket.destroy();
    this.#onClose();
  }

  #onClose(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.server.forget(this);
    const pending = this.queue.splice(0);
    for (const exchange of pending) if (!exchange.answered) exchange.sink.onAbort();
    this.parsing = undefined;
    closeParser(this.parser, this.#handle !== undefined);
  }
}

/**
 * An HTTP/1.1 server on `node:net` and Node's llhttp parser, for the data paths of the gateway and the model server: each
 * request costs one parser callback set, one Exchange and one write for its answer. Keep-alive,
 * pipelining (answers in order), `expect: 100-continue` (the handler calls `continue()`), the
 * headers/request/keep-alive timeouts of `node:http` and a graceful close are handled here.
 */
export class FrontServer {
  readonly server: Server;
  readonly #connections = new Set<FrontConnection>();
  readonly #sweeper: NodeJS.Timeout;
  #draining = false;
  /** Sweep counter: timeouts compare ticks, so the data path never reads a clock for them. */
  tick = 1;

  constructor(private readonly options: FrontServerOptions) {
    // allowHalfOpen: a caller that half-closes after its last request still gets every answer.
    this.server = createServer({ allowHalfOpen: true, noDelay: true }, (socket) => {
      if (this.#draining) {
        socket.destroy();
        return;
      }
      this.#connections.add(new FrontConnection(this, socket, options));
    });
    this.#sweeper = setInterval(() => this.#sweep(), SWEEP_MS);
    this.#sweeper.unref();
  }

  get connections(): number {
    return this.#connections.size;
  }

  forget(conn: FrontConnection): void {
    this.#connections.delete(conn);
  }

  #sweep(): void {
    const tick = ++this.tick;
    const keepAliveTicks = Math.max(1, Math.ceil(this.options.keepAliveTimeoutMs / SWEEP_MS));
    const { headersTimeoutMs, requestTimeoutMs } = this.options;
    for (const conn of this.#connections) {
      const age = conn.messageAgeMs();
      if (age > 0) {
        if ((!conn.parser.headersCompleted() && age > headersTimeoutMs) || age > requestTimeoutMs) conn.timeOut();
      } else if (conn.queue.length === 0) {
        if (conn.idleTick === 0) conn.idleTick = tick;
        else if (tick - conn.idleTick >= keepAliveTicks) conn.destroy();
      }
    }
  }

  listen(port: number, host: string): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      this.server.once('error', onError);
      this.server.listen(port, host, () => {
        this.server.off('error', onError);
        resolve(this.server.address() as AddressInfo);
      });
    });
  }

  /**
   * Stops accepting, closes idle connections, lets the others finish the answers they owe (each
   * closes after its last one), and resolves when all are gone or `timeoutMs` passed (the rest are cut).
   *
   * With `idleGraceMs`, idle connections are not cut at once but may still deliver one request for that
   * long (answered with `connection: close`): a connection whose request is still in the kernel's buffer
   * looks idle, and cutting it would reset a request the caller already sent. Those still silent then are closed.
   */
  async close(timeoutMs: number, idleGraceMs = 0): Promise<void> {
    this.#draining = true;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const conn of this.#connections) {
      conn.draining = true;
      if (conn.idle) {
        if (idleGraceMs <= 0) conn.destroy();
      } else {
        // Answer what was asked on it (the last answer says `connection: close`), take nothing new.
        conn.stopReading();
        conn.flushAnswers();
      }
    }
    const started = Date.now();
    const deadline = started + timeoutMs;
    let graceOver = idleGraceMs <= 0;
    while (this.#connections.size > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, graceOver ? 20 : 10));
      if (!graceOver && Date.now() - started >= idleGraceMs) {
        graceOver = true;
        for (const conn of this.#connections) if (conn.idle) conn.destroy();
      }
    }
    for (const conn of this.#connections) conn.destroy();
    clearInterval(this.#sweeper);
    await closed;
  }
}
