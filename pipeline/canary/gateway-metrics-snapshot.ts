/**
 * One model's request counts and latency histogram as the gateway's /metrics shows them at one
 * moment (`modelfleet_gateway_requests_total` by status code, `modelfleet_gateway_request_duration_seconds`),
 * summed over the series whose `deploy_name` is the model's. Two snapshots a window apart give
 * what happened in the window.
 */
export interface MetricsSnapshot {
  /** Requests by HTTP status code. */
  readonly codes: ReadonlyMap<number, number>;
  /** Cumulative count per bucket upper bound in seconds (`le`), +Inf included, ascending. */
  readonly buckets: ReadonlyMap<number, number>;
}

const REQUESTS = 'modelfleet_gateway_requests_total';
const BUCKET = 'modelfleet_gateway_request_duration_seconds_bucket';
/** `name{labels} value`, the exposition format's sample line (https://prometheus.io/docs/instrumenting/exposition_formats/#text-based-format). */
const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)\{(.*)\}\s+(\S+)(?:\s+\d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** The snapshot of `deployName` in a /metrics text; a model the gateway has not counted yet has empty maps. */
export function readSnapshot(text: string, deployName: string): MetricsSnapshot {
  const codes = new Map<number, number>();
  const buckets = new Map<number, number>();
  for (const line of text.split('\n')) {
    if (!line.startsWith(REQUESTS) && !line.startsWith(BUCKET)) continue;
    const sample = SAMPLE.exec(line.trim());
    if (!sample) continue;
    const [, name, labelText, valueText] = sample as unknown as [string, string, string, string];
    const labels = readLabels(labelText);
    const value = Number(valueText);
    if (labels.get('deploy_name') !== deployName || !Number.isFinite(value)) continue;
    if (name === REQUESTS) {
      const code = Number(labels.get('code'));
      if (Number.isInteger(code)) codes.set(code, (codes.get(code) ?? 0) + value);
    } else if (name === BUCKET) {
      const le = labels.get('le') === '+Inf' ? Number.POSITIVE_INFINITY : Number(labels.get('le'));
      if (!Number.isNaN(le)) buckets.set(le, (buckets.get(le) ?? 0) + value);
    }
  }
  return { codes, buckets: new Map([...buckets].sort((a, b) => a[0] - b[0])) };
}

function readLabels(text: string): Map<string, string> {
  const labels = new Map<string, string>();
  for (const match of text.matchAll(LABEL)) labels.set(match[1] as string, (match[2] as string).replace(/\\(.)/g, (_m, c: string) => (c === 'n' ? '\n' : c)));
  return labels;
}

/** What happened between two snapshots of one gateway (counters only grow while it runs). */
export function difference(before: MetricsSnapshot, after: MetricsSnapshot): MetricsSnapshot {
  const minus = (a: ReadonlyMap<number, number>, b: ReadonlyMap<number, number>) => new Map([...a].map(([k, v]) => [k, Math.max(0, v - (b.get(k) ?? 0))] as const));
  return { codes: minus(after.codes, before.codes), buckets: minus(after.buckets, before.buckets) };
}

/**
 * The q-quantile of a cumulative histogram in seconds, interpolated linearly within its bucket
 * as Prometheus' histogram_quantile does; the highest finite bound when it falls in +Inf;
 * undefined without observations.
 */
export function histogramQuantile(q: number, buckets: ReadonlyMap<number, number>): number | undefined {
  const entries = [...buckets].sort((a, b) => a[0] - b[0]);
  const total = entries.at(-1)?.[1] ?? 0;
  if (total <= 0) return undefined;
  const rank = q * total;
  let lowerBound = 0;
  let lowerCount = 0;
  for (const [bound, count] of entries) {
    if (count >= rank) {
      if (bound === Number.POSITIVE_INFINITY) return lowerBound;
      if (count === lowerCount) return bound;
      return lowerBound + ((bound - lowerBound) * (rank - lowerCount)) / (count - lowerCount);
    }
    lowerBound = bound;
    lowerCount = count;
  }
  return lowerBound;
}
