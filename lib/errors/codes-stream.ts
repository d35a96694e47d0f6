import type { ErrorCodeInfo } from './error-code-info.js';

/** Errors of streaming predictions: `modelfleet worker --stream`. */
export const streamErrors = {
  STREAM_NOT_ENABLED: {
    summary: 'The model named by `stream send` or `stream tail` has no `stream:` block in models.yaml.',
    fix: 'Add `stream: { transport: redis }` (or kafka) to the model in models.yaml (docs/streaming.md), or name a model that has one.',
  },
  STREAM_INPUT_INVALID: {
    summary: 'The input file of `stream send` cannot be read.',
    fix: 'Pass a JSON Lines file: one JSON row per line (an object of the signature\'s columns), blank lines skipped.',
  },
  STREAM_CONNECTION_INVALID: {
    summary: 'The stream worker\'s broker connection (Kafka bootstrap servers, SASL credentials, Redis address) is missing or malformed.',
    fix: 'Set KAFKA_BOOTSTRAP=HOST:PORT (and KAFKA_USERNAME / KAFKA_PASSWORD together) for Kafka, or REDIS_URL for Redis; in Kubernetes they come from the Secret named by stream.connectionSecret (docs/streaming.md).',
  },
  STREAM_CONFIG_INVALID: {
    summary: 'A setting of `modelfleet worker --stream` (a flag or a MODELFLEET_STREAM_* variable) has an invalid value.',
    fix: 'See docs/streaming.md for every MODELFLEET_STREAM_* variable, its range and default.',
  },
} as const satisfies Record<string, ErrorCodeInfo>;
