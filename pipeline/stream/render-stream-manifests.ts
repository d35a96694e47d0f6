import type { Deployable, StreamSettings } from '../../generator/fleet/types.js';
import { batchingEnv, type ManifestOptions, type RenderedManifest } from '../manifests/render-model-manifests.js';
import { renderWorkerManifests, WORKER_ARGS } from '../manifests/render-worker-manifests.js';
import type { Sizing } from '../sizing/sizing-policy.js';

/** The stream worker's objects are named `<deployName>-stream` (as long as the bulk worker's suffix, within the name budget). */
export const STREAM_SUFFIX = '-stream';

export const STREAM_COMPONENT = 'stream-worker';

export const STREAM_MANIFEST_FILES = ['stream-deployment.yaml', 'stream-scaled-object.yaml'] as const;

/** Replicas stay this long after the lag is gone: a steady trickle of messages should not start a pod for each. */
const COOLDOWN_SECONDS = 300;

/**
 * The environment of `modelfleet worker --stream` for one deployable: the model server's batching
 * settings (the worker scores through the same batcher) and the stream settings from models.yaml.
 */
export function streamWorkerEnv(deployable: Deployable, stream: StreamSettings): { name: string; value: string }[] {
  return [
    { name: 'MODEL_NAME', value: deployable.variant.deployName },
    ...batchingEnv(deployable),
    { name: 'MODELFLEET_STREAM_TRANSPORT', value: stream.transport },
    { name: 'MODELFLEET_STREAM_INPUT', value: stream.input },
    { name: 'MODELFLEET_STREAM_OUTPUT', value: stream.output },
    { name: 'MODELFLEET_STREAM_DEAD_LETTER', value: stream.deadLetter },
    { name: 'MODELFLEET_STREAM_GROUP', value: stream.group },
    { name: 'MODELFLEET_STREAM_BATCH_SIZE', value: String(stream.batchSize) },
    { name: 'LOG_LEVEL', value: 'info' },
    { name: 'ORT_DISABLE_TELEMETRY', value: '1' },
  ];
}

/**
 * A streaming model's worker Deployment (the model's image, `modelfleet worker --stream`, the broker
 * connection from the Secret stream.connectionSecret) and its KEDA ScaledObject (`kafka` or
 * `redis-streams` trigger on the consumer group's lag, 0 → stream.maxReplicas). Empty for a model
 * without `stream:` and for shadow variants (a stream is scored by the model's main version). Both
 * are validated: the Deployment against Kubernetes' schema, the ScaledObject against KEDA's.
 */
export function renderStreamManifests(deployable: Deployable, sizing: Pick<Sizing, 'resources'>, options: ManifestOptions): RenderedManifest[] {
  const stream = deployable.model.stream;
  if (!stream || deployable.variant.shadow) return [];
  return renderWorkerManifests(deployable, sizing, options, {
    block: 'stream',
    suffix: STREAM_SUFFIX,
    component: STREAM_COMPONENT,
    args: [...WORKER_ARGS, '--stream'],
    settingsEnv: streamWorkerEnv(deployable, stream),
    connectionSecret: stream.connectionSecret,
    connection: stream.transport === 'kafka'
      ? [['KAFKA_BOOTSTRAP', 'bootstrap', false], ['KAFKA_USERNAME', 'username', true], ['KAFKA_PASSWORD', 'password', true], ['KAFKA_SASL_MECHANISM', 'sasl-mechanism', true], ['KAFKA_TLS', 'tls', true]]
      : [['REDIS_ADDRESS', 'address', false], ['REDIS_PASSWORD', 'password', true]],
    maxReplicas: stream.maxReplicas,
    cooldownSeconds: COOLDOWN_SECONDS,
    trigger: { kafka: stream.transport === 'kafka', input: stream.input, group: stream.group, lagThreshold: String(stream.lagPerReplica) },
    files: STREAM_MANIFEST_FILES,
  });
}
