import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { murmurHash2, pickVariant, splitThresholds, stickyHash, variantForHash } from '../../serving/gateway/pick-variant.js';

/*
 * nginx's split_clients written again from its C source with BigInt arithmetic (nothing shared with
 * the implementation, which uses Math.imul): ngx_murmur_hash2 (src/core/ngx_murmurhash.c) over the
 * bytes of the key, and the percent boundaries of ngx_conf_split_clients_block
 * (src/http/modules/ngx_http_split_clients_module.c): percent is kept to two decimals (80% -> 8000),
 * `last += percent * 0xffffffff / 10000` in 64-bit integers stored into a uint32, `*` takes the rest.
 */
const TWO_32 = 2n ** 32n;
const MUL = 0x5bd1e995n;

function referenceMurmur2(bytes: Uint8Array): bigint {
  let h = BigInt(bytes.length) % TWO_32;
  let i = 0;
  for (; bytes.length - i >= 4; i += 4) {
    let k = BigInt(bytes[i]!) | (BigInt(bytes[i + 1]!) << 8n) | (BigInt(bytes[i + 2]!) << 16n) | (BigInt(bytes[i + 3]!) << 24n);
    k = (k * MUL) % TWO_32;
    k ^= k >> 24n;
    k = (k * MUL) % TWO_32;
    h = (h * MUL) % TWO_32;
    h ^= k;
  }
  const rest = bytes.length - i;
  if (rest === 3) h ^= BigInt(bytes[i + 2]!) << 16n;
  if (rest >= 2) h ^= BigInt(bytes[i + 1]!) << 8n;
  if (rest >= 1) {
    h ^= BigInt(bytes[i]!);
    h = (h * MUL) % TWO_32;
  }
  h ^= h >> 13n;
  h = (h * MUL) % TWO_32;
  h ^= h >> 15n;
  return h;
}

/** nginx's part boundaries for whole-percent weights, the last weighted variant written as `*`. */
function referenceBoundaries(weights: readonly number[]): bigint[] {
  const lastWeighted = weights.reduce((at, w, i) => (w > 0 ? i : at), -1);
  let last = 0n;
  return weights.map((w, i) => {
    if (i === lastWeighted) return TWO_32;
    if (w > 0) last = (last + (BigInt(w * 100) * 0xffffffffn) / 10000n) % TWO_32;
    return last;
  });
}

function referenceVariant(weights: readonly number[], model: string, key: string): number {
  const hash = referenceMurmur2(Buffer.from(`${model}:${key}`, 'latin1'));
  const bounds = referenceBoundaries(weights);
  return bounds.findIndex((b) => hash < b);
}

describe('the sticky hash (MurmurHash2 as nginx computes it)', () => {
  it('hashes nothing to 0, and agrees with the reference on worked examples', () => {
    expect(murmurHash2('')).toBe(0);
    for (const text of ['a', 'ab', 'abc', 'abcd', 'match:rider-1', 'match-2-taxi-trafficaware:4b1c']) {
      expect(murmurHash2(text), text).toBe(Number(referenceMurmur2(Buffer.from(text, 'latin1'))));
    }
  });

  it('hashes `<model>:<key>`, byte for byte as the header arrived', () => {
    // A UTF-8 header value reaches the gateway as latin1 characters (one per byte), as nginx sees the bytes.
    const received = Buffer.from('ünïcode-κλειδί', 'utf8').toString('latin1');
    expect(stickyHash('match', received)).toBe(Number(referenceMurmur2(Buffer.concat([Buffer.from('match:'), Buffer.from('ünïcode-κλειδί', 'utf8')]))));
  });

  it('agrees with the reference on any model name and key', () => {
    fc.assert(fc.property(fc.string({ maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 60 }), (model, key) => {
      const latin1 = Buffer.from(key, 'utf8').toString('latin1');
      expect(stickyHash(model.replace(/[^\x20-\x7e]/g, ''), latin1)).toBe(Number(referenceMurmur2(Buffer.from(`${model.replace(/[^\x20-\x7e]/g, '')}:${latin1}`, 'latin1'))));
    }), { numRuns: 100 });
  });
});

describe('A/B split', () => {
  it('draws the boundaries nginx draws, the last weighted variant taking the rest', () => {
    for (const weights of [[80, 20], [70, 30], [33, 33, 34], [0, 100], [50, 0, 50], [1, 1, 98], [100]]) {
      expect([...splitThresholds(weights)], weights.join('/')).toEqual(referenceBoundaries(weights).map(Number));
    }
  });

  it('sends every caller where nginx\'s split_clients would', () => {
    fc.assert(fc.property(
      fc.array(fc.integer({ min: 0, max: 100 }), { minLength: 1, maxLength: 5 }).filter((w) => w.some((x) => x > 0)),
      fc.string({ minLength: 1, maxLength: 30 }),
      (raw, key) => {
        // Scale to whole percents adding up to 100, as validated route tables are.
        const total = raw.reduce((a, b) => a + b, 0);
        const weights = raw.map((w) => Math.floor((w * 100) / total));
        weights[weights.findLastIndex((w) => w > 0)]! += 100 - weights.reduce((a, b) => a + b, 0);
        expect(pickVariant(splitThresholds(weights), 'm', key, () => 0)).toBe(referenceVariant(weights, 'm', key));
      },
    ), { numRuns: 500 });
  });

  it('keeps one caller on one variant and spreads 20,000 callers by weight', () => {
    const thresholds = splitThresholds([70, 30]);
    let first = 0;
    for (let i = 0; i < 20_000; i++) {
      const v = pickVariant(thresholds, 'match-taxi', `rider-${i}`, () => 0.5);
      expect(pickVariant(thresholds, 'match-taxi', `rider-${i}`, () => 0.99)).toBe(v);
      if (v === 0) first += 1;
    }
    expect(first / 20_000).toBeGreaterThan(0.68);
    expect(first / 20_000).toBeLessThan(0.72);
  });

  it('assigns a caller independently on different models', () => {
    const thresholds = splitThresholds([50, 50]);
    let same = 0;
    for (let i = 0; i < 2000; i++) if (pickVariant(thresholds, 'model-a', `k${i}`, Math.random) === pickVariant(thresholds, 'model-b', `k${i}`, Math.random)) same += 1;
    // Independent halves agree about half of the time; the same hash on both models would agree always.
    expect(same / 2000).toBeGreaterThan(0.45);
    expect(same / 2000).toBeLessThan(0.55);
  });

  it('gives a variant of weight 0 nobody and moves only the callers whose share changed owner', () => {
    expect(variantForHash(splitThresholds([0, 100]), 0)).toBe(1);
    expect(variantForHash(splitThresholds([100, 0]), 2 ** 32 - 1)).toBe(0);
    const before = splitThresholds([90, 10]);
    const after = splitThresholds([80, 20]);
    for (let i = 0; i < 2000; i++) {
      const hash = stickyHash('m', `c${i}`);
      // A caller on the second variant at 90/10 is still there at 80/20.
      if (variantForHash(before, hash) === 1) expect(variantForHash(after, hash)).toBe(1);
    }
  });

  it('falls back to the random source when the caller sends no key, and ignores it when they do', () => {
    const thresholds = splitThresholds([70, 30]);
    expect(pickVariant(thresholds, 'm', undefined, () => 0.69)).toBe(0);
    expect(pickVariant(thresholds, 'm', '', () => 0.71)).toBe(1);
    const keyed = pickVariant(thresholds, 'm', 'rider-7', () => 0);
    expect(pickVariant(thresholds, 'm', 'rider-7', () => 0.99)).toBe(keyed);
    expect(keyed).toBe(referenceVariant([70, 30], 'm', 'rider-7'));
  });
});
