import { describe, expect, it } from 'vitest';
import { bucketOf, bucketOwners, pickBucket } from '../../serving/gateway/pick-variant.js';

/*
 * The bucket function as docs/gateway.md defines it, written again from the definitions with
 * BigInt arithmetic (nothing shared with the implementation, which uses Math.imul):
 * FNV-1a 32 over the UTF-8 bytes of `model NUL key` (http://www.isthe.com/chongo/tech/comp/fnv/),
 * then murmur3's 32-bit finalizer fmix32
 * (https://github.com/aappleby/smhasher/blob/master/src/MurmurHash3.cpp), mod 100.
 * The reference is itself checked against both algorithms' published test vectors below.
 */
const TWO_32 = 2n ** 32n;

function fnv1a32(bytes: Uint8Array): bigint {
  let hash = 0x811c9dc5n;
  for (const byte of bytes) hash = ((hash ^ BigInt(byte)) * 0x01000193n) % TWO_32;
  return hash;
}

function fmix32(input: bigint): bigint {
  let h = input;
  h ^= h >> 16n;
  h = (h * 0x85ebca6bn) % TWO_32;
  h ^= h >> 13n;
  h = (h * 0xc2b2ae35n) % TWO_32;
  h ^= h >> 16n;
  return h;
}

function documentedBucket(model: string, key: string): number {
  return Number(fmix32(fnv1a32(new TextEncoder().encode(`${model}\u0000${key}`))) % 100n);
}

describe('the reference bucket hash', () => {
  it('gives FNV-1a\'s published 32-bit test vectors', () => {
    // From the FNV test suite (test_fnv.c): FNV1A_32 of "", "a" and "foobar".
    expect(fnv1a32(new TextEncoder().encode(''))).toBe(0x811c9dc5n);
    expect(fnv1a32(new TextEncoder().encode('a'))).toBe(0xe40c292cn);
    expect(fnv1a32(new TextEncoder().encode('foobar'))).toBe(0xbf9cf968n);
  });

  it('gives murmur3\'s published vectors for an empty input, which are fmix32 of the seed', () => {
    // MurmurHash3_x86_32("", seed) finalizes the seed alone: h = fmix32(seed ^ 0).
    expect(fmix32(0n)).toBe(0n);
    expect(fmix32(1n)).toBe(0x514e28b7n);
    expect(fmix32(0xffffffffn)).toBe(0x81f16f39n);
  });
});

describe('A/B buckets', () => {
  it('puts a caller in the bucket the documented hash gives', () => {
    // Worked out with the reference above, shown as FNV-1a → fmix32 → mod 100:
    // "match\0rider-1":   0x19e32668 → 0x8b5407ec = 2337540076 → 76
    // "match\0rider-2":   0x1ce32b21 → 0xa7412ea0 = 2806066848 → 48
    // "match\0ünïcode-κλειδί" (UTF-8 bytes): 0x3ba73837 → 0xdbc7df87 = 3687309191 → 91
    // "match\0" (empty key): 0x22aae922 → 0x4a51d426 = 1246876710 → 10
    expect(bucketOf('match', 'rider-1')).toBe(76);
    expect(bucketOf('match', 'rider-2')).toBe(48);
    expect(bucketOf('match', 'ünïcode-κλειδί')).toBe(91);
    expect(bucketOf('match', '')).toBe(10);
  });

  it('agrees with the documented hash on 1,000 callers of three models', () => {
    for (const model of ['match', 'match-taxi', 'm']) {
      for (let i = 0; i < 1000; i++) expect(bucketOf(model, `rider-${i}`), `${model} rider-${i}`).toBe(documentedBucket(model, `rider-${i}`));
    }
  });

  it('spreads 2,000 sequential keys evenly over the 100 buckets', () => {
    const counts = new Array<number>(100).fill(0);
    for (let i = 0; i < 2000; i++) counts[bucketOf('match-taxi', `rider-${i}`)]! += 1;
    // 20 expected per bucket; a uniform hash stays well inside [4, 40] for every bucket.
    expect(Math.min(...counts)).toBeGreaterThanOrEqual(4);
    expect(Math.max(...counts)).toBeLessThanOrEqual(40);
    const inFirstTen = counts.slice(0, 10).reduce((a, b) => a + b, 0);
    expect(inFirstTen / 2000).toBeGreaterThan(0.07);
    expect(inFirstTen / 2000).toBeLessThan(0.13);
  });

  it('assigns a caller independently on different models', () => {
    let same = 0;
    for (let i = 0; i < 1000; i++) if (bucketOf('model-a', `k${i}`) === bucketOf('model-b', `k${i}`)) same += 1;
    // Independent buckets agree about 1% of the time.
    expect(same).toBeLessThan(40);
  });

  it('gives each variant as many buckets as its weight, in order', () => {
    const owners = bucketOwners([90, 10]);
    expect(owners.filter((o) => o === 0).length).toBe(90);
    expect(owners.filter((o) => o === 1).length).toBe(10);
    expect(owners[89]).toBe(0);
    expect(owners[90]).toBe(1);
    expect(bucketOwners([0, 100]).every((o) => o === 1)).toBe(true);
  });

  it('falls back to the random source when the caller sends no key, and ignores it when they do', () => {
    expect(pickBucket('m', undefined, () => 0.999999)).toBe(99);
    expect(pickBucket('m', '', () => 0)).toBe(0);
    // "m\0rider-7": 0xd6244e30 → 0xb0a222bc = 2963415740 → 40, whatever the random source says.
    expect(pickBucket('m', 'rider-7', () => 0)).toBe(40);
    expect(pickBucket('m', 'rider-7', () => 0.99)).toBe(40);
  });
});
