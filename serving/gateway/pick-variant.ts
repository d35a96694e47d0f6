/**
 * Sticky A/B assignment, bit for bit the same as nginx's `split_clients` (so the gateway and the
 * nginx config of `modelfleet gateway nginx-config` send every caller to the same variant):
 *
 * - the caller's hash is MurmurHash2 (32-bit, seed 0, as nginx's `ngx_murmur_hash2`) of the bytes
 *   of `<model>:<sticky key>`. The model name is part of it, so a caller's variant on one model says
 *   nothing about their variant on another;
 * - variant i owns the hashes below its cumulative threshold, computed as nginx computes it from
 *   the percentages (`last += percent * 100 * 0xffffffff / 10000`, truncated), and the last
 *   variant with weight takes the rest (nginx's `*`).
 *
 * https://nginx.org/en/docs/http/ngx_http_split_clients_module.html; the arithmetic is that of
 * src/http/modules/ngx_http_split_clients_module.c and src/core/ngx_murmurhash.c.
 */

const M = 0x5bd1e995;

/**
 * MurmurHash2 of `<model>:<key>`. `key` is a header value as Node's parser gives it (latin1: one
 * character per byte received), so each character code is the byte nginx hashes. Characters
 * above 0xff (only possible from code, never from a header) are reduced to their low byte.
 */
export function stickyHash(model: string, key: string): number {
  return murmurHash2(`${model}:${key}`);
}

/** MurmurHash2, 32-bit, seed 0, over the latin1 bytes of `text` (nginx's ngx_murmur_hash2). */
export function murmurHash2(text: string): number {
  const length = text.length;
  let h = length | 0;
  let i = 0;
  for (; i + 4 <= length; i += 4) {
    let k = (text.charCodeAt(i) & 0xff) | ((text.charCodeAt(i + 1) & 0xff) << 8) | ((text.charCodeAt(i + 2) & 0xff) << 16) | ((text.charCodeAt(i + 3) & 0xff) << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  const rest = length - i;
  if (rest > 0) {
    if (rest === 3) h ^= (text.charCodeAt(i + 2) & 0xff) << 16;
    if (rest >= 2) h ^= (text.charCodeAt(i + 1) & 0xff) << 8;
    h ^= text.charCodeAt(i) & 0xff;
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h >>> 0;
}

/**
 * Upper bounds (exclusive) of each serving variant's share of the 32-bit hash space, from whole
 * percent weights that add up to 100. A variant of weight 0 gets an empty range; the last variant
 * with weight takes everything up to 2^32 (nginx's `*`), so no hash falls through.
 */
export function splitThresholds(weights: readonly number[]): Float64Array {
  const thresholds = new Float64Array(weights.length);
  let lastWeighted = -1;
  weights.forEach((w, i) => {
    if (w > 0) lastWeighted = i;
  });
  let last = 0;
  weights.forEach((weight, i) => {
    if (weight > 0 && i !== lastWeighted) {
      // percent * 100 (nginx keeps two decimals) * 0xffffffff / 10000, in 64-bit integer arithmetic.
      last = (last + Math.floor((weight * 100 * 0xffffffff) / 10000)) >>> 0;
    }
    thresholds[i] = i === lastWeighted ? 2 ** 32 : last;
  });
  return thresholds;
}

/** The serving variant (index) owning a 32-bit hash. */
export function variantForHash(thresholds: Float64Array, hash: number): number {
  const n = thresholds.length;
  for (let i = 0; i < n; i++) if (hash < (thresholds[i] as number)) return i;
  return n - 1;
}

/**
 * The serving variant for one request: the sticky key's hash when the caller sends one, otherwise
 * a uniformly random point of the hash space (`random` returns [0, 1)), drawn once.
 */
export function pickVariant(thresholds: Float64Array, model: string, key: string | undefined, random: () => number): number {
  const hash = key !== undefined && key !== '' ? stickyHash(model, key) : Math.floor(random() * 2 ** 32);
  return variantForHash(thresholds, hash);
}
