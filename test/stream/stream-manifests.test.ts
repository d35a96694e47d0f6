import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { isUserError } from '../../lib/errors/user-error.js';
import { validateScaledObject } from '../../pipeline/manifests/validate-scaled-object.js';
import { renderModelManifests } from '../../pipeline/manifests/render-model-manifests.js';
import { renderStreamManifests } from '../../pipeline/stream/render-stream-manifests.js';
import type { StreamSettings } from '../../generator/fleet/types.js';
import { deployable, fixedSizing, modelSpec } from '../manifests/fixtures.js';

const goldenDir = join(dirname(fileURLToPath(import.meta.url)), 'golden');
const options = { namespace: 'models-production', image: 'modelfleet/match-taxi-berlin:0123456789ab', imagePullSecrets: ['registry-credentials'] };
const KAFKA: StreamSettings = {
  transport: 'kafka', input: 'rides.requests', output: 'rides.scores', deadLetter: 'rides.requests.bad', group: 'modelfleet.match-taxi-berlin',
  batchSize: 256, maxReplicas: 4, lagPerReplica: 1000, connectionSecret: 'kafka-credentials',
};
const REDIS: StreamSettings = { ...KAFKA, transport: 'redis', connectionSecret: 'modelfleet-redis' };

/** Compares with test/stream/golden/<file>; `UPDATE_GOLDEN=1` rewrites it instead. */
function expectGolden(file: string, text: string): void {
  if (process.env.UPDATE_GOLDEN === '1') {
    mkdirSync(goldenDir, { recursive: true });
    writeFileSync(join(goldenDir, file), text);
  }
  expect(text, `test/stream/golden/${file} is stale: refresh with UPDATE_GOLDEN=1`).toBe(readFileSync(join(goldenDir, file), 'utf8'));
}

type Obj = Record<string, unknown>;
const at = (obj: unknown, ...path: (string | number)[]): unknown => path.reduce<unknown>((o, k) => (o as Record<string | number, unknown> | undefined)?.[k], obj);

describe('stream worker manifests', () => {
  it('match the golden files for Kafka and for Redis Streams', () => {
    for (const [label, stream] of [['kafka', KAFKA], ['redis', REDIS]] as const) {
      const manifests = renderStreamManifests(deployable(modelSpec({ stream })), fixedSizing(), options);
      expect(manifests.map((m) => `${m.kind} ${m.file}`)).toEqual(['Deployment stream-deployment.yaml', 'ScaledObject stream-scaled-object.yaml']);
      for (const m of manifests) expectGolden(`${label}-${m.file}`, m.yaml);
    }
  });

  it('scale the model\'s own image from zero on the Kafka group\'s lag, up to stream.maxReplicas, the connection from the Secret', () => {
    const [deployment, scaled] = renderStreamManifests(deployable(modelSpec({ stream: KAFKA })), fixedSizing(), options).map((m) => m.object as Obj);
    expect(at(scaled, 'spec', 'minReplicaCount')).toBe(0);
    expect(at(scaled, 'spec', 'maxReplicaCount')).toBe(4);
    expect(at(scaled, 'spec', 'scaleTargetRef', 'name')).toBe('match-taxi-berlin-stream');
    expect(at(scaled, 'spec', 'triggers', 0)).toEqual({
      type: 'kafka',
      metadata: { bootstrapServersFromEnv: 'KAFKA_BOOTSTRAP', consumerGroup: 'modelfleet.match-taxi-berlin', topic: 'rides.requests', lagThreshold: '1000', activationLagThreshold: '0', offsetResetPolicy: 'earliest', allowIdleConsumers: 'false' },
    });
    const container = at(deployment, 'spec', 'template', 'spec', 'containers', 0) as Obj;
    expect(container.args).toEqual(['node', '/app/bin/modelfleet.js', 'worker', '--model-dir', '/model', '--stream']);
    const env = container.env as Obj[];
    expect(env.find((e) => e.name === 'KAFKA_BOOTSTRAP')).toEqual({ name: 'KAFKA_BOOTSTRAP', valueFrom: { secretKeyRef: { name: 'kafka-credentials', key: 'bootstrap' } } });
    expect(env.find((e) => e.name === 'KAFKA_PASSWORD')).toEqual({ name: 'KAFKA_PASSWORD', valueFrom: { secretKeyRef: { name: 'kafka-credentials', key: 'password', optional: true } } });
    expect(Object.fromEntries(env.filter((e) => typeof e.value === 'string').map((e) => [e.name, e.value]))).toMatchObject({
      MODELFLEET_STREAM_TRANSPORT: 'kafka', MODELFLEET_STREAM_INPUT: 'rides.requests', MODELFLEET_STREAM_OUTPUT: 'rides.scores', MODELFLEET_STREAM_DEAD_LETTER: 'rides.requests.bad', MODELFLEET_STREAM_BATCH_SIZE: '256',
    });
  });

  it('use the redis-streams trigger for Redis, with the address and password from the Secret', () => {
    const [deployment, scaled] = renderStreamManifests(deployable(modelSpec({ stream: REDIS })), fixedSizing(), options).map((m) => m.object as Obj);
    expect(at(scaled, 'spec', 'triggers', 0)).toEqual({
      type: 'redis-streams',
      metadata: { addressFromEnv: 'REDIS_ADDRESS', passwordFromEnv: 'REDIS_PASSWORD', stream: 'rides.requests', consumerGroup: 'modelfleet.match-taxi-berlin', lagCount: '1000', activationLagCount: '0' },
    });
    const env = at(deployment, 'spec', 'template', 'spec', 'containers', 0, 'env') as Obj[];
    expect(env.find((e) => e.name === 'REDIS_ADDRESS')).toEqual({ name: 'REDIS_ADDRESS', valueFrom: { secretKeyRef: { name: 'modelfleet-redis', key: 'address' } } });
    expect(env.some((e) => String(e.name).startsWith('KAFKA_'))).toBe(false);
  });

  it('are not rendered without stream: nor for a shadow variant, and leave the model\'s own manifests as they were', () => {
    expect(renderStreamManifests(deployable(), fixedSizing(), options)).toEqual([]);
    expect(renderStreamManifests(deployable(modelSpec({ stream: KAFKA }), { id: 'next', deployName: 'match-taxi-berlin-next', shadow: true }), fixedSizing(), options)).toEqual([]);
    const plain = renderModelManifests(deployable(), fixedSizing(), options).map((m) => m.yaml);
    expect(renderModelManifests(deployable(modelSpec({ stream: KAFKA })), fixedSizing(), options).map((m) => m.yaml)).toEqual(plain);
  });

  it('refuse a ScaledObject that KEDA\'s schema rejects, pointing at stream:', () => {
    const [, scaled] = renderStreamManifests(deployable(modelSpec({ stream: KAFKA })), fixedSizing(), options);
    const broken = structuredClone(scaled?.object as Obj);
    (broken.spec as Obj).minReplicaCount = 'none';
    let error: unknown;
    try {
      validateScaledObject(broken, 'model "match-taxi-berlin" stream-scaled-object.yaml', 'stream');
    } catch (err) {
      error = err;
    }
    expect(isUserError(error) && error.code).toBe('MANIFEST_INVALID');
    expect(isUserError(error) && error.hint).toBe('Check the model\'s `stream:` values in models.yaml.');
  });
});
