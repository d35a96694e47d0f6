import autocannon from 'autocannon';
import { percentile } from '../sizing/sizing-policy.js';

/**
 * Real HTTP load with autocannon (https://github.com/mcollina/autocannon) against 127.0.0.1,
 * bounded by `durationSeconds`: it stops by itself. Every connection cycles through the
 * pre-generated bodies, so generating inputs costs nothing while measuring.
 */

export interface LoadOptions {
  /** Base URL, always `http://127.0.0.1:<port>`. */
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
  if (!/^http:\/\/127\.0\.0\.1:\d+$/.test(options.baseUrl)) {
    // Load tests only ever target this machine's loopback interface.
    throw new Error(`load tests target http://127.0.0.1:<port> only, got ${options.baseUrl}`);
  }
  if (options.bodies.length === 0) throw new RangeError('no request bodies to send');
  const startedAt = Date.now();
  const latencies: number[] = [];
  const perSecond = new Map<number, { latencies: number[]; errors: number }>();
  const statusCodes: Record<string, number> = {};
  const errorSamples: string[] = [];
  const bucket = (): { latencies: number[]; errors: number } => {
    // Answers that arrive after the last full second (in-flight at the stop) count into it.
    const second = Math.min(Math.floor((Date.now() - startedAt) / 1000) + 1, Math.max(1, Math.ceil(options.durationSeconds)));
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
  const ticker = setInterval(() => report(Math.floor((Date.now() - startedAt) / 1000)), 1000);

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
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number): number => round2(sorted[Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length))) - 1] as number);
  return {
    p50: at(50),
    p90: at(90),
    p99: at(99),
    max: round2(sorted[sorted.length - 1] as number),
    mean: round2(sorted.reduce((a, b) => a + b, 0) / sorted.length),
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
