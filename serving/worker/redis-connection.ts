import { createHash } from 'node:crypto';
import { Redis, type RedisOptions } from 'ioredis';
import { UserError } from '../../lib/errors/user-error.js';

/** Where Redis is and how to log in. The password never appears in a message. */
export interface RedisSettings {
  /** redis://host:port[/db] (or rediss:// for TLS). */
  readonly url: string;
  readonly username: string | undefined;
  readonly password: string | undefined;
}

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

/**
 * The flag wins, then REDIS_URL, then REDIS_ADDRESS (host:port, the form KEDA's redis-streams
 * trigger and the Kubernetes Secret use), then 127.0.0.1:6379. REDIS_PASSWORD and REDIS_USERNAME
 * come from the environment only (a Secret in Kubernetes), never from a flag.
 */
export function redisSettingsFrom(env: Readonly<Record<string, string | undefined>>, flag?: string): RedisSettings {
  const address = env.REDIS_ADDRESS?.trim();
  const url = flag?.trim() || env.REDIS_URL?.trim() || (address ? `redis://${address}` : DEFAULT_REDIS_URL);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UserError('BULK_REDIS_UNAVAILABLE', `the Redis address ${JSON.stringify(url)} is not a URL like redis://127.0.0.1:6379`, 'Pass --redis redis://HOST:PORT, or set REDIS_URL (or REDIS_ADDRESS=HOST:PORT).');
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new UserError('BULK_REDIS_UNAVAILABLE', `the Redis address ${describeRedis({ url, username: undefined, password: undefined })} must start with redis:// or rediss://`, 'Pass --redis redis://HOST:PORT, or set REDIS_URL.');
  }
  return {
    url,
    username: env.REDIS_USERNAME || (parsed.username ? decodeURIComponent(parsed.username) : undefined),
    password: env.REDIS_PASSWORD || (parsed.password ? decodeURIComponent(parsed.password) : undefined),
  };
}

/** The address for messages: no credentials. */
export function describeRedis(settings: RedisSettings): string {
  try {
    const parsed = new URL(settings.url);
    parsed.username = '';
    parsed.password = '';
    return parsed.toString().replace(/\/$/, '');
  } catch {
    return 'the configured Redis';
  }
}

export interface OpenRedisOptions {
  /** Connection name (CLIENT LIST shows it). */
  readonly name: string;
  /**
   * Wait through outages: every command waits until Redis is back (workers, and the submitter,
   * which must not lose a chunk). Otherwise a command fails after a few reconnection attempts.
   */
  readonly waitForever: boolean;
  /** Called once per outage, when the connection is lost and when it is back. */
  readonly onStatus?: (status: 'lost' | 'ready', detail: string) => void;
}

/**
 * One ioredis connection. Commands that were sent but not answered when the connection dropped
 * are sent again after reconnecting (ioredis' autoResendUnfulfilledCommands): every bulk write is
 * idempotent, so a command that did reach Redis before the drop does no harm the second time.
 */
export function openRedis(settings: RedisSettings, options: OpenRedisOptions): Redis {
  const redisOptions: RedisOptions = {
    connectionName: options.name,
    lazyConnect: false,
    enableAutoPipelining: true,
    autoResendUnfulfilledCommands: true,
    connectTimeout: 5_000,
    maxRetriesPerRequest: options.waitForever ? null : 2,
    retryStrategy: options.waitForever ? (times) => Math.min(100 * times, 2_000) : (times) => (times > 3 ? null : 200 * times),
    ...(settings.username ? { username: settings.username } : {}),
    ...(settings.password ? { password: settings.password } : {}),
  };
  const redis = new Redis(settings.url, redisOptions);
  let lost = false;
  redis.on('error', (err: Error) => {
    if (lost) return;
    lost = true;
    options.onStatus?.('lost', err.message);
  });
  redis.on('ready', () => {
    if (!lost) return;
    lost = false;
    options.onStatus?.('ready', describeRedis(settings));
  });
  return redis;
}

/** A Lua script run by its SHA1, loaded again when Redis forgot it (after a restart). */
export class LuaScript {
  readonly #source: string;
  readonly #sha: string;

  constructor(source: string) {
    this.#source = source;
    this.#sha = createHash('sha1').update(source).digest('hex');
  }

  async run(redis: Redis, keys: readonly string[], args: ReadonlyArray<string | number>): Promise<unknown> {
    try {
      return await redis.evalsha(this.#sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      return redis.eval(this.#source, keys.length, ...keys, ...args);
    }
  }
}
