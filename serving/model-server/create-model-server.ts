import type { AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import Fastify, { LogController, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { FrontServer, httpDate, type Exchange } from '../../lib/http1/front-server.js';
import type { Logger } from '../../lib/log.js';
import type { MlflowModel } from '../mlflow/read-mlflow-model.js';
import { AdaptiveBatcher } from './adaptive-batcher.js';
import { createFastifyLane } from './fastify-lane.js';
import { predictionsJson, v2Datatype, v2ResponseJson } from './format-output.js';
import type { ModelRuntime } from './onnx-runtime.js';
import { allocateColumn, type RowBatch } from './row-batch.js';
import type { ServerConfig } from './server-config.js';
import { createScoringLane, INTERNAL, type AnswerScoring, type ScoringAnswer, type ScoringRoute } from './scoring-lane.js';
import { createServerMetrics, type ServerMetrics } from './server-metrics.js';
import { failure, RequestValidator, type ProblemReason, type RequestFailure, type ValidationResult } from './validate-request.js';

export interface ModelServerOptions {
  readonly model: MlflowModel;
  readonly config: Pick<ServerConfig, 'modelName' | 'modelVersion' | 'batching' | 'maxRowsPerRequest' | 'maxBodyBytes'>;
  readonly logger?: Logger;
}

export interface ModelServer {
  /** Every route; `app.inject()` answers in-process. On a socket, requests arrive through `listen()`. */
  readonly app: FastifyInstance;
  readonly metrics: ServerMetrics;
  readonly modelName: string;
  readonly modelVersion: string;
  /** True once a runtime is attached and answered the warm-up call, false again while shutting down. */
  readonly ready: boolean;
  /** Attaches the loaded model, runs one warm-up inference, then marks the server ready. */
  warmUp(runtime: ModelRuntime): Promise<void>;
  /**
   * Serves on a socket (HTTP/1.1): plain scoring requests take the scoring lane, every other request is
   * answered by fastify. Resolves with the URL, as fastify's `listen` gives it (the real port when 0 was asked for).
   */
  listen(options: { port: number; host: string }): Promise<string>;
  /**
   * First step of a graceful shutdown: /readyz and /v2/health/ready turn 503 and every response asks the
   * client to close its connection, so keep-alive clients move away before the listener closes.
   */
  beginDrain(): void;
  /** Marks the server not ready, stops accepting, finishes in-flight requests, closes the runtime. */
  close(): Promise<void>;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** performance.now() when the headers of a POST arrived (request latency metric). */
    scoringStartedAt: number;
    /** Headers read, body not yet validated: the batcher may hold a batch a loop turn for it. */
    inIntake: boolean;
  }
}

const SERVER_NAME = 'modelfleet-model-server';
const SCORING_METHODS_NOT_ALLOWED = ['GET', 'PUT', 'DELETE', 'PATCH'] as const;

/**
 * The HTTP face of one model: MLflow scoring (/invocations, /ping, /health, /version), Open Inference
 * Protocol v2 (/v2/...), Kubernetes probes (/healthz, /readyz) and Prometheus (/metrics). Testable
 * in-process with `app.inject()`; `listen()` serves it on a socket; `startModelServer` adds the model
 * loading and signals.
 */
export function createModelServer(options: ModelServerOptions): ModelServer {
  const { model, config } = options;
  const modelName = config.modelName;
  const modelVersion = config.modelVersion ?? model.artifactDigest.replace(/^sha256:/, '').slice(0, 12);
  const metrics = createServerMetrics({ model: modelName, version: modelVersion });
  const limits = { maxRows: config.maxRowsPerRequest };
  // Replaced at warm-up by one that writes clean requests straight into the loaded graph's feeds.
  let validator = new RequestValidator(model.signature, limits);
  let runtime: ModelRuntime | undefined;
  /** Reported by the readiness endpoints: warmed up and not draining. */
  let ready = false;
  /** Scoring works from the warm-up on, including while draining (requests already routed here still count). */
  let warmedUp = false;
  let draining = false;

  const batcher = new AdaptiveBatcher(
    (parts) => {
      if (!runtime) return Promise.reject(new Error('no model runtime attached'));
      return runtime.run(parts);
    },
    config.batching,
    (report) => {
      metrics.batchRows.observe(report.rows);
      metrics.batchRequests.observe(report.requests);
      metrics.inference.observe(report.inferenceMs / 1000);
      metrics.queueWait.observe(report.waitMs / 1000);
    },
  );

  const identity = {
    'x-model-name': modelName,
    'x-model-version': modelVersion,
    'x-model-digest': model.artifactDigest,
    server: SERVER_NAME,
  };
  const routeMetrics = {
    invocations: { label: 'invocations' as const, latency: metrics.latency.labels('invocations') },
    v2: { label: 'v2_infer' as const, latency: metrics.latency.labels('v2_infer') },
  };
  const simpleFailure = (status: number, reason: ProblemReason, message: string): RequestFailure =>
    failure(status, [{ reason, message }]);
  const failureAnswer = (f: RequestFailure, route: string, retryAfter = false): ScoringAnswer => {
    metrics.requests.labels(route, String(f.status)).inc();
    metrics.errors.labels(f.error).inc();
    return { status: f.status, body: JSON.stringify(f), retryAfter };
  };

  /** `POST /v2/models/{name}/infer` bodies: JSON only; the request's `id` is echoed in the answer. */
  const validateV2 = (contentType: string | undefined, raw: string, keepId: (id: unknown) => void): ValidationResult => {
    if (contentType !== undefined && contentType !== 'application/json' && !/^application\/json\b/i.test(contentType)) {
      return { ok: false, failure: simpleFailure(415, 'unsupported_media_type', `Content-Type ${JSON.stringify(contentType)}; send application/json`) };
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      return validator.validateV2(raw);
    }
    if (parsed !== null && typeof parsed === 'object' && 'id' in parsed) keepId((parsed as { id: unknown }).id);
    return validator.validateV2(parsed);
  };

  /**
   * Both scoring routes, whichever way the request came in (fastify route or the scoring lane): validate,
   * queue for inference, render. Refusals answer synchronously; accepted rows answer once scored.
   */
  const answerScoring: AnswerScoring = (route, contentType, body, startedAt) => {
    const m = routeMetrics[route];
    if (!warmedUp) return failureAnswer(simpleFailure(503, 'not_ready', 'the model is still loading; retry shortly (GET /readyz answers 200 once ready)'), m.label, true);
    let id: unknown;
    const result = route === 'invocations' ? validator.validateScoring(contentType, body) : validateV2(contentType, body, (value) => { id = value; });
    if (!result.ok) return failureAnswer(result.failure, m.label);
    return batcher.submit(result.batch).then((slice): ScoringAnswer => {
      const text = route === 'invocations' ? predictionsJson(slice) : v2ResponseJson(slice, { modelName, modelVersion, id: typeof id === 'string' ? id : undefined });
      metrics.scored[m.label]++;
      metrics.scoredRows.count += slice.rows;
      if (startedAt > 0) m.latency.observe((performance.now() - startedAt) / 1000);
      return { status: 200, body: text, retryAfter: false };
    }, (err: unknown): ScoringAnswer => {
      log.error({ err }, 'inference failed');
      metrics.requests.labels(m.label, '500').inc();
      metrics.errors.labels('inference_failed').inc();
      return { status: 500, body: JSON.stringify({ error: 'inference_failed', message: `the model failed on valid input: ${(err as Error).message}` }), retryAfter: false };
    });
  };

  const lane = createScoringLane({
    modelName,
    maxBodyBytes: config.maxBodyBytes,
    headers: identity,
    draining: () => draining,
    intakeStarted: () => batcher.intakeStarted(),
    intakeDone: () => batcher.intakeDone(),
    answer: answerScoring,
    onFault: (route, err) => {
      log.error({ err }, 'request failed');
      metrics.requests.labels(routeMetrics[route].label, '500').inc();
      metrics.errors.labels('internal').inc();
    },
  });

  const app: FastifyInstance = Fastify({
    bodyLimit: config.maxBodyBytes,
    // A request that reached an open connection is served even while closing: the drain (beginDrain) has
    // already told clients to reconnect elsewhere, so a 503 here would only turn an accepted request away.
    return503OnClosing: false,
    // Per-request logs would cost more than scoring a row; errors are logged where they happen.
    logController: new LogController({ disableRequestLogging: true }),
    ...(options.logger ? { loggerInstance: options.logger } : { logger: false }),
  }) as unknown as FastifyInstance;
  const log = app.log;

  // On a socket: plain scoring requests take the scoring lane, fastify answers the rest (fastify-lane.ts).
  const toFastify = createFastifyLane({
    app,
    maxBodyBytes: config.maxBodyBytes,
    draining: () => draining,
    intakeStarted: () => batcher.intakeStarted(),
    intakeDone: () => batcher.intakeDone(),
    onFault: (err) => {
      log.error({ err }, 'request failed');
      metrics.errors.labels('internal').inc();
    },
  });
  const onRequest = (exchange: Exchange): void => {
    const expect = exchange.versionMinor === 1 ? exchange.header('expect') : undefined;
    if (expect !== undefined) {
      // As node:http: `100-continue` gets its interim answer at once, any other expectation a 417.
      if (!/^100-continue$/i.test(expect.trim())) {
        exchange.respond(417, `date: ${httpDate()}\r\n`, undefined, draining);
        return;
      }
      exchange.continue();
    }
    if (!lane(exchange)) toFastify(exchange);
  };
  let front: FrontServer | undefined;

  // Per-request bookkeeping as request decorations (fixed object shape, cheaper than a WeakMap lookup).
  app.decorateRequest('scoringStartedAt', 0);
  app.decorateRequest('inIntake', false);

  app.addHook('onRequest', (request, reply, done) => {
    reply.headers(identity);
    if (draining) reply.header('connection', 'close');
    if (request.method === 'POST') {
      request.scoringStartedAt = performance.now();
      request.inIntake = true;
      batcher.intakeStarted();
    }
    done();
  });
  app.addHook('onRequestAbort', (request, done) => {
    endIntake(request);
    done();
  });

  const endIntake = (request: FastifyRequest): void => {
    if (!request.inIntake) return;
    request.inIntake = false;
    batcher.intakeDone();
  };

  // Bodies arrive as text whatever their content type: the validator decides (415 for unknown types),
  // so that every refusal carries the same JSON problem list.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => done(null, body));

  const sendAnswer = (reply: FastifyReply, answer: ScoringAnswer): FastifyReply => {
    if (answer.retryAfter) reply.header('retry-after', '1');
    return reply.code(answer.status).type('application/json').send(answer.body);
  };
  const sendFailure = (reply: FastifyReply, f: RequestFailure, route: string): FastifyReply => sendAnswer(reply, failureAnswer(f, route));

  const scoreRoute = (request: FastifyRequest, reply: FastifyReply, route: ScoringRoute): FastifyReply | Promise<FastifyReply> => {
    endIntake(request);
    const body = typeof request.body === 'string' ? request.body : '';
    // The rows will live in typed arrays; let the body text go before the request waits for its batch.
    request.body = undefined;
    const answer = answerScoring(route, request.headers['content-type'], body, request.scoringStartedAt);
    return answer instanceof Promise ? answer.then((a) => sendAnswer(reply, a)) : sendAnswer(reply, answer);
  };

  app.post('/invocations', (request, reply) => scoreRoute(request, reply, 'invocations'));

  for (const method of SCORING_METHODS_NOT_ALLOWED) {
    app.route({
      method, url: '/invocations',
      handler: (_request, reply) => sendFailure(reply.header('allow', 'POST'), simpleFailure(405, 'method_not_allowed', `${method} /invocations is not allowed; POST a scoring request`), 'invocations'),
    });
  }

  const unknownModel = (name: string) => simpleFailure(404, 'unknown_model', `no model named ${JSON.stringify(name)} here; this server serves ${JSON.stringify(modelName)}`);

  app.post<{ Params: { name: string } }>('/v2/models/:name/infer', (request, reply) => {
    if (request.params.name !== modelName) {
      endIntake(request);
      return sendFailure(reply, unknownModel(request.params.name), 'v2_infer');
    }
    return scoreRoute(request, reply, 'v2');
  });

  const v2Metadata = () => ({
    name: modelName,
    versions: [modelVersion],
    platform: 'onnxruntime_onnx',
    inputs: model.signature.inputs.kind === 'columns'
      ? model.signature.inputs.specs.map((c) => ({ name: c.name ?? '', datatype: columnDatatype(c.type), shape: [-1] }))
      : model.signature.inputs.specs.map((t) => ({ name: t.name ?? runtime?.inputs[0]?.name ?? 'input', datatype: v2Datatype(dtypeToOrt(t.dtype)), shape: [...t.shape] })),
    outputs: (runtime?.outputs ?? []).map((o) => ({ name: o.name, datatype: v2Datatype(o.type), shape: o.shape.map((d) => (typeof d === 'number' ? d : -1)) })),
  });

  app.get<{ Params: { name: string } }>('/v2/models/:name', (request, reply) =>
    request.params.name === modelName ? reply.send(v2Metadata()) : sendFailure(reply, unknownModel(request.params.name), 'v2_metadata'));
  app.get<{ Params: { name: string } }>('/v2/models/:name/ready', (request, reply) => {
    if (request.params.name !== modelName) return sendFailure(reply, unknownModel(request.params.name), 'v2_ready');
    return reply.code(ready ? 200 : 503).send({ name: modelName, ready });
  });
  app.get('/v2', (_request, reply) => reply.send({ name: SERVER_NAME, version: '1', extensions: [] }));
  app.get('/v2/health/live', (_request, reply) => reply.send({ live: true }));
  app.get('/v2/health/ready', (_request, reply) => reply.code(ready ? 200 : 503).send({ ready }));

  // MLflow's scoring server answers /ping and /health with 200 once the model is loaded.
  const ping = (_request: FastifyRequest, reply: FastifyReply) => reply.code(ready ? 200 : 503).type('text/plain').send('\n');
  app.get('/ping', ping);
  app.get('/health', ping);
  app.get('/version', (_request, reply) => reply.send({
    model: modelName, version: modelVersion, digest: model.artifactDigest,
    mlflowVersion: model.mlflowVersion ?? null, runId: model.runId ?? null, server: SERVER_NAME,
  }));
  app.get('/healthz', (_request, reply) => reply.send({ status: 'ok' }));
  app.get('/readyz', (_request, reply) => reply.code(ready ? 200 : 503).send({ ready, model: modelName, version: modelVersion }));
  app.get('/metrics', async (_request, reply) => {
    const text = await metrics.registry.metrics();
    return reply.type(metrics.registry.contentType).send(text);
  });

  app.setNotFoundHandler((request, reply) => {
    endIntake(request);
    return sendFailure(reply, simpleFailure(404, 'not_found', `no route ${request.method} ${request.url.split('?')[0]}; see /v2/models/${modelName} or POST /invocations`), 'unknown');
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    endIntake(request);
    const status = error.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      const reason: ProblemReason = error.code === 'FST_ERR_CTP_BODY_TOO_LARGE' ? 'body_too_large'
        : error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' ? 'unsupported_media_type'
          : /JSON/i.test(error.message) ? 'malformed_json' : 'bad_structure';
      const message = reason === 'body_too_large'
        ? `the body is larger than ${config.maxBodyBytes} bytes (MAX_BODY_BYTES); send fewer rows per request`
        : error.message;
      return sendFailure(reply, simpleFailure(status, reason, message), routeOf(request.url));
    }
    request.log.error({ err: error }, 'request failed');
    metrics.requests.labels(routeOf(request.url), '500').inc();
    metrics.errors.labels('internal').inc();
    return reply.code(500).type('application/json').send(INTERNAL);
  });

  return {
    app,
    metrics,
    modelName,
    modelVersion,
    get ready() {
      return ready;
    },
    async listen({ port, host }) {
      if (front) throw new Error('the model server is already listening');
      // node:http's limits as fastify configured them: idle keep-alive 72 s, headers within 60 s, no
      // limit on the whole request (fastify's requestTimeout 0), heads up to 16 KiB.
      front = new FrontServer({ onRequest, keepAliveTimeoutMs: 72_000, headersTimeoutMs: 60_000, requestTimeoutMs: Number.POSITIVE_INFINITY, maxHeaderSize: 16 * 1024 });
      const address = await front.listen(port, host);
      return listenUrl(address);
    },
    async warmUp(loaded) {
      runtime = loaded;
      if (loaded.layout) validator = new RequestValidator(model.signature, limits, { layout: loaded.layout });
      const started = performance.now();
      const outputs = await loaded.run([warmUpBatch(validator, model)]);
      batcher.latency.record(1, performance.now() - started);
      if (outputs.length === 0) throw new Error('the warm-up inference returned no outputs');
      warmedUp = true;
      ready = !draining;
      metrics.ready.set(1);
    },
    beginDrain() {
      draining = true;
      ready = false;
      metrics.ready.set(0);
    },
    async close() {
      draining = true;
      ready = false;
      metrics.ready.set(0);
      // Stop accepting; connections finish what they were asked (answers now carry `connection: close`);
      // a connection that looks idle may still deliver a request already sent for a second.
      await front?.close(Number.POSITIVE_INFINITY, IDLE_CONNECTION_GRACE_MS);
      await app.close();
      await batcher.drain();
      await runtime?.close();
      runtime = undefined;
    },
  };
}

/** Longest the close waits for connections that are open but send nothing (idle keep-alive). */
const IDLE_CONNECTION_GRACE_MS = 1_000;

/** The URL fastify's `listen` resolves with for an address (for 0.0.0.0: the first IPv4 interface, loopback first). */
function listenUrl(address: AddressInfo): string {
  if (address.address.includes(':')) return `http://[${address.address}]:${address.port}`;
  if (address.address !== '0.0.0.0') return `http://${address.address}:${address.port}`;
  const ipv4 = Object.values(networkInterfaces()).flatMap((list) => (list ?? []).filter((i) => i.family === 'IPv4'));
  const first = ipv4.find((i) => i.internal) ?? ipv4[0];
  return `http://${first?.address ?? '127.0.0.1'}:${address.port}`;
}

/** The input example when it is valid, else one row of zeros / empty strings / false. */
export function warmUpBatch(validator: RequestValidator, model: MlflowModel): RowBatch {
  const example = model.inputExample;
  if (example) {
    const result = model.signature.inputs.kind === 'columns'
      ? validator.validateScoringJson({ dataframe_split: { columns: example.columns, data: example.data.slice(0, 1) } })
      : validator.validateScoringJson({ inputs: example.data.slice(0, 1).map((row) => (row.length === 1 ? row[0] : row)) });
    if (result.ok) return result.batch;
  }
  const inputs = model.signature.inputs.kind === 'columns'
    ? model.signature.inputs.specs.map((c) => {
      const kind = c.type === 'boolean' ? 'boolean' as const : ['string', 'binary'].includes(c.type) ? 'string' as const : c.type === 'datetime' ? 'string' as const : 'number' as const;
      const values = allocateColumn(kind, 1);
      if (c.type === 'datetime' && values.kind === 'string') values.data[0] = new Date(0).toISOString();
      return { name: c.name ?? '', width: 1, rowShape: [], values };
    })
    : model.signature.inputs.specs.map((t) => {
      const rowShape = t.shape.slice(1).map((d) => Math.max(d, 1));
      const width = rowShape.reduce((a, b) => a * b, 1);
      const kind = t.dtype === 'bool' ? 'boolean' as const : t.dtype === 'str' || t.dtype === 'object' ? 'string' as const : 'number' as const;
      return { name: t.name ?? '', width, rowShape, values: allocateColumn(kind, width) };
    });
  return { rows: 1, inputs };
}

function routeOf(url: string): string {
  if (url.startsWith('/invocations')) return 'invocations';
  if (/^\/v2\/models\/[^/]+\/infer/.test(url)) return 'v2_infer';
  return 'other';
}

function columnDatatype(type: string): string {
  switch (type) {
    case 'double': return 'FP64';
    case 'float': return 'FP32';
    case 'long': return 'INT64';
    case 'integer': return 'INT32';
    case 'boolean': return 'BOOL';
    default: return 'BYTES';
  }
}

function dtypeToOrt(dtype: string): string {
  return dtype === 'bool' ? 'bool' : dtype === 'str' || dtype === 'object' ? 'string' : dtype;
}
