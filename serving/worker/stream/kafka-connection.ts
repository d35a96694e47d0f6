import { Kafka, logLevel, type KafkaConfig, type LogEntry, type SASLOptions } from 'kafkajs';
import { UserError } from '../../../lib/errors/user-error.js';
import type { Logger } from '../../../lib/log.js';

/** Where the Kafka brokers are and how to log in. The password never appears in a message. */
export interface KafkaSettings {
  /** host:port of each bootstrap broker. */
  readonly brokers: readonly string[];
  readonly sasl: { readonly mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; readonly username: string; readonly password: string } | undefined;
  readonly tls: boolean;
  /** The consumer group's session timeout: a dead worker's partitions move on after this long. */
  readonly sessionTimeoutMs: number;
}

const MECHANISMS = ['plain', 'scram-sha-256', 'scram-sha-512'] as const;
const BROKER = /^[A-Za-z0-9.-]+:[0-9]{1,5}$|^\[[0-9A-Fa-f:]+\]:[0-9]{1,5}$/;
export const DEFAULT_SESSION_TIMEOUT_MS = 30_000;

/**
 * The flag wins, then KAFKA_BOOTSTRAP (host:port[,host:port…], the key `bootstrap` of the
 * stream's Secret in Kubernetes). KAFKA_USERNAME / KAFKA_PASSWORD (SASL, mechanism
 * KAFKA_SASL_MECHANISM, default scram-sha-512) and KAFKA_TLS=1 come from the environment only.
 */
export function kafkaSettingsFrom(env: Readonly<Record<string, string | undefined>>, flag?: string): KafkaSettings {
  const fix = 'Pass --bootstrap HOST:PORT, or set KAFKA_BOOTSTRAP=HOST:PORT[,HOST:PORT] (the key `bootstrap` of the stream\'s connection Secret).';
  const raw = flag?.trim() || env.KAFKA_BOOTSTRAP?.trim();
  if (!raw) throw new UserError('STREAM_CONNECTION_INVALID', 'the stream worker has no Kafka brokers to connect to', fix);
  const brokers = raw.split(',').map((b) => b.trim()).filter((b) => b !== '');
  const bad = brokers.find((b) => !BROKER.test(b));
  if (bad !== undefined || brokers.length === 0) throw new UserError('STREAM_CONNECTION_INVALID', `the Kafka bootstrap address ${JSON.stringify(bad ?? raw)} is not HOST:PORT`, fix);
  const username = env.KAFKA_USERNAME?.trim();
  const password = env.KAFKA_PASSWORD;
  const mechanism = (env.KAFKA_SASL_MECHANISM?.trim().toLowerCase() || 'scram-sha-512') as KafkaSettings['sasl'] extends infer S ? S extends { mechanism: infer M } ? M : never : never;
  if (!(MECHANISMS as readonly string[]).includes(mechanism)) {
    throw new UserError('STREAM_CONNECTION_INVALID', `KAFKA_SASL_MECHANISM=${JSON.stringify(env.KAFKA_SASL_MECHANISM)} is not one of ${MECHANISMS.join(', ')}`, 'Set KAFKA_SASL_MECHANISM to plain, scram-sha-256 or scram-sha-512.');
  }
  if ((username && !password) || (!username && password)) {
    throw new UserError('STREAM_CONNECTION_INVALID', 'Kafka SASL needs both KAFKA_USERNAME and KAFKA_PASSWORD, and only one is set', 'Put both keys, `username` and `password`, in the stream\'s connection Secret, or neither.');
  }
  const timeout = env.KAFKA_SESSION_TIMEOUT_MS?.trim();
  const sessionTimeoutMs = timeout ? Number(timeout) : DEFAULT_SESSION_TIMEOUT_MS;
  if (!Number.isInteger(sessionTimeoutMs) || sessionTimeoutMs < 1_000 || sessionTimeoutMs > 300_000) {
    throw new UserError('STREAM_CONNECTION_INVALID', `KAFKA_SESSION_TIMEOUT_MS=${JSON.stringify(timeout)}: expected a whole number of milliseconds from 1000 to 300000`, 'Leave it out for 30000, or set a whole number of milliseconds.');
  }
  return {
    brokers,
    sasl: username && password ? { mechanism, username, password } : undefined,
    tls: ['1', 'true', 'yes'].includes(env.KAFKA_TLS?.trim().toLowerCase() ?? ''),
    sessionTimeoutMs,
  };
}

/** A kafkajs client whose own log lines go to the worker's log (warnings and errors only). */
export function openKafka(settings: KafkaSettings, clientId: string, log: Logger): Kafka {
  const config: KafkaConfig = {
    clientId,
    brokers: [...settings.brokers],
    connectionTimeout: 5_000,
    requestTimeout: 30_000,
    ssl: settings.tls,
    ...(settings.sasl ? { sasl: { ...settings.sasl } as SASLOptions } : {}),
    logLevel: logLevel.WARN,
    logCreator: () => ({ level, log: entry }: LogEntry) => {
      const { message, timestamp: _timestamp, ...extra } = entry;
      if (level === logLevel.ERROR) log.error({ kafka: extra }, `kafka: ${message}`);
      else log.warn({ kafka: extra }, `kafka: ${message}`);
    },
  };
  return new Kafka(config);
}
