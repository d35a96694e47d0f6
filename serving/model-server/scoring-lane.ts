import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * The two scoring routes straight on node:http, in front of fastify.
 *
 * Why: with bodies of 100 rows the lean reference (bench/serving/reference-server.ts) spends ~65 µs of
 * CPU per request, and fastify's generic request pipeline (request and reply objects, a child logger,
 * the hook runner, content-type parsing of the request and the reply, route lookup) adds 5–9 µs to that
 * on this machine (docs/serving.md#where-the-cpu-goes), most of the 10% the server may cost above the
 * reference. So a scoring request on a socket that fastify would only pass through takes this lane:
 * read the body, hand it to the same `answer` function the fastify routes call, write the answer.
 *
 * Only the plain case comes here: POST to exactly /invocations or /v2/models/{this model}/infer, a
 * JSON content type and a Content-Length within the body limit. Everything else (chunked bodies, CSV,
 * oversized or unusual requests, every other route) goes to fastify, which stays the one place for
 * errors, 404s, 413s and probes; `app.inject()` always goes through fastify, and a test checks that both
 * answer every request of the bad-request corpus alike.
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

const JSON_TYPE = 'application/json; charset=utf-8';
const INTERNAL = JSON.stringify({ error: 'internal', message: 'the server failed; see its logs' });

/** Returns a request listener that takes the plain scoring requests and returns false for the rest. */
export function createScoringLane(options: ScoringLaneOptions): (req: IncomingMessage, res: ServerResponse) => boolean {
  const v2Path = `/v2/models/${encodeURIComponent(options.modelName)}/infer`;
  const { maxBodyBytes } = options;
  // Headers as one flat [name, value, ...] list, copied per answer: building a fresh object with these
  // names per request sends V8 down its slow property-definition path (measured: ~15,000 instructions).
  const fixedHeaders = [...Object.entries(options.headers).flat(), 'content-type', JSON_TYPE];

  const send = (res: ServerResponse, answer: ScoringAnswer): void => {
    if (res.destroyed) return;
    const out = fixedHeaders.slice();
    out.push('content-length', String(Buffer.byteLength(answer.body)));
    if (answer.retryAfter) out.push('retry-after', '1');
    if (options.draining()) out.push('connection', 'close');
    res.writeHead(answer.status, out);
    res.end(answer.body);
  };

  return (req, res) => {
    if (req.method !== 'POST') return false;
    const route: ScoringRoute | undefined = req.url === '/invocations' ? 'invocations' : req.url === v2Path ? 'v2' : undefined;
    if (!route) return false;
    const contentType = req.headers['content-type'];
    const length = req.headers['content-length'];
    if (contentType === undefined || !isJson(contentType) || length === undefined || req.headers['transfer-encoding'] !== undefined) return false;
    const bytes = Number(length);
    if (!Number.isInteger(bytes) || bytes < 0 || bytes > maxBodyBytes) return false;

    const startedAt = performance.now();
    options.intakeStarted();
    let intakeOpen = true;
    const closeIntake = () => {
      if (!intakeOpen) return;
      intakeOpen = false;
      options.intakeDone();
    };
    // A client that goes away mid-body never sends 'end': its intake ends with the connection.
    res.on('close', closeIntake);
    req.on('error', closeIntake);
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = (chunks.length === 1 ? chunks[0] as Buffer : Buffer.concat(chunks)).toString('utf8');
      chunks.length = 0;
      closeIntake();
      let answer: ScoringAnswer | Promise<ScoringAnswer>;
      try {
        answer = options.answer(route, contentType, body, startedAt);
      } catch (err) {
        options.onFault(route, err);
        send(res, { status: 500, body: INTERNAL, retryAfter: false });
        return;
      }
      if (answer instanceof Promise) {
        answer.then((a) => send(res, a), (err: unknown) => {
          options.onFault(route, err);
          send(res, { status: 500, body: INTERNAL, retryAfter: false });
        });
      } else {
        send(res, answer);
      }
    });
    return true;
  };
}

/** application/json, with or without parameters (the validators read the media type the same way). */
function isJson(contentType: string): boolean {
  return contentType === 'application/json' || /^application\/json\s*(;|$)/i.test(contentType);
}
