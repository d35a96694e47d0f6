import type { Deployable } from '../../generator/fleet/types.js';
import { renderBulkManifests } from '../bulk/render-bulk-manifests.js';
import type { Sizing } from '../sizing/sizing-policy.js';
import { renderStreamManifests } from '../stream/render-stream-manifests.js';
import { batchingEnv, renderModelManifests, type ManifestOptions, type RenderedManifest } from './render-model-manifests.js';

/**
 * Everything one deployable applies: its model server's objects, and a bulk or streaming model's
 * worker Deployments and KEDA ScaledObjects, which deploy (and roll back) with it.
 */
export function renderDeployableManifests(deployable: Deployable, sizing: Pick<Sizing, 'resources'>, options: ManifestOptions): RenderedManifest[] {
  return [
    ...renderModelManifests(deployable, sizing, options),
    ...renderBulkManifests(deployable, sizing, options),
    ...renderStreamManifests(deployable, sizing, options),
  ];
}

/** The model server's settings for a local instance (MODEL_NAME and batching); host and port are the instance's own. */
export function localServerEnv(deployable: Deployable): Record<string, string> {
  return Object.fromEntries([{ name: 'MODEL_NAME', value: deployable.variant.deployName }, ...batchingEnv(deployable)].map((e) => [e.name, e.value]));
}
