/** Number of A/B buckets: weights are whole percents, so one bucket is one percent of callers. */
export const BUCKETS = 100;

/**
 * The A/B bucket (0..99) of a caller on one model. FNV-1a over the UTF-8 bytes of
 * `model NUL key`, then murmur3's final mix so nearby keys (user-1, user-2, ...) spread evenly.
 * The model name is part of the hash so a caller's buckets on different models are independent
 * (being in the 10% of one test does not put them in the 10% of every test).
 */
export function bucketOf(model: string, key: string): number {
  let h = 0x811c9dc5;
  const bytes = Buffer.from(`${model}\u0000${key}`, 'utf8');
  for (const byte of bytes) {
    h ^= byte;
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) % BUCKETS;
}

/**
 * Maps each bucket to the index of the serving variant that owns it: the first `weight[0]`
 * buckets go to variant 0, the next `weight[1]` to variant 1, and so on (weights add up to 100).
 */
export function bucketOwners(weights: readonly number[]): Uint8Array {
  const owners = new Uint8Array(BUCKETS);
  let bucket = 0;
  weights.forEach((weight, index) => {
    for (let i = 0; i < weight && bucket < BUCKETS; i++) owners[bucket++] = index;
  });
  // Weights are validated to add up to 100; a shortfall would leave trailing buckets on variant 0.
  return owners;
}

/**
 * The serving variant for one request: the sticky key's bucket when the caller sends one,
 * otherwise a weighted random bucket (`random` returns [0, 1)).
 */
export function pickBucket(model: string, key: string | undefined, random: () => number): number {
  if (key !== undefined && key !== '') return bucketOf(model, key);
  return Math.min(BUCKETS - 1, Math.floor(random() * BUCKETS));
}
