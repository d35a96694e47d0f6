import type { FastifyInstance } from 'fastify';
import { httpDate, type BodySink, type Exchange } from '../../lib/http1/front-server.js';
import type { RawHeaders } from '../../lib/http1/node-http-parser.js';
import { INTERNAL, JSON_TYPE } from './scoring-lane.js';

/**
 * Every request the scoring lane does not take (probes, /metrics, v2 metadata, CSV, chunked or
 * oversized bodies, wrong methods, unknown paths) is answered by fastify through `app.inject()`: the
 * body is read here (at most `maxBodyBytes` + 1 bytes of it), the request is handed to fastify as
 * node:http would have handed it over, and fastify's answer is written back through the Exchange. So
 * fastify stays the one place for those answers, and they are the same whether a request arrives on a
 * socket or in-process.
 */

export interface FastifyLaneOptions {
  readonly app: FastifyInstance;
  readonly maxBodyBytes: number;
  /** True while draining: answers carry `Connection: close`. */
  readonly draining: () => boolean;
  /** A POST's headers arrived / its body was handed to fastify or given up (fastify's own hook counts from there). */
  readonly intakeStarted: () => void;
  readonly intakeDone: () => void;
  /** `inject()` itself failed (a bug): logged and counted by the caller, answered 500 here. */
  readonly onFault: (err: unknown) => void;
}

/** Headers node:http keeps only the first value of when a request repeats them (the rest are dropped). */
const SINGLE_VALUED = new Set([
  'age', 'authorization', 'content-length', 'content-type', 'etag', 'expires', 'from', 'host', 'if-modified-since',
  'if-unmodified-since', 'last-modified', 'location', 'max-forwards', 'proxy-authorization', 'referer',
  'retry-after', 'server', 'user-agent',
]);

/** Answer headers the Exchange writes itself (or that describe the in-process response only). */
const NOT_COPIED = new Set(['content-length', 'connection', 'transfer-encoding', 'keep-alive', 'date']);

/** The request headers as node:http's `req.headers` has them: lower-case names, repeated values joined. */
export function headersObject(raw: RawHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = (raw[i] as string).toLowerCase();
    const value = raw[i + 1] as string;
    const had = out[name];
    if (had === undefined) out[name] = name === 'set-cookie' ? [value] : value;
    else if (name === 'set-cookie') (had as string[]).push(value);
    else if (SINGLE_VALUED.has(name)) continue;
    else out[name] = `${had as string}${name === 'cookie' ? '; ' : ', '}${value}`;
  }
  return out;
}

/** Collects one request's body (up to the limit plus one byte) and hands the request to fastify. */
class InjectedRequest implements BodySink {
  #chunks: Buffer[] = [];
  #bytes = 0;
  #intake: boolean;
  #handedOver = false;

  constructor(private readonly lane: FastifyLaneOptions, private readonly exchange: Exchange) {
    this.#intake = exchange.method === 'POST';
    if (this.#intake) lane.intakeStarted();
  }

  onBody(chunk: Buffer): void {
    if (this.#handedOver) return;
    this.#chunks.push(chunk);
    this.#bytes += chunk.length;
    // A chunked body over the limit: fastify answers 413 from what it got, as it does on a stream.
    if (this.#bytes > this.lane.maxBodyBytes) this.handOver(true);
  }

  onFlush(): void {}

  onEnd(): void {
    this.handOver(true);
  }

  onAbort(): void {
    this.#chunks = [];
    this.#handedOver = true;
    this.#endIntake();
  }

  /** Passes the request to fastify; `withBody`: with the bytes read (false: the declared length alone tells fastify it is too large). */
  handOver(withBody: boolean): void {
    if (this.#handedOver) return;
    this.#handedOver = true;
    this.#endIntake();
    const { exchange, lane } = this;
    const headers = headersObject(exchange.rawHeaders);
    let payload: Buffer | undefined;
    if (withBody) {
      // The body is whole now: it reaches fastify with its length, however it was framed on the wire.
      delete headers['transfer-encoding'];
      payload = this.#chunks.length === 1 ? this.#chunks[0] : Buffer.concat(this.#chunks);
      this.#chunks = [];
      if (payload !== undefined && payload.length > 0) headers['content-length'] = String(payload.length);
      else payload = undefined;
    }
    lane.app.inject({ method: exchange.method as 'GET', url: exchange.url, headers, payload, remoteAddress: exchange.remoteAddress }).then((res) => {
      let lines = `date: ${httpDate()}\r\n`;
      for (const [name, value] of Object.entries(res.headers)) {
        if (value === undefined || NOT_COPIED.has(name)) continue;
        if (Array.isArray(value)) for (const v of value) lines += `${name}: ${v}\r\n`;
        else lines += `${name}: ${value}\r\n`;
      }
      // A HEAD answer declares the length of the GET answer fastify computed, with no body.
      const headLength = exchange.method === 'HEAD' && res.headers['content-length'] !== undefined ? Number(res.headers['content-length']) : undefined;
      exchange.respond(res.statusCode, lines, res.rawPayload, lane.draining() || res.headers.connection === 'close', headLength);
    }, (err: unknown) => {
      lane.onFault(err);
      exchange.respond(500, `date: ${httpDate()}\r\ncontent-type: ${JSON_TYPE}\r\n`, INTERNAL, lane.draining());
    });
  }

  #endIntake(): void {
    if (!this.#intake) return;
    this.#intake = false;
    this.lane.intakeDone();
  }
}

/** Returns the handler for every request the scoring lane leaves: it answers through fastify. */
export function createFastifyLane(options: FastifyLaneOptions): (exchange: Exchange) => void {
  return (exchange) => {
    const request = new InjectedRequest(options, exchange);
    exchange.sink = request;
    // A declared length over the limit: fastify answers 413 from the header without reading the body
    // (which is then read and dropped, so the connection stays usable).
    if (exchange.contentLength > options.maxBodyBytes) request.handOver(false);
  };
}
