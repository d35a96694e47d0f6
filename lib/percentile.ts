/**
 * Nearest-rank percentile (https://en.wikipedia.org/wiki/Percentile#The_nearest-rank_method):
 * always one of the values, never an interpolation, so a p99 latency is a latency that happened.
 */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) throw new RangeError('percentile of no values');
  if (!(p > 0 && p <= 100)) throw new RangeError(`percentile ${p} is outside (0, 100]`);
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] as number;
}
