import { SweepClock, UpstreamPool, type UpstreamPoolOptions } from './http1/upstream-pool.js';

/**
 * Keep-alive connection pools to model servers, one per origin, shared by every route table
 * that names the origin. A pool is closed (gracefully: calls in flight finish) only when no table
 * holds it any more, so a reload never cuts a request short.
 *
 * One sweep timer serves every pool: calls and idle connections carry the tick of their last
 * activity, and the sweep times out the silent ones. It runs ten times per upstream timeout, so a
 * call is cut between 1 and 1.1 times UPSTREAM_TIMEOUT_MS after it went silent.
 */
export class UpstreamPools {
  readonly #pools = new Map<string, { pool: UpstreamPool; refs: number }>();
  readonly #clock = new SweepClock();
  readonly #sweeper: NodeJS.Timeout;
  readonly #ticks: { connect: number; call: number; idle: number };
  readonly #retired = new Set<UpstreamPool>();

  constructor(private readonly options: UpstreamPoolOptions) {
    const every = Math.min(1_000, Math.max(10, Math.floor(options.upstreamTimeoutMs / 10)));
    this.#ticks = {
      connect: Math.ceil(options.connectTimeoutMs / every),
      call: Math.ceil(options.upstreamTimeoutMs / every),
      idle: Math.ceil(options.idleTimeoutMs / every),
    };
    this.#sweeper = setInterval(() => {
      const tick = ++this.#clock.tick;
      for (const { pool } of this.#pools.values()) pool.sweep(tick, this.#ticks);
      for (const pool of this.#retired) pool.sweep(tick, this.#ticks);
    }, every);
    this.#sweeper.unref();
  }

  /** Takes a reference on the origin's pool, creating it on first use. */
  acquire(origin: string): UpstreamPool {
    const held = this.#pools.get(origin);
    if (held) {
      held.refs += 1;
      return held.pool;
    }
    const pool = new UpstreamPool(origin, this.options, this.#clock);
    this.#pools.set(origin, { pool, refs: 1 });
    return pool;
  }

  /** Drops a reference; the last one closes the pool after its calls finish. */
  release(origin: string): void {
    const held = this.#pools.get(origin);
    if (!held) return;
    held.refs -= 1;
    if (held.refs > 0) return;
    this.#pools.delete(origin);
    // A retired pool still finishes its last calls, and the sweep keeps timing them out.
    const pool = held.pool;
    this.#retired.add(pool);
    void pool.close(false).then(() => this.#retired.delete(pool));
  }

  get size(): number {
    return this.#pools.size;
  }

  /** Closes every pool; calls in flight finish first unless `force`. */
  async closeAll(force = false): Promise<void> {
    const pools = [...[...this.#pools.values()].map((p) => p.pool), ...this.#retired];
    this.#pools.clear();
    await Promise.all(pools.map((pool) => pool.close(force)));
    this.#retired.clear();
    clearInterval(this.#sweeper);
  }
}
