import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { desiredWorkers } from '../../pipeline/bulk/supervisor/scale-decision.js';

const policy = { maxWorkers: 4, lagPerWorker: 10, cooldownMs: 60_000 };

describe('how many workers a queue gets', () => {
  it('starts from zero when chunks wait: one per lagPerWorker chunks, at most maxWorkers', () => {
    expect(desiredWorkers({ waiting: 1, inProgress: 0 }, { workers: 0, lastBusyAt: undefined }, policy, 0)).toBe(1);
    expect(desiredWorkers({ waiting: 25, inProgress: 0 }, { workers: 0, lastBusyAt: undefined }, policy, 0)).toBe(3);
    expect(desiredWorkers({ waiting: 10_000, inProgress: 0 }, { workers: 1, lastBusyAt: 0 }, policy, 0)).toBe(4);
  });

  it('keeps the pool while chunks are in progress, and gives orphaned chunks one worker to claim them', () => {
    expect(desiredWorkers({ waiting: 0, inProgress: 3 }, { workers: 2, lastBusyAt: 0 }, policy, 10 * 60_000)).toBe(2);
    expect(desiredWorkers({ waiting: 0, inProgress: 3 }, { workers: 0, lastBusyAt: 0 }, policy, 10 * 60_000)).toBe(1);
  });

  it('returns to zero only after the cooldown without work', () => {
    expect(desiredWorkers({ waiting: 0, inProgress: 0 }, { workers: 3, lastBusyAt: 1_000 }, policy, 60_999)).toBe(3);
    expect(desiredWorkers({ waiting: 0, inProgress: 0 }, { workers: 3, lastBusyAt: 1_000 }, policy, 61_000)).toBe(0);
  });

  it('never exceeds maxWorkers, never shrinks a busy pool, and never runs workers for an idle queue past the cooldown', () => {
    fc.assert(fc.property(fc.nat(1_000), fc.nat(50), fc.nat(8), fc.option(fc.nat(200_000), { nil: undefined }), fc.nat(200_000), (waiting, inProgress, workers, lastBusyAt, now) => {
      const want = desiredWorkers({ waiting, inProgress }, { workers: Math.min(workers, policy.maxWorkers), lastBusyAt }, policy, now);
      expect(want).toBeLessThanOrEqual(policy.maxWorkers);
      if (waiting > 0 || inProgress > 0) expect(want).toBeGreaterThanOrEqual(Math.max(1, Math.min(workers, policy.maxWorkers)));
      if (waiting === 0 && inProgress === 0 && (lastBusyAt === undefined || now - lastBusyAt >= policy.cooldownMs)) expect(want).toBe(0);
    }));
  });
});
