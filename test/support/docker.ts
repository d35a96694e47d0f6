/**
 * Shared set-up for tests that need the real Docker engine. They fail, never skip, when no
 * engine answers: a green run must mean the Docker paths were exercised.
 */
import { openDocker, type DockerSeam } from '../../pipeline/seams/docker.js';

/** The base image model images build on in tests (`scripts/build-base-image.sh` makes it). */
export const baseImage: string = process.env.MODELFLEET_BASE_IMAGE ?? 'modelfleet/base:local';

/** Label every test container carries, so a test can remove what it started. */
export const TEST_LABEL = 'modelfleet.test';

/**
 * Returns the Docker seam, or throws with the fix when no engine answers. Call it in
 * `beforeAll`; the thrown error fails every test of the file with this message.
 */
export async function requireDocker(): Promise<DockerSeam> {
  const docker = await openDocker({ timeoutMs: 5_000 });
  if (!docker) {
    throw new Error(
      'No Docker engine answers (looked at DOCKER_HOST or /var/run/docker.sock). ' +
        'These tests need a real engine: run `bash scripts/setup-docker.sh` (installs docker.io and starts dockerd), then retry.',
    );
  }
  return docker;
}

/**
 * Like `requireDocker`, and also checks that the base image exists, so a missing
 * `scripts/build-base-image.sh` run fails with its fix instead of a pull error.
 */
export async function requireDockerWithBaseImage(): Promise<DockerSeam> {
  const docker = await requireDocker();
  if (!(await docker.imageExists(baseImage))) {
    throw new Error(
      `The base image ${baseImage} does not exist. Build it offline with \`bash scripts/build-base-image.sh\` ` +
        '(or set MODELFLEET_BASE_IMAGE to an image that holds node 20).',
    );
  }
  return docker;
}

/** A label value unique to one test run, for `removeContainersWithLabel` in `afterAll`. */
export function uniqueTestLabel(prefix: string): string {
  return `${prefix}-${process.pid}-${Date.now().toString(36)}`;
}
