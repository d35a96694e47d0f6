import type { DockerSeam } from '../seams/docker.js';
import { registryTargetFor } from './registry-target.js';
import { tagOf } from './ensure-image.js';

export type LocalImage =
  | { readonly kind: 'present'; readonly tag: string }
  | { readonly kind: 'pulled'; readonly tag: string; readonly from: string }
  /** `why` says where it was looked for, for the caller's error message. */
  | { readonly kind: 'missing'; readonly tag: string; readonly why: string };

/**
 * Makes the image `tag` (e.g. `modelfleet/m:0123456789ab`) present in this engine. A per-job
 * runner's engine starts empty (GitLab's Docker executor with Docker-in-Docker), so an image
 * built by another job is pulled from the registry under the same content tag and tagged back
 * to the local name that every later step uses.
 */
export async function pullMissingImage(docker: DockerSeam, tag: string, repository: string, env: NodeJS.ProcessEnv, log: (line: string) => void): Promise<LocalImage> {
  if (await docker.imageExists(tag)) return { kind: 'present', tag };
  const target = registryTargetFor(repository, tagOf(tag), env);
  if (!target) {
    return { kind: 'missing', tag, why: `${tag} is not in this Docker engine, and no registry is configured to pull it from (MODELFLEET_REGISTRY_IMAGE, or GitLab's CI_REGISTRY with its credentials)` };
  }
  log(`${tag} is not in this Docker engine; pulling ${target.reference}`);
  try {
    await docker.pullImage(target.reference, target.auth);
  } catch (err) {
    return { kind: 'missing', tag, why: `${tag} is not in this Docker engine, and pulling ${target.reference} failed: ${(err as Error).message.split('\n')[0] ?? ''}` };
  }
  await docker.tagImage(target.reference, tag);
  return { kind: 'pulled', tag, from: target.reference };
}
