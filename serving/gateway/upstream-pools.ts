import { Pool } from 'undici';

export interface UpstreamPoolOptions {
  /** Bound on establishing a TCP connection to a model server. */
  readonly connectTimeoutMs: number;
}

/**
 * Keep-alive connection pools to model servers, one per origin, shared by every route table
 * that names the origin. A pool is closed (gracefully: queued and in-flight requests finish)
 * only when no table holds it any more, so a reload never cuts a request short.
 */
export class UpstreamPools {
  readonly #pools = new Map<string, { pool: Pool; refs: number }>();

  constructor(private readonly options: UpstreamPoolOptions) {}

  /** Takes a reference on the origin's pool, creating it on first use. */
  acquire(origin: string): Pool {
    const held = this.#pools.get(origin);
    if (held) {
      held.refs += 1;
      return held.pool;
    }
    const pool = new Pool(origin, {
      // Unbounded connections: a request never waits in a queue where no timeout covers it.
      connections: null,
      pipelining: 1,
      // Below Node's default server keepAliveTimeout (5 s), so the gateway closes idle sockets first
      // and never writes a request onto a socket the model server is closing.
      keepAliveTimeout: 4_000,
      connect: { timeout: this.options.connectTimeoutMs },
    });
    this.#pools.set(origin, { pool, refs: 1 });
    return pool;
  }

  /** Drops a reference; the last one closes the pool after its requests finish. */
  release(origin: string): void {
    const held = this.#pools.get(origin);
    if (!held) return;
    held.refs -= 1;
    if (held.refs > 0) return;
    this.#pools.delete(origin);
    void held.pool.close().catch(() => undefined);
  }

  get size(): number {
    return this.#pools.size;
  }

  /** Closes every pool; in-flight requests finish first unless `force`. */
  async closeAll(force = false): Promise<void> {
    const pools = [...this.#pools.values()].map((p) => p.pool);
    this.#pools.clear();
    await Promise.all(pools.map((pool) => (force ? pool.destroy() : pool.close()).catch(() => undefined)));
  }
}
