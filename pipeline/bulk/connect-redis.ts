import type { Redis } from 'ioredis';
import { UserError } from '../../lib/errors/user-error.js';
import { describeRedis, openRedis, type RedisSettings } from '../../serving/worker/redis-connection.js';

/**
 * A connection for a bulk command, proven by a PING before anything else: a Redis that does not
 * answer at all fails fast with BULK_REDIS_UNAVAILABLE. With `waitForever`, later outages are
 * waited out (the submitter must not lose a chunk), with a line printed when Redis is lost and back.
 */
export async function connectRedis(settings: RedisSettings, options: { readonly waitForever: boolean; readonly print?: (line: string) => void; readonly timeoutMs?: number }): Promise<Redis> {
  const print = options.print;
  const redis = openRedis(settings, {
    name: `modelfleet-bulk-${process.pid}`,
    waitForever: options.waitForever,
    onStatus: (status, detail) => print?.(status === 'lost' ? `lost the connection to Redis (${detail}); waiting for it to come back` : `connected to Redis again (${detail})`),
  });
  const timeoutMs = options.timeoutMs ?? 5_000;
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      redis.ping(),
      new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs); }),
    ]);
  } catch (err) {
    redis.disconnect();
    throw new UserError('BULK_REDIS_UNAVAILABLE', `Redis at ${describeRedis(settings)} does not answer: ${(err as Error).message}`,
      'Start it (`modelfleet up` starts one for models with `bulk:`), or pass --redis redis://HOST:PORT (REDIS_URL, REDIS_PASSWORD).', { cause: err });
  } finally {
    clearTimeout(timer);
  }
  return redis;
}

export async function closeRedis(redis: Redis): Promise<void> {
  await redis.quit().catch(() => redis.disconnect());
}
