import { hostname } from 'node:os';
import { UserError } from '../../../lib/errors/user-error.js';
import { TOPIC_PATTERN } from '../../../generator/fleet/fleet-schema.js';
import { defaultTopics, STREAM_DEFAULTS } from '../../../generator/fleet/resolve-stream.js';
import { readServerConfig, type ServeFlags, type ServerConfig } from '../../model-server/server-config.js';
import { redisSettingsFrom, type RedisSettings } from '../redis-connection.js';
import { WORKER_DEFAULTS, wholeNumberReader } from '../worker-config.js';
import { kafkaSettingsFrom, type KafkaSettings } from './kafka-connection.js';

export type StreamConnection = { readonly transport: 'redis'; readonly redis: RedisSettings } | { readonly transport: 'kafka'; readonly kafka: KafkaSettings };

/**
 * Every setting of `modelfleet worker --stream`, read once at start-up and frozen: the model
 * server's own settings (model, batching, threads, port for /healthz and /metrics, shutdown
 * timeout), the broker connection, the topics and the queue settings (MODELFLEET_STREAM_*).
 * docs/streaming.md lists them.
 */
export interface StreamWorkerConfig {
  readonly server: ServerConfig;
  readonly connection: StreamConnection;
  readonly input: string;
  readonly output: string;
  readonly deadLetter: string;
  readonly group: string;
  /** Unique name of this worker in the consumer group. */
  readonly consumer: string;
  /** Most messages in one scoring batch (one unit of work, committed as one). */
  readonly batchSize: number;
  /** Batches scored at once (read ahead while others are scored; Kafka: partitions consumed at once). */
  readonly maxInFlight: number;
  /** Longest one read waits for new messages (also how long a stop may wait for a read). */
  readonly readBlockMs: number;
  /** Redis: a batch unacknowledged this long is presumed abandoned by a dead worker and claimed. */
  readonly claimIdleMs: number;
  /** How often to look for abandoned batches and read the lag. */
  readonly claimIntervalMs: number;
  /** A batch delivered more often than this goes to the dead-letter topic whole. */
  readonly maxDeliveries: number;
}

export interface StreamWorkerFlags extends ServeFlags {
  readonly transport?: string;
  readonly input?: string;
  readonly output?: string;
  readonly deadLetter?: string;
  readonly group?: string;
  readonly redis?: string;
  readonly bootstrap?: string;
}

export function readStreamWorkerConfig(env: Readonly<Record<string, string | undefined>>, flags: StreamWorkerFlags = {}): StreamWorkerConfig {
  const server = readServerConfig(env, flags);
  const problems: string[] = [];
  const int = wholeNumberReader(env, problems);
  const defaults = defaultTopics(server.modelName);
  const topic = (flag: string, name: string, given: string | undefined, fallback: string): string => {
    const value = given?.trim() || env[name]?.trim() || fallback;
    if (!TOPIC_PATTERN.test(value)) problems.push(`${flag} / ${name}=${JSON.stringify(value)}: must be a topic name (letters, digits and "._-", at most 249 characters)`);
    return value;
  };
  const transport = flags.transport?.trim() || env.MODELFLEET_STREAM_TRANSPORT?.trim() || STREAM_DEFAULTS.transport;
  if (transport !== 'redis' && transport !== 'kafka') {
    throw new UserError('STREAM_CONFIG_INVALID', `the stream transport ${JSON.stringify(transport)} is not redis or kafka`, 'Pass --transport redis|kafka, or set MODELFLEET_STREAM_TRANSPORT.');
  }
  const connection: StreamConnection = transport === 'kafka'
    ? { transport, kafka: kafkaSettingsFrom(env, flags.bootstrap) }
    : { transport, redis: redisSettingsFrom(env, flags.redis) };
  const config: StreamWorkerConfig = {
    server,
    connection,
    input: topic('--input', 'MODELFLEET_STREAM_INPUT', flags.input, defaults.input),
    output: topic('--output', 'MODELFLEET_STREAM_OUTPUT', flags.output, defaults.output),
    deadLetter: topic('--dead-letter', 'MODELFLEET_STREAM_DEAD_LETTER', flags.deadLetter, defaults.deadLetter),
    group: topic('--group', 'MODELFLEET_STREAM_GROUP', flags.group, defaults.group),
    consumer: env.MODELFLEET_WORKER_NAME?.trim() || `${hostname()}-${process.pid}`,
    batchSize: int('MODELFLEET_STREAM_BATCH_SIZE', STREAM_DEFAULTS.batchSize, 1, 10_000),
    maxInFlight: int('MODELFLEET_STREAM_MAX_IN_FLIGHT', WORKER_DEFAULTS.MAX_IN_FLIGHT, 1, 256),
    readBlockMs: int('MODELFLEET_STREAM_READ_BLOCK_MS', WORKER_DEFAULTS.READ_BLOCK_MS, 10, 60_000),
    claimIdleMs: int('MODELFLEET_STREAM_CLAIM_IDLE_MS', WORKER_DEFAULTS.CLAIM_IDLE_MS, 100, 86_400_000),
    claimIntervalMs: int('MODELFLEET_STREAM_CLAIM_INTERVAL_MS', WORKER_DEFAULTS.CLAIM_INTERVAL_MS, 50, 3_600_000),
    maxDeliveries: int('MODELFLEET_STREAM_MAX_DELIVERIES', WORKER_DEFAULTS.MAX_DELIVERIES, 1, 1_000),
  };
  const topics = [config.input, config.output, config.deadLetter];
  if (new Set(topics).size !== topics.length) problems.push(`the input (${config.input}), output (${config.output}) and dead-letter (${config.deadLetter}) topics must differ, or the worker reads its own output`);
  if (problems.length > 0) throw new UserError('STREAM_CONFIG_INVALID', `stream worker settings: ${problems.join('; ')}`);
  return Object.freeze(config);
}
