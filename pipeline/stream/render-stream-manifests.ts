import type { Deployable, StreamSettings } from '../../generator/fleet/types.js';
import { toLabelValue } from '../../lib/names.js';
import { WORKER_ARGS, validateScaledObject } from '../bulk/render-bulk-manifests.js';
import { renderK8sTemplate } from '../manifests/render-k8s-template.js';
import {
  batchingEnv,
  buildManifestValues,
  dumpManifest,
  MODEL_SERVER_PORT,
  secretEnvVars,
  type ContainerEnvVar,
  type ManifestOptions,
  type RenderedManifest,
} from '../manifests/render-model-manifests.js';
import { validateManifest } from '../manifests/validate-manifest.js';
import type { Sizing } from '../sizing/sizing-policy.js';

/** The stream worker's objects are named `<deployName>-stream` (as long as the bulk worker's suffix, within the name budget). */
export const STREAM_SUFFIX = '-stream';

export const STREAM_COMPONENT = 'stream-worker';

export const STREAM_MANIFEST_FILES = ['stream-deployment.yaml', 'stream-scaled-object.yaml'] as const;

/** A SIGTERMed stream worker publishes and commits the batches in hand (milliseconds each) well within this. */
const TERMINATION_GRACE_SECONDS = 60;

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
  const base = buildManifestValues(deployable, sizing, options);
  const name = `${deployable.variant.deployName}${STREAM_SUFFIX}`;
  // Different selector labels from the model server's and the bulk worker's: no Service or budget picks these pods.
  const selectorLabels = { 'app.kubernetes.io/name': toLabelValue(deployable.variant.deployName), 'app.kubernetes.io/instance': toLabelValue(name) };
  const labels = { ...base.labels, ...selectorLabels, 'app.kubernetes.io/component': STREAM_COMPONENT };
  const secret = (key: string, optional: boolean): { valueFrom: { secretKeyRef: { name: string; key: string; optional?: boolean } } } =>
    ({ valueFrom: { secretKeyRef: { name: stream.connectionSecret, key, ...(optional ? { optional: true } : {}) } } });
  const connection: ContainerEnvVar[] = stream.transport === 'kafka'
    ? [
      { name: 'KAFKA_BOOTSTRAP', ...secret('bootstrap', false) },
      { name: 'KAFKA_USERNAME', ...secret('username', true) },
      { name: 'KAFKA_PASSWORD', ...secret('password', true) },
      { name: 'KAFKA_SASL_MECHANISM', ...secret('sasl-mechanism', true) },
      { name: 'KAFKA_TLS', ...secret('tls', true) },
    ]
    : [
      { name: 'REDIS_ADDRESS', ...secret('address', false) },
      { name: 'REDIS_PASSWORD', ...secret('password', true) },
    ];
  const env: ContainerEnvVar[] = [
    { name: 'HOST', value: '0.0.0.0' },
    { name: 'PORT', value: String(MODEL_SERVER_PORT) },
    ...streamWorkerEnv(deployable, stream),
    ...connection,
    ...secretEnvVars(deployable),
  ];
  const values = {
    ...base,
    name,
    labels,
    selectorLabels,
    env,
    args: [...WORKER_ARGS, '--stream'],
    port: MODEL_SERVER_PORT,
    terminationGracePeriodSeconds: TERMINATION_GRACE_SECONDS,
    maxReplicas: stream.maxReplicas,
    cooldownSeconds: COOLDOWN_SECONDS,
    kafka: stream.transport === 'kafka',
    input: stream.input,
    group: stream.group,
    lagThreshold: String(stream.lagPerReplica),
  };
  const where = (file: string) => `model ${JSON.stringify(deployable.variant.deployName)} ${file}`;
  // The bulk worker's Deployment template: the same pod, another command line and environment.
  const deployment = renderK8sTemplate('bulk', 'worker-deployment.yaml.hbs', values);
  validateManifest(deployment, where(STREAM_MANIFEST_FILES[0]));
  const scaledObject = renderK8sTemplate('stream', 'scaled-object.yaml.hbs', values);
  validateScaledObject(scaledObject, where(STREAM_MANIFEST_FILES[1]), 'stream');
  return [
    { file: STREAM_MANIFEST_FILES[0], kind: 'Deployment', object: deployment, yaml: dumpManifest(deployment) },
    { file: STREAM_MANIFEST_FILES[1], kind: 'ScaledObject', object: scaledObject, yaml: dumpManifest(scaledObject) },
  ];
}
