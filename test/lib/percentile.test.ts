import { describe, expect, it } from 'vitest';
import { percentile } from '../../lib/percentile.js';

describe('percentile (nearest rank)', () => {
  // Hand-worked: rank = ceil(p/100 × n), the value at that rank in sorted order.
  it.each([
    { values: [5, 1, 4, 2, 3], p: 50, want: 3 },      // ceil(2.5) = rank 3
    { values: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], p: 90, want: 9 }, // ceil(9) = rank 9
    { values: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], p: 91, want: 10 }, // ceil(9.1) = rank 10
    { values: [7], p: 99, want: 7 },
    { values: [15, 20, 35, 40, 50], p: 30, want: 20 }, // the example on Wikipedia's page
    { values: [15, 20, 35, 40, 50], p: 100, want: 50 },
  ])('gives $want for p$p of $values', ({ values, p, want }) => {
    expect(percentile(values, p)).toBe(want);
  });

  it('does not reorder the caller\'s array', () => {
    const values = [3, 1, 2];
    percentile(values, 50);
    expect(values).toEqual([3, 1, 2]);
  });

  it('refuses no values and percentiles outside (0, 100]', () => {
    expect(() => percentile([], 50)).toThrow(RangeError);
    expect(() => percentile([1], 0)).toThrow(/outside/);
    expect(() => percentile([1], 101)).toThrow(/outside/);
  });
});
