import type { Logger } from '../../lib/log.js';
import { RETRY_AFTER_SECONDS, type ColdStartGate, type HeldCall } from './cold-start-gate.js';
import type { LiveRoute, LiveTable, LiveVariant } from './compile-route-table.js';
import type { UpstreamErrorReason } from './gateway-metrics.js';
import { httpDate, type BodySink, type Exchange } from '../../lib/http1/front-server.js';
import type { RawHeaders } from '../../lib/http1/node-http-parser.js';
import type { UpstreamConnection, UpstreamFailure, UpstreamHandler } from './http1/upstream-pool.js';
import { pickVariant } from './pick-variant.js';

export { DEPLOY_NAME_HEADER, MODEL_HEADER, VARIANT_HEADER, VERSION_HEADER } from './compile-route-table.js';

export interface ProxySettings {
  readonly logger: Logger;
  readonly upstreamTimeoutMs: number;
  readonly maxBodyBytes: number;
  readonly maxShadowInFlight: number;
  readonly random: () => number;
}

/** Mutable count of mirrored requests in flight, shared by every route of one gateway. */
export interface ShadowState {
  inFlight: number;
}

// Hop-by-hop headers belong to one connection and are never forwarded
// (https://www.rfc-editor.org/rfc/rfc9110#section-7.6.1); content-length and transfer-encoding
// are set again for the next hop, and host names the model server.
const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade',
  'host', 'content-length', 'expect', 'http2-settings', 'proxy-authenticate', 'proxy-authorization',
]);

const LOG_EVERY_MS = 10_000;
/** Status recorded when the caller closed the connection before the answer was sent (nginx's convention). */
const CLIENT_CLOSED = 499;
/** Request bodies up to this size are kept until the answer starts, so the keep-alive race can be retried. */
const RETRY_BODY_LIMIT = 1024 * 1024;
/** Request bodies up to this size are sent in one write with their head; larger ones stream as they arrive. */
const COALESCE_BYTES = 64 * 1024;
const JSON_TYPE = 'content-type: application/json; charset=utf-8\r\n';
/** Answer header on a request that waited for its variant to wake: how long it was held, in ms. */
export const COLD_START_HEADER = 'x-modelfleet-cold-start';

/**
 * Forwards one scoring request. Called when the request's headers arrived: it picks the variant
 * (sticky key or weighted random), then streams the body to the model server as it arrives (what
 * one socket read delivers leaves in one write, headers included), mirrors the request to the
 * route's shadows once it is complete, and relays the answer with headers naming the model and
 * variant. Any upstream failure becomes a JSON 503; nothing waits longer than the upstream timeout.
 * Bodies are never decoded or parsed: bytes in, bytes out.
 */
export function proxyRequest(settings: ProxySettings, shadowState: ShadowState, exchange: Exchange, route: LiveRoute, table: LiveTable): void {
  if (exchange.contentLength > settings.maxBodyBytes) {
    refuseTooLarge(settings, exchange, route);
    return;
  }
  table.inFlight += 1;
  exchange.sink = new ProxyCall(settings, shadowState, exchange, route, table);
}

function refuseTooLarge(settings: ProxySettings, exchange: Exchange, route: LiveRoute): void {
  exchange.respond(413, `date: ${httpDate()}\r\n${JSON_TYPE}`, JSON.stringify({
    error: 'request body too large',
    route: route.entry.route,
    model: route.entry.model,
    reason: `the body exceeds the gateway's limit of ${settings.maxBodyBytes} bytes (MAX_BODY_BYTES)`,
  }), true);
}

/** One request through the gateway: the body on its way in, the answer on its way back. */
class ProxyCall implements BodySink, UpstreamHandler, HeldCall {
  readonly started = performance.now();
  readonly variant: LiveVariant;
  /** The caller's end-to-end headers as `name: value\r\n` lines, for the model server and the shadows. */
  readonly headerLines: string;
  readonly #chunked: boolean;
  #conn: UpstreamConnection | undefined;
  /** Body bytes received, not sent yet. */
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  /** Every body chunk, while kept for the shadows or a retry (undefined once too large to keep). */
  #kept: Buffer[] | undefined = [];
  #bodyBytes = 0;
  #headSent = false;
  #retried = false;
  #done = false;
  /** Held by the variant's ColdStartGate while the variant wakes. */
  #holding = false;
  /** Released by the gate: its finish lets the next held request go. */
  #released = false;
  /** The cold-start answer header line, once released ('' on the warm path). */
  #coldLine = '';
  heldAt = 0;

  constructor(
    private readonly settings: ProxySettings,
    private readonly shadowState: ShadowState,
    private readonly exchange: Exchange,
    private readonly route: LiveRoute,
    private readonly table: LiveTable,
  ) {
    const raw = exchange.rawHeaders;
    const sticky = route.entry.stickyHeader;
    let key: string | undefined;
    let lines = '';
    let expectContinue = false;
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i] as string;
      const value = raw[i + 1] as string;
      const lower = name.toLowerCase();
      if (HOP_BY_HOP.has(lower)) {
        if (lower === 'expect' && value.toLowerCase() === '100-continue') expectContinue = true;
        continue;
      }
      if (key === undefined && lower === sticky) key = value;
      lines += `${name}: ${value}\r\n`;
    }
    this.headerLines = lines;
    this.#chunked = exchange.contentLength === -1;
    this.variant = route.serving[pickVariant(route.thresholds, route.entry.model, key, settings.random)] as LiveVariant;
    if (expectContinue) exchange.continue();
    const gate = this.variant.gate;
    if (gate !== undefined) {
      gate.activity += 1;
      gate.inFlight += 1;
      if (!gate.open) this.#hold(gate);
    }
  }

  /** Waits in the gate's queue, or is answered 503 at once when the queue is full. */
  #hold(gate: ColdStartGate): void {
    this.heldAt = performance.now();
    this.#holding = true;
    if (gate.hold(this)) return;
    this.#holding = false;
    this.#refuseCold(`${gate.pending} requests already wait for ${this.variant.spec.deployName} to wake (scaleToZero.maxPending)`, 'cold start queue full');
  }

  release(holdMs: number): void {
    this.#holding = false;
    this.#released = true;
    this.#coldLine = `${COLD_START_HEADER}: ${Math.round(holdMs)}\r\n`;
    if (this.exchange.requestEnded) this.#send(true);
    else this.onFlush();
  }

  expire(reason: string): void {
    this.#holding = false;
    this.#refuseCold(reason, 'model is waking up');
  }

  #refuseCold(reason: string, error: string): void {
    if (this.#done) return;
    const { variant, route } = this;
    this.exchange.respond(503, `date: ${httpDate()}\r\n${JSON_TYPE}retry-after: ${RETRY_AFTER_SECONDS}\r\n${variant.answerLines}`, JSON.stringify({
      error,
      route: route.entry.route,
      model: route.entry.model,
      variant: variant.spec.id,
      deployName: variant.spec.deployName,
      reason,
    }));
    this.#finish(503);
  }

  onBody(chunk: Buffer): void {
    if (this.#done) return;
    this.#bodyBytes += chunk.length;
    if (this.#bodyBytes > this.settings.maxBodyBytes) {
      // A chunked body grew past the limit: the model server never gets a complete request.
      this.#conn?.abort();
      this.#conn = undefined;
      this.#done = true;
      this.table.finish();
      if (this.#holding) {
        this.#holding = false;
        this.variant.gate?.drop(this);
      }
      this.#leaveGate();
      refuseTooLarge(this.settings, this.exchange, this.route);
      return;
    }
    this.#pending.push(chunk);
    this.#pendingBytes += chunk.length;
    const kept = this.#kept;
    if (kept !== undefined) {
      if (this.route.shadows.length > 0 || this.#bodyBytes <= RETRY_BODY_LIMIT) kept.push(chunk);
      else this.#kept = undefined;
    }
  }

  onFlush(): void {
    // A small body whose head arrived in one packet and the rest in the next (as undici, curl and
    // autocannon send them) waits for its end and leaves in one write; large and chunked bodies stream.
    if (this.#done || this.#holding || this.#pendingBytes === 0) return;
    if (!this.#headSent && this.exchange.contentLength !== -1 && this.exchange.contentLength <= COALESCE_BYTES) return;
    this.#send(false);
  }

  onEnd(): void {
    if (this.#done) return;
    if (!this.#holding) this.#send(true);
    const shadows = this.route.shadows;
    if (shadows.length > 0 && this.#kept !== undefined) {
      const body = joinChunks(this.#kept, this.#bodyBytes);
      for (const shadow of shadows) mirror(this.settings, this.shadowState, shadow, this.headerLines, body);
    }
  }

  onAbort(): void {
    if (this.#done) return;
    if (this.#holding) {
      this.#holding = false;
      this.variant.gate?.drop(this);
    }
    this.#conn?.abort();
    this.#conn = undefined;
    if (this.exchange.requestEnded) this.#finish(CLIENT_CLOSED);
    else {
      this.#done = true;
      this.table.finish();
      this.#leaveGate();
    }
  }

  /** Sends what arrived: the head first (with the framing the body needs), then the body bytes. */
  #send(last: boolean): void {
    let head = '';
    if (!this.#headSent) {
      this.#headSent = true;
      this.#conn = this.variant.pool.open(this, this.#retried);
      head = `${this.variant.requestLine}${this.headerLines}${this.#chunked ? 'transfer-encoding: chunked\r\n' : `content-length: ${this.exchange.contentLength}\r\n`}\r\n`;
    }
    const pending = this.#pending;
    const bytes = this.#pendingBytes;
    this.#pending = [];
    this.#pendingBytes = 0;
    const chunkHead = this.#chunked && bytes > 0 ? `${bytes.toString(16)}\r\n` : '';
    const chunkTail = this.#chunked ? (bytes > 0 ? '\r\n' : '') + (last ? '0\r\n\r\n' : '') : '';
    const out = Buffer.allocUnsafe(head.length + chunkHead.length + bytes + chunkTail.length);
    let at = out.write(head + chunkHead, 0, 'latin1');
    for (const chunk of pending) at += chunk.copy(out, at);
    if (chunkTail.length > 0) out.write(chunkTail, at, 'latin1');
    this.#conn?.send(out, last);
  }

  onAnswer(status: number, rawHeaders: RawHeaders, body: Buffer): void {
    if (this.#done) return;
    this.#conn = undefined;
    this.#kept = undefined;
    let lines = '';
    for (let i = 0; i < rawHeaders.length; i += 2) {
      const name = rawHeaders[i] as string;
      if (!HOP_BY_HOP.has(name.toLowerCase())) lines += `${name}: ${rawHeaders[i + 1] as string}\r\n`;
    }
    this.exchange.respond(status, lines + this.variant.answerLines + this.#coldLine, body);
    if (status >= 500) this.variant.stats.upstreamError('status_5xx');
    this.#finish(status);
  }

  onFailure(err: UpstreamFailure): void {
    if (this.#done) return;
    this.#conn = undefined;
    const kept = this.#kept;
    const gate = this.variant.gate;
    if (gate !== undefined && !this.#released && err.code === 'ECONNREFUSED' && kept !== undefined && this.exchange.requestEnded) {
      // Nothing listens: the variant was scaled to zero (or stopped) behind the gateway's back.
      // Hold the request and wake it, as if the gate had known.
      gate.markAsleep();
      this.#pending = [...kept];
      this.#pendingBytes = this.#bodyBytes;
      this.#headSent = false;
      this.#hold(gate);
      return;
    }
    if (err.stale && !this.#retried && kept !== undefined && this.exchange.requestEnded) {
      // The keep-alive race: the model server closed an idle connection just as this request went
      // out on it, so it never saw the request. Send it once more on a fresh connection.
      this.#retried = true;
      // A copy: the body stays kept in case the fresh connection finds the variant asleep.
      this.#pending = gate === undefined ? kept : [...kept];
      this.#pendingBytes = this.#bodyBytes;
      if (gate === undefined) this.#kept = undefined;
      this.#headSent = false;
      this.#send(true);
      return;
    }
    const { variant, route, settings } = this;
    const reason = classify(err);
    variant.stats.upstreamError(reason);
    logUpstreamError(settings.logger, variant, reason, err);
    this.exchange.respond(503, `date: ${httpDate()}\r\n${JSON_TYPE}retry-after: 1\r\n${variant.answerLines}`, JSON.stringify({
      error: 'model unavailable',
      route: route.entry.route,
      model: route.entry.model,
      variant: variant.spec.id,
      deployName: variant.spec.deployName,
      reason: describeFailure(reason, err, settings, variant),
    }));
    this.#finish(503);
  }

  #finish(code: number): void {
    if (this.#done) return;
    this.#done = true;
    this.table.finish();
    this.#leaveGate();
    this.variant.stats.record(code, (performance.now() - this.started) / 1000);
  }

  #leaveGate(): void {
    const gate = this.variant.gate;
    if (gate === undefined) return;
    gate.inFlight -= 1;
    if (this.#released) {
      this.#released = false;
      gate.releasedDone();
    }
  }
}

/** Reads and drops a shadow's answer, counting how it went. */
class ShadowCall implements UpstreamHandler {
  readonly started = performance.now();

  constructor(
    private readonly settings: ProxySettings,
    private readonly state: ShadowState,
    private readonly shadow: LiveVariant,
  ) {}

  onAnswer(status: number): void {
    const stats = this.shadow.stats;
    this.state.inFlight -= 1;
    stats.record(status, (performance.now() - this.started) / 1000);
    if (status >= 500) stats.upstreamError('status_5xx');
    stats.shadow(status < 500 ? 'ok' : 'error');
  }

  onFailure(err: UpstreamFailure): void {
    const stats = this.shadow.stats;
    this.state.inFlight -= 1;
    const reason = classify(err);
    stats.upstreamError(reason);
    stats.shadow('error');
    logUpstreamError(this.settings.logger, this.shadow, reason, err);
  }
}

/** Sends the same request to a shadow and drops its answer; never touches the caller's response. */
function mirror(settings: ProxySettings, state: ShadowState, shadow: LiveVariant, headerLines: string, body: Buffer): void {
  if (state.inFlight >= settings.maxShadowInFlight) {
    shadow.stats.shadow('dropped');
    return;
  }
  state.inFlight += 1;
  const head = `${shadow.requestLine}${headerLines}content-length: ${body.length}\r\n\r\n`;
  const out = Buffer.allocUnsafe(head.length + body.length);
  body.copy(out, out.write(head, 0, 'latin1'));
  shadow.pool.open(new ShadowCall(settings, state, shadow)).send(out, true);
}

function joinChunks(chunks: readonly Buffer[], size: number): Buffer {
  return chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size);
}

function classify(err: UpstreamFailure): UpstreamErrorReason {
  switch (err.code) {
    case 'UPSTREAM_TIMEOUT':
    case 'UPSTREAM_CONNECT_TIMEOUT':
      return 'timeout';
    case 'ECONNREFUSED':
    case 'ENOTFOUND':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EAI_AGAIN':
      return 'unreachable';
    case 'ECONNRESET':
    case 'EPIPE':
    case 'UPSTREAM_CLOSED':
      return 'reset';
    default:
      return 'other';
  }
}

function describeFailure(reason: UpstreamErrorReason, err: UpstreamFailure, settings: ProxySettings, variant: LiveVariant): string {
  const where = variant.spec.upstream;
  switch (reason) {
    case 'timeout':
      return err.code === 'UPSTREAM_CONNECT_TIMEOUT'
        ? `${where} did not accept a connection in time (${err.message})`
        : `${where} did not answer within ${settings.upstreamTimeoutMs} ms (UPSTREAM_TIMEOUT_MS)`;
    case 'unreachable':
      return `${where} is not reachable (${err.code}): the model server is down or not deployed`;
    case 'reset':
      return `${where} closed the connection before answering`;
    default:
      return `${where} failed: ${err.message}`;
  }
}

function logUpstreamError(logger: Logger, variant: LiveVariant, reason: UpstreamErrorReason, err: UpstreamFailure): void {
  const now = Date.now();
  if (now - variant.lastErrorLoggedAt < LOG_EVERY_MS) return;
  variant.lastErrorLoggedAt = now;
  logger.warn({ ...variant.labels, upstream: variant.spec.upstream, reason, err: err.message },
    'upstream call failed (further failures of this variant are counted in metrics, logged at most every 10 s)');
}
