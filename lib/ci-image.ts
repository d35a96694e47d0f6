import { packageVersion } from './package-root.js';

/**
 * The CI image: Node, the modelfleet CLI on PATH and its production dependencies, so a job
 * starts working at once instead of running `npm ci` (docs/build.md, "The CI image").
 */
export const CI_IMAGE_REPOSITORY = 'modelfleet-ci';

/**
 * What the CI image is built on unless MODELFLEET_BASE_IMAGE says otherwise: GitLab's Docker
 * executor needs a shell in the job image, and change detection needs git; the full Node image
 * has both (the slim one has no git).
 */
export const DEFAULT_CI_BASE_IMAGE = 'node:20-bookworm';

/** Where the package sits inside the CI image. */
export const CI_IMAGE_INSTALL_DIR = '/opt/modelfleet';

/** What `modelfleet build --ci-image` tags on the engine: `modelfleet/ci:<version>`. */
export function localCiImage(version: string = packageVersion()): string {
  return `modelfleet/ci:${version}`;
}

/**
 * Where the generated jobs look for it unless told otherwise: the project's own container
 * registry, where `modelfleet build --ci-image --push` puts it in a GitLab job.
 */
export function defaultCiImage(version: string = packageVersion()): string {
  return `$CI_REGISTRY_IMAGE/${CI_IMAGE_REPOSITORY}:${version}`;
}
