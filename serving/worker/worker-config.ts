import { hostname } from 'node:os';
import { UserError } from '../../lib/errors/user-error.js';
import { readServerConfig, type ServeFlags, type ServerConfig } from '../model-server/server-config.js';
import { redisSettingsFrom, type RedisSettings } from './redis-connection.js';

/**
 * Every setting of `modelfleet worker`, read once at start-up and frozen: the model server's own
 * settings (model, batching, threads, port for /healthz and /metrics, shutdown timeout), the
 * Redis connection, and the queue settings (MODELFLEET_BULK_*). docs/bulk.md lists them.
 */
export interface WorkerConfig {
  readonly server: ServerConfig;
  readonly redis: RedisSettings;
  /** Unique name of this worker in the consumer group. */
  readonly consumer: string;
  /** Chunks scored at once (read ahead while others are scored). */
  readonly maxInFlight: number;
  /** Longest one read waits for new chunks (also how long a stop may wait for a read). */
  readonly readBlockMs: number;
  /** A chunk unacknowledged this long is presumed abandoned by a dead worker and claimed. */
  readonly claimIdleMs: number;
  /** How often to look for abandoned chunks (and trim acknowledged ones). */
  readonly claimIntervalMs: number;
  /** A chunk delivered more often than this goes to the dead-letter stream. */
  readonly maxDeliveries: number;
}

export interface WorkerFlags extends ServeFlags {
  readonly redis?: string;
}

export const WORKER_DEFAULTS = {
  MAX_IN_FLIGHT: 4,
  READ_BLOCK_MS: 1_000,
  CLAIM_IDLE_MS: 60_000,
  CLAIM_INTERVAL_MS: 5_000,
  MAX_DELIVERIES: 5,
} as const;

/**
 * Reads whole-number settings from the environment: the fallback when unset, else the value if it is
 * a whole number within [min, max]; otherwise the fallback, with the problem pushed to `problems`.
 */
export function wholeNumberReader(env: Readonly<Record<string, string | undefined>>, problems: string[]): (name: string, fallback: number, min: number, max: number) => number {
  return (name, fallback, min, max) => {
    const raw = env[name];
    if (raw === undefined || raw.trim() === '') return fallback;
    const value = Number(raw.trim());
    if (!Number.isInteger(value) || value < min || value > max) {
      problems.push(`${name}=${JSON.stringify(raw)}: expected a whole number from ${min} to ${max}`);
      return fallback;
    }
    return value;
  };
}

export function readWorkerConfig(env: Readonly<Record<string, string | undefined>>, flags: WorkerFlags = {}): WorkerConfig {
  const server = readServerConfig(env, flags);
  const problems: string[] = [];
  const int = wholeNumberReader(env, problems);
  const config: WorkerConfig = {
    server,
    redis: redisSettingsFrom(env, flags.redis),
    consumer: env.MODELFLEET_WORKER_NAME?.trim() || `${hostname()}-${process.pid}`,
    maxInFlight: int('MODELFLEET_BULK_MAX_IN_FLIGHT', WORKER_DEFAULTS.MAX_IN_FLIGHT, 1, 256),
    readBlockMs: int('MODELFLEET_BULK_READ_BLOCK_MS', WORKER_DEFAULTS.READ_BLOCK_MS, 10, 60_000),
    claimIdleMs: int('MODELFLEET_BULK_CLAIM_IDLE_MS', WORKER_DEFAULTS.CLAIM_IDLE_MS, 100, 86_400_000),
    claimIntervalMs: int('MODELFLEET_BULK_CLAIM_INTERVAL_MS', WORKER_DEFAULTS.CLAIM_INTERVAL_MS, 50, 3_600_000),
    maxDeliveries: int('MODELFLEET_BULK_MAX_DELIVERIES', WORKER_DEFAULTS.MAX_DELIVERIES, 1, 1_000),
  };
  if (problems.length > 0) throw new UserError('WORKER_CONFIG_INVALID', `worker settings: ${problems.join('; ')}`);
  return Object.freeze(config);
}
