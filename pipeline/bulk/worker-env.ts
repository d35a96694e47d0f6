import type { BulkSettings, Deployable } from '../../generator/fleet/types.js';
import { batchingEnv } from '../manifests/render-model-manifests.js';

/**
 * The environment of `modelfleet worker` for one deployable, the same on Kubernetes and on the
 * local target: the model server's batching settings (the worker scores through the same batcher)
 * and the queue settings from models.yaml `bulk:`. Where Redis is and its password come on top
 * (a Secret in Kubernetes, the local redis-server's URL locally).
 */
export function workerEnv(deployable: Deployable, bulk: BulkSettings): { name: string; value: string }[] {
  return [
    { name: 'MODEL_NAME', value: deployable.variant.deployName },
    ...batchingEnv(deployable),
    { name: 'MODELFLEET_BULK_CLAIM_IDLE_MS', value: String(bulk.claimIdleSeconds * 1000) },
    { name: 'MODELFLEET_BULK_MAX_DELIVERIES', value: String(bulk.maxDeliveries) },
    { name: 'LOG_LEVEL', value: 'info' },
    { name: 'ORT_DISABLE_TELEMETRY', value: '1' },
  ];
}
