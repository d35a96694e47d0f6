import { describe, expect, it } from 'vitest';
import { computeSizing, DEFAULT_SIZING_POLICY, formatMemoryQuantity, MiB, percentile, roundUpTo, type ResourceSample } from '../../pipeline/sizing/sizing-policy.js';

/** Samples whose working set climbs 100, 101, ... MiB and CPU 0.50, 0.51, ... cores. */
function rampSamples(count: number, startMiB = 100): ResourceSample[] {
  return Array.from({ length: count }, (_, i) => ({ workingSetBytes: (startMiB + i) * MiB, cpuCores: 0.5 + i / 100 }));
}

describe('sizing policy', () => {
  it('sets the memory request to P90 × 1.15 and the limit to peak × 1.15 + 16 MiB, each rounded up to 8 MiB', () => {
    const sizing = computeSizing(rampSamples(20)); // 100..119 MiB; P90 (nearest rank 18) = 117 MiB
    expect(sizing.measured.memoryP90Bytes).toBe(117 * MiB);
    expect(sizing.measured.memoryPeakBytes).toBe(119 * MiB);
    // 117 × 1.15 = 134.55 → 136 MiB
    expect(sizing.memoryRequestBytes).toBe(136 * MiB);
    // 119 × 1.15 + 16 = 152.85 → 160 MiB
    expect(sizing.memoryLimitBytes).toBe(160 * MiB);
    // CPU P90 = 0.67 cores; 670m × 1.15 = 770.5m → 780m
    expect(sizing.resources).toEqual({ requests: { cpu: '780m', memory: '136Mi' }, limits: { memory: '160Mi' } });
  });

  it('states what VPA (P90 + 15%) and KRR (max × 1.15) would have recommended', () => {
    const sizing = computeSizing(rampSamples(20));
    expect(sizing.compared.vpaMemoryRequestBytes).toBe(Math.ceil(117 * MiB * 1.15));
    expect(sizing.compared.krrMemoryBytes).toBe(Math.ceil(119 * MiB * 1.15));
  });

  it('reports the limit as a ratio of the measured peak', () => {
    const sizing = computeSizing(rampSamples(20));
    expect(sizing.limitToPeakRatio).toBeCloseTo(160 / 119, 3);
  });

  it('takes the CPU request from P90 CPU × 1.15 rounded up to 10 millicores, and sets no CPU limit', () => {
    const sizing = computeSizing([{ workingSetBytes: 100 * MiB, cpuCores: 0.333 }]);
    // 0.333 × 1000 × 1.15 = 382.95 → 390m
    expect(sizing.cpuRequestMillicores).toBe(390);
    expect(sizing.resources.limits).not.toHaveProperty('cpu');
  });

  it('never goes below the floors for a tiny or idle server', () => {
    const sizing = computeSizing([{ workingSetBytes: 5 * MiB, cpuCores: 0 }]);
    expect(sizing.memoryRequestBytes).toBe(DEFAULT_SIZING_POLICY.minMemoryBytes);
    expect(sizing.memoryLimitBytes).toBeGreaterThanOrEqual(DEFAULT_SIZING_POLICY.minMemoryBytes);
    expect(sizing.cpuRequestMillicores).toBe(DEFAULT_SIZING_POLICY.minCpuMillicores);
  });

  it('keeps the limit at or above the request even when a spike-free run has P90 equal to the peak', () => {
    const flat = Array.from({ length: 10 }, () => ({ workingSetBytes: 300 * MiB, cpuCores: 1 }));
    const sizing = computeSizing(flat);
    expect(sizing.memoryLimitBytes).toBeGreaterThanOrEqual(sizing.memoryRequestBytes);
  });

  it('refuses to size from zero samples', () => {
    expect(() => computeSizing([])).toThrow(/zero resource samples/);
  });

  it('gives the same sizing for the same samples in any order', () => {
    const samples = rampSamples(30);
    expect(computeSizing([...samples].reverse())).toEqual(computeSizing(samples));
  });
});

describe('sizing helpers', () => {
  it('computes nearest-rank percentiles', () => {
    expect(percentile([5, 1, 4, 2, 3], 50)).toBe(3);
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90)).toBe(9);
    expect(percentile([7], 99)).toBe(7);
  });

  it('rounds up to a step and leaves exact multiples alone', () => {
    expect(roundUpTo(8 * MiB, 8 * MiB)).toBe(8 * MiB);
    expect(roundUpTo(8 * MiB + 1, 8 * MiB)).toBe(16 * MiB);
  });

  it('formats memory as whole MiB quantities', () => {
    expect(formatMemoryQuantity(160 * MiB)).toBe('160Mi');
    expect(formatMemoryQuantity(160 * MiB + 1)).toBe('161Mi');
  });
});
