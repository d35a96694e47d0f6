import autocannon from 'autocannon';
import { percentile } from '../../lib/percentile.js';
import { resolveContainerHosts } from '../instance-runtime/resolve-container-hosts.js';

/**
 * Real HTTP load with autocannon (https://github.com/mcollina/autocannon) against 127.0.0.1
 * (or the Docker-in-Docker host that runs the container under test), bounded by
 * `durationSeconds`: it stops by itself. Every connection cycles through the pre-generated
 * bodies, so generating inputs costs nothing while measuring.
 */

export interface LoadOptions {
  /** Base URL: `http://127.0.0.1:<port>`, or `http://<DinD host>:<port>` (resolveContainerHosts). */
  readonly baseUrl: string;
  readonly path: string;
  readonly bodies: readonly string[];
  readonly durationSeconds: number;
  readonly connections: number;
  /** Seconds before autocannon counts a request as timed out. */
  readonly timeoutSeconds?: number;
  /** Called about once a second with the second that just ended. */
  readonly onSecond?: (second: LoadSecond) => void;
}

/** What happened in one second of load. */
export interface LoadSecond {
  /** 1 for the first second. */
  readonly second: number;
  readonly requests: number;
  readonly errors: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

export interface LoadResult {
  readonly durationSeconds: number;
  readonly connections: number;
  readonly requests: number;
  readonly ok: number;
  readonly non2xx: number;
  /** Socket errors and timeouts. */
  readonly errors: number;
  /**
   * Requests sent that got neither an answer nor an error: the server closed the connection on
   * them (autocannon reconnects silently then). The few in flight when the load stops are not counted.
   */
  readonly unanswered: number;
  readonly timeouts: number;
  readonly requestsPerSecond: number;
  readonly latencyMs: { readonly p50: number; readonly p90: number; readonly p99: number; readonly max: number; readonly mean: number };
  /** Counts of non-2xx status codes, e.g. {"500": 3}. */
  readonly statusCodes: Readonly<Record<string, number>>;
  /** The first few socket errors, for the report. */
  readonly errorSamples: readonly string[];
  readonly timeline: readonly LoadSecond[];
}

const ERROR_SAMPLES_KEPT = 5;

export async function driveLoad(options: LoadOptions): Promise<LoadResult> {
  // Load goes only to this machine's loopback interface, or to the engine's host that runs the
  // container under test with Docker-in-Docker: never anywhere a typo in a URL could point.
  const allowed = new Set(['127.0.0.1', resolveContainerHosts(process.env).connectHost]);
  const target = /^http:\/\/(.+):(\d+)$/.exec(options.baseUrl);
  if (!target || !allowed.has(target[1] ?? '')) {
    throw new Error(`load tests target http://${[...allowed].join(' or http://')}:<port> only, got ${options.baseUrl}`);
  }
  if (options.bodies.length === 0) throw new RangeError('no request bodies to send');
  const startedAt = Date.now();
  // Never past the last second of the load: answers that come later count into that second, and a
  // run that overruns on a busy machine must not print seconds that hold nothing.
  const lastSecond = Math.max(1, Math.ceil(options.durationSeconds));
  const latencies: number[] = [];
  const perSecond = new Map<number, { latencies: number[]; errors: number }>();
  const statusCodes: Record<string, number> = {};
  const errorSamples: string[] = [];
  const bucket = (): { latencies: number[]; errors: number } => {
    // Answers that arrive after the last full second (in-flight at the stop) count into it.
    const second = Math.min(Math.floor((Date.now() - startedAt) / 1000) + 1, lastSecond);
    let entry = perSecond.get(second);
    if (!entry) perSecond.set(second, (entry = { latencies: [], errors: 0 }));
    return entry;
  };

  let finish: (result: autocannon.Result) => void = () => undefined;
  let fail: (err: unknown) => void = () => undefined;
  const finished = new Promise<autocannon.Result>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  // The callback form returns the running instance (its events feed the per-second timeline).
  const instance = autocannon({
    url: options.baseUrl,
    connections: options.connections,
    duration: options.durationSeconds,
    timeout: options.timeoutSeconds ?? 10,
    requests: options.bodies.map((body) => ({
      method: 'POST' as const,
      path: options.path,
      headers: { 'content-type': 'application/json' },
      body,
    })),
  }, (err: Error | null, result: autocannon.Result) => (err ? fail(err) : finish(result)));

  instance.on('response', (_client, statusCode, _bytes, responseTime) => {
    const entry = bucket();
    latencies.push(responseTime);
    entry.latencies.push(responseTime);
    if (statusCode < 200 || statusCode > 299) {
      entry.errors++;
      statusCodes[String(statusCode)] = (statusCodes[String(statusCode)] ?? 0) + 1;
    }
  });
  instance.on('reqError', (err: unknown) => {
    bucket().errors++;
    if (errorSamples.length < ERROR_SAMPLES_KEPT) errorSamples.push(describeError(err));
  });

  let reported = 0;
  const report = (upTo: number): void => {
    for (let second = reported + 1; second <= upTo; second++) {
      options.onSecond?.(summarizeSecond(second, perSecond.get(second)));
      reported = second;
    }
  };
  const ticker = setInterval(() => report(Math.min(lastSecond, Math.floor((Date.now() - startedAt) / 1000))), 1000);

  const result = await finished.finally(() => clearInterval(ticker));

  const seconds = Math.max(...perSecond.keys(), 0);
  report(seconds);
  const timeline = [...Array(seconds).keys()].map((i) => summarizeSecond(i + 1, perSecond.get(i + 1)));
  const non2xx = Object.values(statusCodes).reduce((a, b) => a + b, 0);
  const unanswered = Math.max(0, result.requests.sent - latencies.length - result.errors - options.connections);
  return {
    durationSeconds: result.duration,
    connections: options.connections,
    requests: latencies.length + result.errors + unanswered,
    ok: latencies.length - non2xx,
    non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    unanswered,
    requestsPerSecond: result.duration > 0 ? Math.round((latencies.length / result.duration) * 10) / 10 : 0,
    latencyMs: summarizeLatency(latencies),
    statusCodes,
    errorSamples,
    timeline,
  };
}

function summarizeSecond(second: number, entry: { latencies: number[]; errors: number } | undefined): LoadSecond {
  const values = entry?.latencies ?? [];
  return {
    second,
    requests: values.length,
    errors: entry?.errors ?? 0,
    p50Ms: values.length > 0 ? round2(percentile(values, 50)) : 0,
    p99Ms: values.length > 0 ? round2(percentile(values, 99)) : 0,
  };
}

function summarizeLatency(values: readonly number[]): LoadResult['latencyMs'] {
  if (values.length === 0) return { p50: 0, p90: 0, p99: 0, max: 0, mean: 0 };
  return {
    p50: round2(percentile(values, 50)),
    p90: round2(percentile(values, 90)),
    p99: round2(percentile(values, 99)),
    max: round2(values.reduce((a, b) => Math.max(a, b), -Infinity)),
    mean: round2(values.reduce((a, b) => a + b, 0) / values.length),
  };
}

function describeError(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    return code ? `${code}: ${err.message}` : err.message;
  }
  return String(err);
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}
