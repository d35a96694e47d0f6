import { DURATION_PATTERN, type RawBulk } from './fleet-schema.js';
import type { FleetProblem } from './fleet-problem.js';
import type { BulkSettings, SecretEnvVar, Variant } from './types.js';
import type { KeyPath } from './yaml-positions.js';

/** What `bulk:` means when a key is left out (docs/bulk.md). */
export const BULK_DEFAULTS = {
  enabled: true,
  chunkRows: 500,
  maxWorkers: 4,
  maxQueuedChunks: 200,
  resultTtl: '24h',
  maxDeliveries: 5,
  claimIdleSeconds: 30,
  cooldownSeconds: 120,
  lagPerWorker: 10,
  redisSecret: 'modelfleet-redis',
} as const;

/** Results live at least a minute (a `bulk results` right after the job) and at most 30 days. */
const TTL_MIN_SECONDS = 60;
const TTL_MAX_SECONDS = 30 * 86_400;

/** The worker's Redis variables come from the bulk Secret; a model's own secret variable must not shadow them. */
export const BULK_REDIS_ENV = ['REDIS_ADDRESS', 'REDIS_PASSWORD', 'REDIS_URL', 'REDIS_USERNAME'] as const;

const UNIT_SECONDS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600, d: 86_400 };

export function durationSeconds(text: string): number | undefined {
  const match = DURATION_PATTERN.exec(text);
  if (!match) return undefined;
  return Number(match[1]) * (UNIT_SECONDS[match[2] ?? 's'] ?? 1);
}

/**
 * A model's `bulk:` over `defaults.bulk:`, with the built-in defaults under both; undefined when
 * neither writes one (the model then has no `bulk` key at all, so nothing generated for it changes).
 * Pure: problems are pushed for the model's key paths (`locateAt` also points at `defaults:`).
 */
export function resolveBulk(
  own: RawBulk | undefined,
  fromDefaults: RawBulk | undefined,
  context: { readonly base: KeyPath; readonly variants: readonly Variant[]; readonly secretEnv: readonly SecretEnvVar[] },
  problems: FleetProblem[],
): BulkSettings | undefined {
  if (own === undefined && fromDefaults === undefined) return undefined;
  const merged = { ...BULK_DEFAULTS, ...dropUndefined(fromDefaults ?? {}), ...dropUndefined(own ?? {}) };
  const at = (key: string): Pick<FleetProblem, 'path' | 'locateAt'> => ({ path: [...context.base, 'bulk', key], locateAt: [[...context.base, 'bulk', key], ['defaults', 'bulk', key], [...context.base, 'bulk']] });
  const before = problems.length;
  const ttl = durationSeconds(merged.resultTtl);
  if (ttl === undefined || ttl < TTL_MIN_SECONDS || ttl > TTL_MAX_SECONDS) {
    problems.push({ ...at('resultTtl'), message: `resultTtl ${merged.resultTtl} must be between 60s and 30d`, hint: 'e.g. `resultTtl: 24h`; results are deleted that long after the job ends' });
  }
  if (merged.cooldownSeconds <= merged.claimIdleSeconds) {
    problems.push({ ...at('cooldownSeconds'), message: `cooldownSeconds (${merged.cooldownSeconds}) must be longer than claimIdleSeconds (${merged.claimIdleSeconds})`, hint: 'a chunk left by a worker that died is claimed by another after claimIdleSeconds; the pool must not stop before that' });
  }
  if (merged.enabled) {
    const own = context.variants.find((v) => v.source.kind === 'image');
    if (own) {
      problems.push({ ...at('enabled'), message: `bulk predictions need modelfleet's worker, and ${own.id === 'main' ? 'this model' : `variant "${own.id}"`} brings its own image`, hint: 'serve the model from mlflow: or path: to use bulk:, or set `bulk: { enabled: false }`' });
    }
    for (const entry of context.secretEnv) {
      if ((BULK_REDIS_ENV as readonly string[]).includes(entry.name)) {
        problems.push({ ...at('redisSecret'), message: `secretEnv sets ${entry.name}, which the bulk worker takes from the Secret bulk.redisSecret (${merged.redisSecret})`, hint: `remove ${entry.name} from secretEnv; put the Redis address and password under the keys \`address\` and \`password\` of the Secret ${merged.redisSecret}` });
      }
    }
  }
  if (problems.length > before) return undefined;
  return {
    enabled: merged.enabled,
    chunkRows: merged.chunkRows,
    maxWorkers: merged.maxWorkers,
    maxQueuedChunks: merged.maxQueuedChunks,
    resultTtlSeconds: ttl ?? 0,
    maxDeliveries: merged.maxDeliveries,
    claimIdleSeconds: merged.claimIdleSeconds,
    cooldownSeconds: merged.cooldownSeconds,
    lagPerWorker: merged.lagPerWorker,
    redisSecret: merged.redisSecret,
  };
}

function dropUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
