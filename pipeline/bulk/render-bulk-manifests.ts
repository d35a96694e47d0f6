import type { Deployable } from '../../generator/fleet/types.js';
import { chunkStreamKey, WORKER_GROUP } from '../../serving/worker/bulk-protocol.js';
import type { ManifestOptions, RenderedManifest } from '../manifests/render-model-manifests.js';
import { renderWorkerManifests, WORKER_ARGS } from '../manifests/render-worker-manifests.js';
import type { Sizing } from '../sizing/sizing-policy.js';
import { workerEnv } from './worker-env.js';

/** The worker's objects are named `<deployName>-worker` (the suffix fits the name budget of fleet-limits.ts). */
export const WORKER_SUFFIX = '-worker';

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
  return renderWorkerManifests(deployable, sizing, options, {
    block: 'bulk',
    suffix: WORKER_SUFFIX,
    component: 'bulk-worker',
    args: WORKER_ARGS,
    settingsEnv: workerEnv(deployable, bulk),
    connectionSecret: bulk.redisSecret,
    connection: [['REDIS_ADDRESS', 'address', false], ['REDIS_PASSWORD', 'password', true]],
    maxReplicas: bulk.maxWorkers,
    cooldownSeconds: bulk.cooldownSeconds,
    trigger: { stream: chunkStreamKey(deployable.variant.deployName), consumerGroup: WORKER_GROUP, lagCount: String(bulk.lagPerWorker) },
    files: BULK_MANIFEST_FILES,
  });
}
