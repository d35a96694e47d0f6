/**
 * Base image of the model and gateway images unless MODELFLEET_BASE_IMAGE (the BASE_IMAGE
 * build argument) says otherwise: what a CI runner with registry access pulls.
 */
export const DEFAULT_BASE_IMAGE = 'node:20-bookworm-slim';

/**
 * What `scripts/build-base-image.sh` builds from this machine's own `node`, for machines that
 * reach no public registry; `modelfleet up` uses it when MODELFLEET_BASE_IMAGE is unset.
 */
export const OFFLINE_BASE_IMAGE = 'modelfleet/base:local';

export function baseImageFrom(env: NodeJS.ProcessEnv, fallback: string = DEFAULT_BASE_IMAGE): string {
  return env.MODELFLEET_BASE_IMAGE?.trim() || fallback;
}
