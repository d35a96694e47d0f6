import { httpDate, type BodySink, type Exchange } from '../../lib/http1/front-server.js';

/**
 * The two scoring routes straight on the HTTP/1.1 front (lib/http1/front-server.ts), beside fastify.
 *
 * Why: with bodies of 100 rows the lean reference (bench/serving/reference-server.ts) spends ~85 µs of
 * CPU per request, and node:http's own per-request work (IncomingMessage/ServerResponse streams, their
 * `process.nextTick` callbacks, header validation) plus fastify's request pipeline made up most of the
 * 10% the server may cost above it (docs/serving.md#where-the-cpu-goes). So a plain scoring request is
 * read here: the body's bytes are collected as the parser hands them over, given to the same `answer`
 * function the fastify routes call, and the answer leaves in one write.
 *
 * Only the plain case comes here: POST to exactly /invocations or /v2/models/{this model}/infer, a
 * JSON content type and a Content-Length within the body limit. Everything else (chunked bodies, CSV,
 * oversized or unusual requests, every other route) goes to fastify (fastify-lane.ts), which stays the
 * one place for errors, 404s, 413s and probes; `app.inject()` always goes through fastify, and a test
 * checks that both answer every request of the bad-request corpus alike.
 */

export type ScoringRoute = 'invocations' | 'v2';

/** A scoring route's answer: status, JSON text, and whether to send `Retry-After: 1` (503 before warm-up). */
export interface ScoringAnswer {
  readonly status: number;
  readonly body: string;
  readonly retryAfter: boolean;
}

/** Validates and scores one body: synchronous when refused, a promise when queued for inference. */
export type AnswerScoring = (route: ScoringRoute, contentType: string | undefined, body: string, startedAt: number) => ScoringAnswer | Promise<ScoringAnswer>;

export interface ScoringLaneOptions {
  readonly modelName: string;
  readonly maxBodyBytes: number;
  /** Sent with every answer (x-model-name, x-model-version, x-model-digest, server). */
  readonly headers: Readonly<Record<string, string>>;
  /** True while draining: answers carry `Connection: close`. */
  readonly draining: () => boolean;
  /** Headers read / body validated or given up: the batcher may hold a batch for requests in between. */
  readonly intakeStarted: () => void;
  readonly intakeDone: () => void;
  readonly answer: AnswerScoring;
  /** A fault of the server while answering (a bug): logged and counted by the caller, answered 500 here. */
  readonly onFault: (route: ScoringRoute, err: unknown) => void;
}

export const JSON_TYPE = 'application/json; charset=utf-8';
/** The body of every 500 the model server answers for a fault of its own, on either lane. */
export const INTERNAL = JSON.stringify({ error: 'internal', message: 'the server failed; see its logs' });
const INTERNAL_ANSWER: ScoringAnswer = { status: 500, body: INTERNAL, retryAfter: false };

/** Shared by every request of one server: what a scoring request needs besides its own state. */
class LaneContext {
  /** `name: value\r\n` lines sent with every scoring answer, after the Date header. */
  readonly headerLines: string;

  constructor(readonly options: ScoringLaneOptions) {
    let lines = '';
    for (const [name, value] of Object.entries(options.headers)) lines += `${name}: ${value}\r\n`;
    this.headerLines = `${lines}content-type: ${JSON_TYPE}\r\n`;
  }

  send(exchange: Exchange, answer: ScoringAnswer): void {
    const lines = `date: ${httpDate()}\r\n${this.headerLines}${answer.retryAfter ? 'retry-after: 1\r\n' : ''}`;
    exchange.respond(answer.status, lines, answer.body, this.options.draining());
  }
}

/** One scoring request whose body is arriving: one object with a fixed shape per request. */
class ScoringIntake implements BodySink {
  #first: Buffer | undefined = undefined;
  #chunks: Buffer[] | undefined = undefined;
  #open = true;

  constructor(
    private readonly lane: LaneContext,
    private readonly exchange: Exchange,
    private readonly route: ScoringRoute,
    private readonly contentType: string,
    private readonly startedAt: number,
  ) {}

  onBody(chunk: Buffer): void {
    // Each chunk is the parser's own copy of what it read (Node's binding copies body bytes out of its read buffer).
    if (this.#first === undefined) this.#first = chunk;
    else (this.#chunks ??= [this.#first]).push(chunk);
  }

  onFlush(): void {}

  onAbort(): void {
    this.#first = undefined;
    this.#chunks = undefined;
    this.#closeIntake();
  }

  onEnd(): void {
    const bytes = this.#chunks !== undefined ? Buffer.concat(this.#chunks) : this.#first;
    this.#first = undefined;
    this.#chunks = undefined;
    const body = bytes === undefined ? '' : bytes.toString('utf8');
    this.#closeIntake();
    const { lane, exchange, route } = this;
    let answer: ScoringAnswer | Promise<ScoringAnswer>;
    try {
      answer = lane.options.answer(route, this.contentType, body, this.startedAt);
    } catch (err) {
      lane.options.onFault(route, err);
      lane.send(exchange, INTERNAL_ANSWER);
      return;
    }
    if (answer instanceof Promise) {
      answer.then((a) => lane.send(exchange, a), (err: unknown) => {
        lane.options.onFault(route, err);
        lane.send(exchange, INTERNAL_ANSWER);
      });
    } else {
      lane.send(exchange, answer);
    }
  }

  #closeIntake(): void {
    if (!this.#open) return;
    this.#open = false;
    this.lane.options.intakeDone();
  }
}

/** Returns a request handler that takes the plain scoring requests and returns false for the rest. */
export function createScoringLane(options: ScoringLaneOptions): (exchange: Exchange) => boolean {
  const v2Path = `/v2/models/${encodeURIComponent(options.modelName)}/infer`;
  const { maxBodyBytes } = options;
  const lane = new LaneContext(options);

  return (exchange) => {
    if (exchange.method !== 'POST') return false;
    const url = exchange.url;
    const route: ScoringRoute | undefined = url === '/invocations' ? 'invocations' : url === v2Path ? 'v2' : undefined;
    if (route === undefined) return false;
    // contentLength is -1 for a chunked body and 0 without Content-Length (no body): both go to fastify.
    const bytes = exchange.contentLength;
    if (!(bytes > 0) || bytes > maxBodyBytes || !Number.isInteger(bytes)) return false;
    const contentType = exchange.header('content-type');
    if (contentType === undefined || !isJson(contentType)) return false;
    options.intakeStarted();
    exchange.sink = new ScoringIntake(lane, exchange, route, contentType, performance.now());
    return true;
  };
}

/** application/json, with or without parameters (the validators read the media type the same way). */
function isJson(contentType: string): boolean {
  return contentType === 'application/json' || /^application\/json\s*(;|$)/i.test(contentType);
}
