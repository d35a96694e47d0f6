import { basename } from 'node:path';
import { UserError } from '../../lib/errors/user-error.js';

/** Every setting of the model server, read once at start-up and frozen. docs/serving.md lists them. */
export interface ServerConfig {
  readonly modelDir: string;
  readonly port: number;
  readonly host: string;
  /** Name in /v2/models/{name} and in the x-model-name header; defaults to the model directory's name. */
  readonly modelName: string;
  /** Defaults to the first 12 hex digits of the artifact digest (resolved when the model is read). */
  readonly modelVersion: string | undefined;
  readonly batching: { readonly enabled: boolean; readonly maxBatchSize: number; readonly maxWaitMs: number };
  readonly maxRowsPerRequest: number;
  readonly maxBodyBytes: number;
  readonly intraOpThreads: number;
  /** Longest a graceful shutdown waits for in-flight requests before exiting anyway. */
  readonly shutdownTimeoutMs: number;
  /**
   * How long the server keeps answering after SIGTERM (readiness 503, `Connection: close` on every
   * response) before it closes the listener: time for Kubernetes to take the pod out of its Service
   * endpoints and for keep-alive clients to reconnect elsewhere.
   */
  readonly shutdownDelayMs: number;
}

export interface ServeFlags {
  readonly modelDir?: string;
  readonly port?: string | number;
  readonly host?: string;
}

export const CONFIG_DEFAULTS = {
  // Past a few dozen rows onnxruntime's per-call overhead is already amortized: merging bigger requests
  // gains no throughput (bench/serving) and only keeps more rows alive, raising peak memory.
  PORT: 8080,
  HOST: '127.0.0.1',
  BATCHING_ENABLED: true,
  MAX_BATCH_SIZE: 64,
  MAX_BATCH_WAIT_MS: 5,
  MAX_ROWS_PER_REQUEST: 1000,
  MAX_BODY_BYTES: 4 * 1024 * 1024,
  ORT_INTRA_OP_THREADS: 1,
  SHUTDOWN_TIMEOUT_MS: 30_000,
  SHUTDOWN_DELAY_MS: 1_000,
} as const;

/** Flags win over environment variables, which win over defaults. Collects every bad value. */
export function readServerConfig(env: Readonly<Record<string, string | undefined>>, flags: ServeFlags = {}): ServerConfig {
  const problems: string[] = [];
  const int = (name: string, raw: string | number | undefined, fallback: number, min: number, max: number): number => {
    if (raw === undefined || raw === '') return fallback;
    const value = typeof raw === 'number' ? raw : Number(raw.trim());
    if (!Number.isInteger(value) || value < min || value > max) {
      problems.push(`${name}=${JSON.stringify(String(raw))}: expected a whole number from ${min} to ${max}`);
      return fallback;
    }
    return value;
  };
  const bool = (name: string, raw: string | undefined, fallback: boolean): boolean => {
    if (raw === undefined || raw === '') return fallback;
    const v = raw.trim().toLowerCase();
    if (['true', '1', 'yes', 'on'].includes(v)) return true;
    if (['false', '0', 'no', 'off'].includes(v)) return false;
    problems.push(`${name}=${JSON.stringify(raw)}: expected true or false`);
    return fallback;
  };
  const modelDir = flags.modelDir ?? env.MODEL_DIR;
  if (modelDir === undefined || modelDir === '') problems.push('no model directory: pass --model-dir DIR or set MODEL_DIR');
  const host = flags.host ?? env.HOST ?? CONFIG_DEFAULTS.HOST;
  const config: ServerConfig = {
    modelDir: modelDir ?? '',
    port: int(flags.port !== undefined ? '--port' : 'PORT', flags.port ?? env.PORT, CONFIG_DEFAULTS.PORT, 0, 65535),
    host,
    modelName: env.MODEL_NAME || basename(modelDir ?? 'model') || 'model',
    modelVersion: env.MODEL_VERSION || undefined,
    batching: {
      enabled: bool('BATCHING_ENABLED', env.BATCHING_ENABLED, CONFIG_DEFAULTS.BATCHING_ENABLED),
      maxBatchSize: int('MAX_BATCH_SIZE', env.MAX_BATCH_SIZE, CONFIG_DEFAULTS.MAX_BATCH_SIZE, 1, 1_000_000),
      maxWaitMs: int('MAX_BATCH_WAIT_MS', env.MAX_BATCH_WAIT_MS, CONFIG_DEFAULTS.MAX_BATCH_WAIT_MS, 0, 60_000),
    },
    maxRowsPerRequest: int('MAX_ROWS_PER_REQUEST', env.MAX_ROWS_PER_REQUEST, CONFIG_DEFAULTS.MAX_ROWS_PER_REQUEST, 1, 10_000_000),
    maxBodyBytes: int('MAX_BODY_BYTES', env.MAX_BODY_BYTES, CONFIG_DEFAULTS.MAX_BODY_BYTES, 1024, 1024 * 1024 * 1024),
    intraOpThreads: int('ORT_INTRA_OP_THREADS', env.ORT_INTRA_OP_THREADS, CONFIG_DEFAULTS.ORT_INTRA_OP_THREADS, 1, 256),
    shutdownTimeoutMs: int('SHUTDOWN_TIMEOUT_MS', env.SHUTDOWN_TIMEOUT_MS, CONFIG_DEFAULTS.SHUTDOWN_TIMEOUT_MS, 0, 3_600_000),
    shutdownDelayMs: int('SHUTDOWN_DELAY_MS', env.SHUTDOWN_DELAY_MS, CONFIG_DEFAULTS.SHUTDOWN_DELAY_MS, 0, 600_000),
  };
  if (problems.length > 0) {
    throw new UserError('SERVER_CONFIG_INVALID', `model server settings: ${problems.join('; ')}`);
  }
  return Object.freeze(config);
}
