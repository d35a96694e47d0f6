import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import type { Logger } from '../../lib/log.js';
import type { LiveRoute, LiveTable, LiveVariant } from './compile-route-table.js';
import type { GatewayMetrics, UpstreamErrorReason } from './gateway-metrics.js';
import { pickBucket } from './pick-variant.js';
import { sendJson } from './send-json.js';

/** Response headers naming who answered. */
export const MODEL_HEADER = 'x-modelfleet-model';
export const VARIANT_HEADER = 'x-modelfleet-variant';
export const DEPLOY_NAME_HEADER = 'x-modelfleet-deploy-name';

export interface ProxySettings {
  readonly metrics: GatewayMetrics;
  readonly logger: Logger;
  readonly upstreamTimeoutMs: number;
  readonly maxBodyBytes: number;
  /** Largest model answer relayed; answers are buffered so each reaches the caller in one write. */
  readonly maxAnswerBytes: number;
  readonly maxShadowInFlight: number;
  readonly random: () => number;
}

/** Mutable count of mirrored requests in flight, shared by every route of one gateway. */
export interface ShadowState {
  inFlight: number;
}

// Hop-by-hop headers belong to one connection and are never forwarded
// (https://www.rfc-editor.org/rfc/rfc9110#section-7.6.1); content-length is recomputed.
const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade',
  'host', 'content-length', 'expect', 'http2-settings', 'proxy-authenticate', 'proxy-authorization',
]);

const LOG_EVERY_MS = 10_000;
/** Status recorded when the caller closed the connection before the answer was sent (nginx's convention). */
const CLIENT_CLOSED = 499;

/**
 * Forwards one scoring request: reads the body (bounded), picks the variant (sticky key or
 * weighted random), mirrors it to the route's shadows, and relays the upstream answer with headers
 * naming the model and variant. Any upstream failure becomes a JSON 503; nothing waits longer than
 * the upstream timeout.
 */
export function proxyRequest(
  settings: ProxySettings,
  shadowState: ShadowState,
  req: IncomingMessage,
  res: ServerResponse,
  route: LiveRoute,
  table: LiveTable,
): void {
  const started = performance.now();
  table.inFlight += 1;
  const chunks: Buffer[] = [];
  let size = 0;
  let refused = false;
  req.on('data', (chunk: Buffer) => {
    if (refused) return;
    size += chunk.length;
    if (size > settings.maxBodyBytes) {
      refused = true;
      chunks.length = 0;
      sendJson(res, 413, {
        error: 'request body too large',
        route: route.entry.route,
        model: route.entry.model,
        reason: `the body exceeds the gateway's limit of ${settings.maxBodyBytes} bytes (MAX_BODY_BYTES)`,
      }, { connection: 'close' });
      table.finish();
      return;
    }
    chunks.push(chunk);
  });
  req.on('error', () => {
    if (refused) return;
    refused = true;
    table.finish();
  });
  req.on('end', () => {
    if (refused) return;
    const body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size);
    const headers = forwardHeaders(req.rawHeaders);
    const key = headerValue(req.headers[route.entry.stickyHeader]);
    const variant = route.serving[route.owners[pickBucket(route.entry.model, key, settings.random)] ?? 0] as LiveVariant;
    variant.pool.dispatch(upstreamRequest(settings, variant, body, headers), new AnswerRelay(settings, res, route, variant, table, started));
    for (const shadow of route.shadows) mirror(settings, shadowState, shadow, body, headers);
  });
}

function upstreamRequest(settings: ProxySettings, variant: LiveVariant, body: Buffer, headers: string[]): Dispatcher.DispatchOptions {
  return {
    path: variant.path,
    method: 'POST',
    headers,
    body,
    headersTimeout: settings.upstreamTimeoutMs,
    bodyTimeout: settings.upstreamTimeoutMs,
  };
}

/**
 * Receives the model server's answer and relays it. The answer is collected and written with one
 * `res.end(...)`: headers and body then leave in a single socket write, where streaming costs a
 * write per chunk plus one for the end (socket writes dominate a proxy's CPU time).
 */
class AnswerRelay implements Dispatcher.DispatchHandler {
  #status = 0;
  #headers: IncomingHttpHeaders = {};
  #chunks: Buffer[] = [];
  #size = 0;
  #done = false;

  constructor(
    private readonly settings: ProxySettings,
    private readonly res: ServerResponse,
    private readonly route: LiveRoute,
    private readonly variant: LiveVariant,
    private readonly table: LiveTable,
    private readonly started: number,
  ) {}

  onRequestStart(): void {}

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void {
    this.#status = statusCode;
    this.#headers = headers;
    if (this.res.destroyed) controller.abort(new Error('the caller closed the connection'));
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.#size += chunk.length;
    if (this.#size > this.settings.maxAnswerBytes) {
      controller.abort(Object.assign(new Error(`the answer exceeds ${this.settings.maxAnswerBytes} bytes`), { code: 'ANSWER_TOO_LARGE' }));
      return;
    }
    this.#chunks.push(chunk);
  }

  onResponseEnd(): void {
    const body = this.#chunks.length === 1 ? (this.#chunks[0] as Buffer) : Buffer.concat(this.#chunks, this.#size);
    const out: OutgoingHttpHeaders = {};
    const upstream = this.#headers;
    for (const name in upstream) {
      if (!HOP_BY_HOP.has(name)) out[name] = upstream[name];
    }
    out['content-length'] = body.length;
    out[MODEL_HEADER] = this.route.entry.model;
    out[VARIANT_HEADER] = this.variant.spec.id;
    out[DEPLOY_NAME_HEADER] = this.variant.spec.deployName;
    if (this.res.destroyed) return this.#finish(CLIENT_CLOSED);
    this.res.writeHead(this.#status, out);
    this.res.end(body);
    if (this.#status >= 500) this.settings.metrics.upstreamErrors.inc({ ...this.variant.labels, reason: 'status_5xx' });
    this.#finish(this.#status);
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    if (this.res.destroyed) return this.#finish(CLIENT_CLOSED);
    const { settings, variant, route } = this;
    const reason = classify(err);
    settings.metrics.upstreamErrors.inc({ ...variant.labels, reason });
    if (reason === 'timeout') variant.timeouts.inc();
    logUpstreamError(settings.logger, variant, reason, err);
    sendJson(this.res, 503, {
      error: 'model unavailable',
      route: route.entry.route,
      model: route.entry.model,
      variant: variant.spec.id,
      deployName: variant.spec.deployName,
      reason: describeFailure(reason, err, settings, variant),
    }, {
      'retry-after': '1',
      [MODEL_HEADER]: route.entry.model,
      [VARIANT_HEADER]: variant.spec.id,
      [DEPLOY_NAME_HEADER]: variant.spec.deployName,
    });
    this.#finish(503);
  }

  #finish(code: number): void {
    if (this.#done) return;
    this.#done = true;
    this.table.finish();
    this.variant.stats.record(code, (performance.now() - this.started) / 1000);
  }
}

/** Reads and drops a shadow's answer, counting how it went. */
class ShadowSink implements Dispatcher.DispatchHandler {
  constructor(
    private readonly settings: ProxySettings,
    private readonly state: ShadowState,
    private readonly shadow: LiveVariant,
    private readonly started: number,
  ) {}

  #status = 0;

  onRequestStart(): void {}

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number): void {
    this.#status = statusCode;
  }

  onResponseData(): void {}

  onResponseEnd(): void {
    const { settings, shadow } = this;
    this.state.inFlight -= 1;
    shadow.stats.record(this.#status, (performance.now() - this.started) / 1000);
    if (this.#status >= 500) settings.metrics.upstreamErrors.inc({ ...shadow.labels, reason: 'status_5xx' });
    settings.metrics.shadowRequests.inc({ ...shadow.labels, outcome: this.#status < 500 ? 'ok' : 'error' });
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    const { settings, shadow } = this;
    this.state.inFlight -= 1;
    const reason = classify(err);
    settings.metrics.upstreamErrors.inc({ ...shadow.labels, reason });
    if (reason === 'timeout') shadow.timeouts.inc();
    settings.metrics.shadowRequests.inc({ ...shadow.labels, outcome: 'error' });
    logUpstreamError(settings.logger, shadow, reason, err);
  }
}

/** Sends the same request to a shadow and drops its answer; never touches the caller's response. */
function mirror(settings: ProxySettings, state: ShadowState, shadow: LiveVariant, body: Buffer, headers: string[]): void {
  if (state.inFlight >= settings.maxShadowInFlight) {
    settings.metrics.shadowRequests.inc({ ...shadow.labels, outcome: 'dropped' });
    return;
  }
  state.inFlight += 1;
  shadow.pool.dispatch(upstreamRequest(settings, shadow, body, headers), new ShadowSink(settings, state, shadow, performance.now()));
}

function forwardHeaders(raw: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] as string;
    if (!HOP_BY_HOP.has(name.toLowerCase())) out.push(name, raw[i + 1] as string);
  }
  return out;
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function classify(err: unknown): UpstreamErrorReason {
  const code = (err as { code?: unknown } | null)?.code;
  switch (code) {
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
    case 'UND_ERR_CONNECT_TIMEOUT':
      return 'timeout';
    case 'ECONNREFUSED':
    case 'ENOTFOUND':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EAI_AGAIN':
      return 'unreachable';
    case 'ECONNRESET':
    case 'EPIPE':
    case 'UND_ERR_SOCKET':
      return 'reset';
    default:
      return 'other';
  }
}

function describeFailure(reason: UpstreamErrorReason, err: unknown, settings: ProxySettings, variant: LiveVariant): string {
  const where = variant.spec.upstream;
  switch (reason) {
    case 'timeout':
      return `${where} did not answer within ${settings.upstreamTimeoutMs} ms (UPSTREAM_TIMEOUT_MS)`;
    case 'unreachable':
      return `${where} is not reachable (${String((err as { code?: unknown }).code)}): the model server is down or not deployed`;
    case 'reset':
      return `${where} closed the connection before answering`;
    default:
      return `${where} failed: ${err instanceof Error ? err.message : String(err)}`;
  }
}

function logUpstreamError(logger: Logger, variant: LiveVariant, reason: UpstreamErrorReason, err: unknown): void {
  const now = Date.now();
  if (now - variant.lastErrorLoggedAt < LOG_EVERY_MS) return;
  variant.lastErrorLoggedAt = now;
  logger.warn({ ...variant.labels, upstream: variant.spec.upstream, reason, err: err instanceof Error ? err.message : String(err) },
    'upstream call failed (further failures of this variant are counted in metrics, logged at most every 10 s)');
}
