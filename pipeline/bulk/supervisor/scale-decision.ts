import type { Backlog } from '../../../serving/worker/work-source.js';

export interface ScalePolicy {
  readonly maxWorkers: number;
  /** Chunks of lag per worker (KEDA's lagCount). */
  readonly lagPerWorker: number;
  /** Workers stop after this long with nothing waiting and nothing in progress. */
  readonly cooldownMs: number;
}

export interface PoolState {
  /** Workers running or starting. */
  readonly workers: number;
  /** The last time the queue had work (waiting or in progress); undefined if never. */
  readonly lastBusyAt: number | undefined;
}

/**
 * How many workers a queue should have now: KEDA's rule for a redis-streams lag trigger
 * (ceil(lag / lagCount), at most maxReplicaCount, zero after the cooldown without lag), with two
 * local refinements: a pool never shrinks while chunks wait or are in progress (a busy worker is
 * not stopped mid-job), and chunks left in progress with no worker at all (every worker died) get
 * one worker, which claims them. Pure.
 */
export function desiredWorkers(backlog: Backlog, pool: PoolState, policy: ScalePolicy, now: number): number {
  if (backlog.waiting > 0) return Math.min(policy.maxWorkers, Math.max(pool.workers, Math.ceil(backlog.waiting / policy.lagPerWorker)));
  if (backlog.inProgress > 0) return Math.max(pool.workers, 1);
  if (pool.workers === 0) return 0;
  if (pool.lastBusyAt === undefined || now - pool.lastBusyAt >= policy.cooldownMs) return 0;
  return pool.workers;
}

export function isBusy(backlog: Backlog): boolean {
  return backlog.waiting > 0 || backlog.inProgress > 0;
}
