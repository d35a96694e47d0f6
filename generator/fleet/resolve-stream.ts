import type { RawStream } from './fleet-schema.js';
import type { FleetProblem } from './fleet-problem.js';
import type { SecretEnvVar, StreamSettings, Variant } from './types.js';
import type { KeyPath } from './yaml-positions.js';

/** What `stream:` means when a key is left out (docs/streaming.md); topic names derive from the model's name. */
export const STREAM_DEFAULTS = {
  transport: 'redis',
  batchSize: 256,
  maxReplicas: 4,
  lagPerReplica: 1000,
} as const;

/** The Secret the connection comes from when `connectionSecret` is left out, by transport. */
export const STREAM_CONNECTION_SECRETS = { redis: 'modelfleet-redis', kafka: 'modelfleet-kafka' } as const;

/** The worker's connection variables come from the stream's Secret; a model's own secret variable must not shadow them. */
export const STREAM_CONNECTION_ENV = {
  redis: ['REDIS_ADDRESS', 'REDIS_PASSWORD', 'REDIS_URL', 'REDIS_USERNAME'],
  kafka: ['KAFKA_BOOTSTRAP', 'KAFKA_USERNAME', 'KAFKA_PASSWORD', 'KAFKA_SASL_MECHANISM', 'KAFKA_TLS'],
} as const;

/** Keys that name one model's topics: the same value for every model would make them all read one topic. */
const PER_MODEL_KEYS = ['input', 'output', 'deadLetter', 'group'] as const;

export function defaultTopics(modelName: string): Pick<StreamSettings, 'input' | 'output' | 'deadLetter' | 'group'> {
  return {
    input: `modelfleet.${modelName}.inputs`,
    output: `modelfleet.${modelName}.outputs`,
    deadLetter: `modelfleet.${modelName}.dead-letter`,
    group: `modelfleet.${modelName}`,
  };
}

/**
 * A model's `stream:` over `defaults.stream:`, with the built-in defaults under both; undefined when
 * neither writes one (the model then has no `stream` key at all, so nothing generated for it changes).
 * Pure: problems are pushed for the model's key paths (`locateAt` also points at `defaults:`).
 */
export function resolveStream(
  own: RawStream | undefined,
  fromDefaults: RawStream | undefined,
  context: { readonly base: KeyPath; readonly modelName: string; readonly variants: readonly Variant[]; readonly secretEnv: readonly SecretEnvVar[] },
  problems: FleetProblem[],
): StreamSettings | undefined {
  if (own === undefined && fromDefaults === undefined) return undefined;
  const at = (key: string): Pick<FleetProblem, 'path' | 'locateAt'> => ({ path: [...context.base, 'stream', key], locateAt: [[...context.base, 'stream', key], ['defaults', 'stream', key], [...context.base, 'stream']] });
  const before = problems.length;
  for (const key of PER_MODEL_KEYS) {
    if (fromDefaults?.[key] !== undefined) {
      problems.push({ path: ['defaults', 'stream', key], message: `defaults.stream.${key} would give every model the same ${key === 'group' ? 'consumer group' : 'topic'}`, hint: `write ${key} under each model's stream:, or leave it out: it defaults to ${JSON.stringify(defaultTopics('<model>')[key])}` });
    }
  }
  const merged = { ...STREAM_DEFAULTS, ...defaultTopics(context.modelName), ...dropUndefined(fromDefaults ?? {}), ...dropUndefined(own ?? {}) };
  const connectionSecret = merged.connectionSecret ?? STREAM_CONNECTION_SECRETS[merged.transport];
  const topics = [['input', merged.input], ['output', merged.output], ['deadLetter', merged.deadLetter]] as const;
  for (const [i, [key, value]] of topics.entries()) {
    const earlier = topics.slice(0, i).find(([, other]) => other === value);
    if (earlier) problems.push({ ...at(key), message: `stream.${key} and stream.${earlier[0]} are both ${JSON.stringify(value)}`, hint: 'predictions and dead letters need topics of their own, or the worker reads its own output' });
  }
  const own_ = context.variants.find((v) => v.source.kind === 'image');
  if (own_) {
    problems.push({ ...at('transport'), message: `streaming needs modelfleet's worker, and ${own_.id === 'main' ? 'this model' : `variant "${own_.id}"`} brings its own image`, hint: 'serve the model from mlflow: or path: to use stream:' });
  } else if (context.variants.filter((v) => !v.shadow).length > 1) {
    problems.push({ ...at('transport'), message: 'a stream is scored by one model version, and this model splits its traffic between A/B variants', hint: 'give the streamed version a model entry of its own with stream:, and keep ab: on the HTTP model' });
  }
  for (const entry of context.secretEnv) {
    if ((STREAM_CONNECTION_ENV[merged.transport] as readonly string[]).includes(entry.name)) {
      problems.push({ ...at('connectionSecret'), message: `secretEnv sets ${entry.name}, which the stream worker takes from the Secret stream.connectionSecret (${connectionSecret})`, hint: `remove ${entry.name} from secretEnv; put the connection in the Secret ${connectionSecret}` });
    }
  }
  if (problems.length > before) return undefined;
  return {
    transport: merged.transport,
    input: merged.input,
    output: merged.output,
    deadLetter: merged.deadLetter,
    group: merged.group,
    batchSize: merged.batchSize,
    maxReplicas: merged.maxReplicas,
    lagPerReplica: merged.lagPerReplica,
    connectionSecret,
  };
}

function dropUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
