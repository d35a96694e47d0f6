import { ScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject';
import type { Deployable } from '../../generator/fleet/types.js';
import { UserError } from '../../lib/errors/user-error.js';
import { toLabelValue } from '../../lib/names.js';
import { chunkStreamKey, WORKER_GROUP } from '../../serving/worker/bulk-protocol.js';
import { renderK8sTemplate } from '../manifests/render-k8s-template.js';
import {
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
import { workerEnv } from './worker-env.js';

/** The worker's objects are named `<deployName>-worker` (the suffix fits the name budget of fleet-limits.ts). */
export const WORKER_SUFFIX = '-worker';

/** What the model image runs in worker mode (its CMD is `serve`). */
export const WORKER_ARGS = ['node', '/app/bin/modelfleet.js', 'worker', '--model-dir', '/model'] as const;

/** A SIGTERMed worker answers the chunks in hand (milliseconds each) well within this. */
const TERMINATION_GRACE_SECONDS = 60;

export const BULK_MANIFEST_FILES = ['worker-deployment.yaml', 'worker-scaled-object.yaml'] as const;

/**
 * A bulk-enabled deployable's worker Deployment (the model's image, `modelfleet worker`, Redis
 * address and password from the Secret bulk.redisSecret) and its KEDA ScaledObject (redis-streams
 * lag trigger, 0 → bulk.maxWorkers). Empty for a deployable without `bulk: { enabled: true }`, so
 * nothing changes for other models. Both are validated: the Deployment against Kubernetes' schema,
 * the ScaledObject against KEDA's CRD schema (@kubernetes-models/keda).
 */
export function renderBulkManifests(deployable: Deployable, sizing: Pick<Sizing, 'resources'>, options: ManifestOptions): RenderedManifest[] {
  const bulk = deployable.model.bulk;
  if (!bulk?.enabled) return [];
  const base = buildManifestValues(deployable, sizing, options);
  const name = `${deployable.variant.deployName}${WORKER_SUFFIX}`;
  // Different selector labels from the model server's, so its Service and PodDisruptionBudget never pick workers.
  const selectorLabels = { 'app.kubernetes.io/name': toLabelValue(deployable.variant.deployName), 'app.kubernetes.io/instance': toLabelValue(name) };
  const labels = { ...base.labels, ...selectorLabels, 'app.kubernetes.io/component': 'bulk-worker' };
  const secret = (key: string, optional: boolean): { valueFrom: { secretKeyRef: { name: string; key: string; optional?: boolean } } } =>
    ({ valueFrom: { secretKeyRef: { name: bulk.redisSecret, key, ...(optional ? { optional: true } : {}) } } });
  const env: ContainerEnvVar[] = [
    { name: 'HOST', value: '0.0.0.0' },
    { name: 'PORT', value: String(MODEL_SERVER_PORT) },
    ...workerEnv(deployable, bulk),
    { name: 'REDIS_ADDRESS', ...secret('address', false) },
    { name: 'REDIS_PASSWORD', ...secret('password', true) },
    ...secretEnvVars(deployable),
  ];
  const values = {
    ...base,
    name,
    labels,
    selectorLabels,
    env,
    args: WORKER_ARGS,
    port: MODEL_SERVER_PORT,
    terminationGracePeriodSeconds: TERMINATION_GRACE_SECONDS,
    maxReplicas: bulk.maxWorkers,
    cooldownSeconds: bulk.cooldownSeconds,
    stream: chunkStreamKey(deployable.variant.deployName),
    consumerGroup: WORKER_GROUP,
    lagCount: String(bulk.lagPerWorker),
  };
  const where = (file: string) => `model ${JSON.stringify(deployable.variant.deployName)} ${file}`;
  const deployment = renderK8sTemplate('bulk', 'worker-deployment.yaml.hbs', values);
  validateManifest(deployment, where(BULK_MANIFEST_FILES[0]));
  const scaledObject = renderK8sTemplate('bulk', 'scaled-object.yaml.hbs', values);
  validateScaledObject(scaledObject, where(BULK_MANIFEST_FILES[1]));
  return [
    { file: BULK_MANIFEST_FILES[0], kind: 'Deployment', object: deployment, yaml: dumpManifest(deployment) },
    { file: BULK_MANIFEST_FILES[1], kind: 'ScaledObject', object: scaledObject, yaml: dumpManifest(scaledObject) },
  ];
}

/** Checks a ScaledObject against KEDA's CRD schema (the OpenAPI schema @kubernetes-models/keda ships). */
export function validateScaledObject(object: Readonly<Record<string, unknown>>, where: string, block: 'bulk' | 'stream' = 'bulk'): void {
  try {
    new ScaledObject(structuredClone(object) as never).validate();
  } catch (err) {
    const issues = (err as { errors?: ReadonlyArray<{ instancePath?: string; message?: string }> }).errors;
    const problems = Array.isArray(issues) && issues.length > 0 ? issues.map((i) => `${i.instancePath || '/'}: ${i.message ?? 'invalid'}`) : [(err as Error).message];
    throw new UserError('MANIFEST_INVALID', `${where}: the keda.sh/v1alpha1/ScaledObject does not pass KEDA's schema:\n  - ${problems.slice(0, 5).join('\n  - ')}`,
      `Check the model's \`${block}:\` values in models.yaml.`, { cause: err });
  }
}
