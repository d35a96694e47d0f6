import { describe, expect, it } from 'vitest';
import { computeSizing, DEFAULT_SIZING_POLICY, formatMemoryQuantity, MiB, roundUpTo, type ResourceSample } from '../../pipeline/sizing/sizing-policy.js';

/** Samples whose working set climbs 100, 101, ... MiB and CPU 0.50, 0.51, ... cores. */
function rampSamples(count: number, startMiB = 100): ResourceSample[] {
  return Array.from({ length: count }, (_, i) => ({ workingSetBytes: (startMiB + i) * MiB, cpuCores: 0.5 + i / 100 }));
}

// Every expectation below is worked out by hand from the policy in docs/loadtest.md (request =
// P90 × 1.15, limit = peak × 1.15 + 16 MiB, both rounded up to 8 MiB; CPU request = P90 × 1.15
// rounded up to 10m; floors 64 MiB and 50m), written as literal numbers with the arithmetic beside
// them, so a change to the formula or its rounding fails here instead of being restated.
describe('sizing policy', () => {
  it('sizes a ramp of 100..119 MiB: request 136Mi from the P90, limit 160Mi from the peak, CPU 780m', () => {
    const sizing = computeSizing(rampSamples(20));
    // Nearest-rank P90 of 20 samples is the ceil(0.9 × 20) = 18th smallest: 117 MiB = 117 × 1,048,576.
    expect(sizing.measured.memoryP90Bytes).toBe(122_683_392);
    // Peak: 119 MiB = 119 × 1,048,576.
    expect(sizing.measured.memoryPeakBytes).toBe(124_780_544);
    // Request: 117 × 1.15 = 134.55 MiB, up to the next multiple of 8: 136 MiB = 142,606,336 bytes.
    expect(sizing.memoryRequestBytes).toBe(142_606_336);
    // Limit: 119 × 1.15 + 16 = 152.85 MiB, up to 160 MiB = 167,772,160 bytes.
    expect(sizing.memoryLimitBytes).toBe(167_772_160);
    // CPU P90 is the 18th smallest of 0.50..0.69 = 0.67 cores; 670m × 1.15 = 770.5m, up to 780m.
    expect(sizing.cpuRequestMillicores).toBe(780);
    expect(sizing.resources).toEqual({ requests: { cpu: '780m', memory: '136Mi' }, limits: { memory: '160Mi' } });
  });

  it('states what VPA (P90 + 15%) and KRR (peak × 1.15) would have recommended, in bytes', () => {
    const sizing = computeSizing(rampSamples(20));
    // 122,683,392 × 1.15 = 141,085,900.8 → 141,085,901 bytes.
    expect(sizing.compared.vpaMemoryRequestBytes).toBe(141_085_901);
    // 124,780,544 × 1.15 = 143,497,625.6 → 143,497,626 bytes.
    expect(sizing.compared.krrMemoryBytes).toBe(143_497_626);
  });

  it('reports the limit as a ratio of the measured peak, to three decimals', () => {
    // 160 MiB / 119 MiB = 1.34453… → 1.345.
    expect(computeSizing(rampSamples(20)).limitToPeakRatio).toBe(1.345);
  });

  it('sizes a single sample of 100 MiB and 0.333 cores: 120Mi request, 136Mi limit, 390m, no CPU limit', () => {
    const sizing = computeSizing([{ workingSetBytes: 100 * MiB, cpuCores: 0.333 }]);
    // 100 × 1.15 = 115 MiB → 120 MiB; 115 + 16 = 131 MiB → 136 MiB; 333m × 1.15 = 382.95m → 390m.
    expect(sizing.resources).toEqual({ requests: { cpu: '390m', memory: '120Mi' }, limits: { memory: '136Mi' } });
    expect(sizing.resources.limits).not.toHaveProperty('cpu');
  });

  it('never goes below the floors for a tiny or idle server: 64Mi and 50m', () => {
    const sizing = computeSizing([{ workingSetBytes: 5 * MiB, cpuCores: 0 }]);
    // Request 5 × 1.15 = 5.75 → 8 MiB, raised to the 64 MiB floor; limit 5.75 + 16 = 21.75 → 24 MiB,
    // raised to the 64 MiB floor too; CPU 0m, raised to 50m.
    expect(sizing.memoryRequestBytes).toBe(67_108_864);
    expect(sizing.memoryLimitBytes).toBe(67_108_864);
    expect(sizing.cpuRequestMillicores).toBe(50);
  });

  it('sizes a flat 300 MiB at one core: 352Mi request, 368Mi limit, 1150m', () => {
    const flat = Array.from({ length: 10 }, () => ({ workingSetBytes: 300 * MiB, cpuCores: 1 }));
    // 300 × 1.15 = 345 → 352 MiB; 345 + 16 = 361 → 368 MiB; 1000m × 1.15 = 1150m (already a multiple of 10).
    expect(computeSizing(flat).resources).toEqual({ requests: { cpu: '1150m', memory: '352Mi' }, limits: { memory: '368Mi' } });
  });

  it('raises the limit to the request when a policy would put it below', () => {
    const policy = { ...DEFAULT_SIZING_POLICY, memoryRequestFactor: 1.5, memoryLimitFactor: 1, memoryLimitHeadroomBytes: 0 };
    const sizing = computeSizing([{ workingSetBytes: 100 * MiB, cpuCores: 0.1 }], policy);
    // Request 100 × 1.5 = 150 → 152 MiB; the limit alone would be 100 → 104 MiB, so it becomes 152 MiB.
    expect(sizing.memoryRequestBytes).toBe(159_383_552);
    expect(sizing.memoryLimitBytes).toBe(159_383_552);
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
  it('rounds up to a step and leaves exact multiples alone', () => {
    expect(roundUpTo(8 * MiB, 8 * MiB)).toBe(8 * MiB);
    expect(roundUpTo(8 * MiB + 1, 8 * MiB)).toBe(16 * MiB);
  });

  it('formats memory as whole MiB quantities', () => {
    expect(formatMemoryQuantity(160 * MiB)).toBe('160Mi');
    expect(formatMemoryQuantity(160 * MiB + 1)).toBe('161Mi');
  });
});
