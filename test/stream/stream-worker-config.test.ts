import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { UserError } from '../../lib/errors/user-error.js';
import { kafkaSettingsFrom } from '../../serving/worker/stream/kafka-connection.js';
import { readStreamWorkerConfig } from '../../serving/worker/stream/stream-worker-config.js';
import { StreamWorkSource } from '../../serving/worker/stream/stream-work-source.js';
import type { StreamBatch, StreamTransport } from '../../serving/worker/stream/stream-transport.js';

const refusal = (run: () => unknown): UserError => {
  try {
    run();
  } catch (err) {
    if (err instanceof UserError) return err;
    throw err;
  }
  throw new Error('expected a UserError');
};

describe('readStreamWorkerConfig', () => {
  it('names the topics after the model and talks to the local Redis unless told otherwise', () => {
    const config = readStreamWorkerConfig({ MODEL_DIR: '/m', MODEL_NAME: 'match-trees' });
    expect(config).toMatchObject({
      connection: { transport: 'redis', redis: { url: 'redis://127.0.0.1:6379' } },
      input: 'modelfleet.match-trees.inputs', output: 'modelfleet.match-trees.outputs', deadLetter: 'modelfleet.match-trees.dead-letter', group: 'modelfleet.match-trees',
      batchSize: 256, maxInFlight: 4, maxDeliveries: 5,
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('lets flags win over MODELFLEET_STREAM_* variables', () => {
    const config = readStreamWorkerConfig(
      { MODEL_DIR: '/m', MODELFLEET_STREAM_TRANSPORT: 'redis', MODELFLEET_STREAM_INPUT: 'a', KAFKA_BOOTSTRAP: 'broker:9092', MODELFLEET_STREAM_BATCH_SIZE: '10' },
      { transport: 'kafka', input: 'b', bootstrap: 'k1:9092,k2:9093' },
    );
    expect(config).toMatchObject({ connection: { transport: 'kafka', kafka: { brokers: ['k1:9092', 'k2:9093'], sasl: undefined, tls: false, sessionTimeoutMs: 30_000 } }, input: 'b', batchSize: 10 });
  });

  it('lists every bad value in one STREAM_CONFIG_INVALID error', () => {
    const error = refusal(() => readStreamWorkerConfig({ MODEL_DIR: '/m', MODELFLEET_STREAM_BATCH_SIZE: '0', MODELFLEET_STREAM_OUTPUT: 'a b', MODELFLEET_STREAM_DEAD_LETTER: 'modelfleet.m.inputs' }));
    expect(error.code).toBe('STREAM_CONFIG_INVALID');
    expect(error.message).toMatch(/MODELFLEET_STREAM_BATCH_SIZE="0": expected a whole number from 1 to 10000/);
    expect(error.message).toMatch(/--output \/ MODELFLEET_STREAM_OUTPUT="a b": must be a topic name/);
    expect(error.message).toMatch(/topics must differ, or the worker reads its own output/);
    expect(refusal(() => readStreamWorkerConfig({ MODEL_DIR: '/m' }, { transport: 'nats' })).hint).toMatch(/--transport redis\|kafka/);
  });

  it('needs Kafka brokers as HOST:PORT, and SASL username and password together', () => {
    expect(refusal(() => kafkaSettingsFrom({})).message).toMatch(/no Kafka brokers/);
    expect(refusal(() => kafkaSettingsFrom({ KAFKA_BOOTSTRAP: 'broker' })).message).toMatch(/"broker" is not HOST:PORT/);
    expect(refusal(() => kafkaSettingsFrom({ KAFKA_BOOTSTRAP: 'b:9092', KAFKA_USERNAME: 'me' })).message).toMatch(/needs both KAFKA_USERNAME and KAFKA_PASSWORD/);
    expect(refusal(() => kafkaSettingsFrom({ KAFKA_BOOTSTRAP: 'b:9092', KAFKA_SASL_MECHANISM: 'gssapi' })).code).toBe('STREAM_CONNECTION_INVALID');
    const settings = kafkaSettingsFrom({ KAFKA_BOOTSTRAP: ' b:9092 , [::1]:9093 ', KAFKA_USERNAME: 'me', KAFKA_PASSWORD: 'secret', KAFKA_TLS: 'true', KAFKA_SESSION_TIMEOUT_MS: '6000' });
    expect(settings).toEqual({ brokers: ['b:9092', '[::1]:9093'], sasl: { mechanism: 'scram-sha-512', username: 'me', password: 'secret' }, tls: true, sessionTimeoutMs: 6000 });
    // The password never reaches a message.
    expect(refusal(() => kafkaSettingsFrom({ KAFKA_BOOTSTRAP: 'b', KAFKA_PASSWORD: 'hunter2' })).message).not.toMatch(/hunter2/);
  });
});

describe('StreamWorkSource', () => {
  const transport: StreamTransport = {
    description: 'test', connected: true, start: async () => {}, fetch: async () => [], recover: async () => [], publishAndCommit: async () => {},
    release: async () => {}, backlog: async () => ({ waiting: 0, inProgress: 0 }), interruptReads: () => {}, close: async () => {},
  };

  it('scores every message that is JSON, one line each whatever its layout, and refuses the rest with a reason', async () => {
    const source = new StreamWorkSource(transport, { model: 'm', version: 'v', digest: 'sha256:0' });
    await fc.assert(fc.asyncProperty(fc.array(fc.oneof(fc.json(), fc.string(), fc.constant(null), fc.jsonValue().map((v) => JSON.stringify(v, null, 2)))), async (values) => {
      const batch: StreamBatch = { id: 'b', deliveries: 1, lastFailure: undefined, messages: values.map((value, i) => ({ key: `k${i}`, value, position: String(i) })) };
      const work = await source.input(batch);
      if (work.kind !== 'score') throw new Error('expected work to score');
      const parses = values.filter((v) => v !== null && v.trim() !== '' && (() => { try { JSON.parse(v); return true; } catch { return false; } })());
      expect(work.input.rows).toBe(parses.length);
      const lines = work.input.text === '' ? [] : work.input.text.slice(0, -1).split('\n');
      expect(lines).toHaveLength(parses.length);
      lines.forEach((line, i) => expect(JSON.parse(line)).toEqual(JSON.parse(parses[i] as string)));
    }));
  });
});
