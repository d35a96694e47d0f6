/**
 * The mark a successful model deploy leaves on its Deployment: which deploy inputs it runs.
 * `gateway:deploy` compares it with what this commit's models.yaml asks for, to route only to
 * variants whose own chain (build, test, deploy) went through, and keep a failed model on its
 * previous route (see gateway/merge-route-tables.ts).
 *
 * Why the deploy inputs and not the route settings: an A/B weight, route or sticky-header change
 * gives the child pipeline no model jobs at all (generator/plan/deployable-config.ts leaves them
 * out of the build config on purpose), so a mark of the route settings would never be updated
 * and the gateway would hold every re-weighted model back. The deploy inputs are exactly what
 * makes the generator give a variant its build/test/deploy jobs (its build config, and for a
 * model folder its files), so "the mark equals this commit's inputs" means "this variant's jobs
 * for this commit succeeded, or it had none to run".
 */
import { dirname, resolve } from 'node:path';
import { listDeployables } from '../../generator/fleet/find-deployable.js';
import type { Deployable, FleetSpec } from '../../generator/fleet/types.js';
import { digestOf } from '../../generator/plan/canonical-json.js';
import { toBuildConfig } from '../../generator/plan/deployable-config.js';
import { digestDirectory } from '../../lib/file-digest.js';
import type { KubeObject } from '../seams/kube.js';

/**
 * On the Deployment's metadata (not the pod template: changing it must not restart pods). It is
 * part of the manifests deployToKube hashes and records, so a new mark is applied even when
 * nothing else changed, and a rollback restores the previous version's mark with its manifests.
 */
export const DEPLOYED_CONFIG_ANNOTATION = 'modelfleet.io/deployed-config';

/**
 * Pure: the mark for a deployable, from its build config and (for a model folder) the digest of
 * its files (`digestDirectory`). A registry model is pinned by its version in the build config;
 * a bring-your-own image by its reference.
 */
export function computeDeployedConfig(deployable: Deployable, artifactDigest: string | undefined): string {
  return digestOf({ build: toBuildConfig(deployable), artifact: artifactDigest ?? null }).slice(0, 16);
}

/** The mark for a deployable of this fleet: reads the model folder's files for a `path:` source. Throws when they cannot be read. */
export async function deployedConfigOf(fleet: FleetSpec, deployable: Deployable): Promise<string> {
  const source = deployable.variant.source;
  const artifact = source.kind === 'path' ? await digestDirectory(resolve(dirname(fleet.file), source.path)) : undefined;
  return computeDeployedConfig(deployable, artifact);
}

/**
 * The mark every deployable of the fleet should carry, by deployName; an Error where its model
 * folder cannot be read. A folder several variants share is read once.
 */
export async function deployedConfigsOf(fleet: FleetSpec): Promise<Map<string, string | Error>> {
  const artifacts = new Map<string, Promise<string>>();
  const marks = new Map<string, string | Error>();
  for (const deployable of listDeployables(fleet)) {
    const source = deployable.variant.source;
    try {
      let artifact: string | undefined;
      if (source.kind === 'path') {
        const dir = resolve(dirname(fleet.file), source.path);
        const pending = artifacts.get(dir) ?? digestDirectory(dir);
        artifacts.set(dir, pending);
        artifact = await pending;
      }
      marks.set(deployable.variant.deployName, computeDeployedConfig(deployable, artifact));
    } catch (err) {
      marks.set(deployable.variant.deployName, err instanceof Error ? err : new Error(String(err)));
    }
  }
  return marks;
}

/** Pure: copies of the manifests with the mark on the Deployment's metadata. */
export function withDeployedConfig(objects: readonly KubeObject[], mark: string): KubeObject[] {
  return objects.map((object) => {
    if (object.kind !== 'Deployment') return object;
    const copy = structuredClone(object);
    copy.metadata.annotations = { ...(copy.metadata.annotations ?? {}), [DEPLOYED_CONFIG_ANNOTATION]: mark };
    return copy;
  });
}

/** What `deploy --model` applies: the rendered manifests, marked with the deployable's deploy inputs. */
export async function markDeployedConfig(fleet: FleetSpec, deployable: Deployable, objects: readonly KubeObject[]): Promise<KubeObject[]> {
  return withDeployedConfig(objects, await deployedConfigOf(fleet, deployable));
}

/** The mark on a live Deployment; undefined when it has none (deployed by a modelfleet older than the mark). */
export function readDeployedConfig(deployment: KubeObject): string | undefined {
  return deployment.metadata.annotations?.[DEPLOYED_CONFIG_ANNOTATION];
}
