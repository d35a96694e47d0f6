import { describe, expect, it } from 'vitest';
import { bucketOf, bucketOwners, pickBucket } from '../../serving/gateway/pick-variant.js';

describe('A/B buckets', () => {
  it('puts one caller in the same bucket every time', () => {
    for (const key of ['rider-1', 'rider-2', 'ünïcode-κλειδί', '']) {
      expect(bucketOf('match', key)).toBe(bucketOf('match', key));
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

  it('falls back to the random source when the caller sends no key', () => {
    expect(pickBucket('m', undefined, () => 0.999999)).toBe(99);
    expect(pickBucket('m', '', () => 0)).toBe(0);
    expect(pickBucket('m', 'rider-7', () => 0)).toBe(bucketOf('m', 'rider-7'));
  });
});
