import { deployableInEnvironment } from '../fleet/find-environment.js';
import type { Deployable, FleetSpec } from '../fleet/types.js';
import { imageKeyOf, type ImagePin, type PinnedImages } from '../../pipeline/build/pinned-images.js';

/** The image contents a deployable's jobs carry: every image on build and test, its environment's on each deploy. */
export interface DeployableImagePins {
  readonly buildAndTest: readonly ImagePin[];
  readonly deploys: ReadonlyMap<string, readonly ImagePin[]>;
}

/**
 * Per deploy name, which of the pinned contents each of its jobs carries. Pure; deployables
 * without a pinned content (bring-your-own images, or a generate told not to pin) carry none.
 */
export function imagePinsOnJobs(fleet: FleetSpec, deployables: readonly Deployable[], contents: PinnedImages): Map<string, DeployableImagePins> {
  const out = new Map<string, DeployableImagePins>();
  if (contents.size === 0) return out;
  for (const deployable of deployables) {
    const pinOf = (one: Deployable): ImagePin | undefined => {
      const key = imageKeyOf(one);
      const content = contents.get(key);
      return content === undefined ? undefined : { key, content };
    };
    const deploys = new Map<string, ImagePin[]>();
    const buildAndTest = new Map<string, ImagePin>();
    const own = pinOf(deployable);
    if (own) buildAndTest.set(own.key, own);
    for (const environment of fleet.environments) {
      const pin = pinOf(deployableInEnvironment(deployable, environment));
      if (!pin) continue;
      deploys.set(environment.name, [pin]);
      buildAndTest.set(pin.key, pin);
    }
    if (buildAndTest.size > 0) out.set(deployable.variant.deployName, { buildAndTest: [...buildAndTest.values()], deploys });
  }
  return out;
}
