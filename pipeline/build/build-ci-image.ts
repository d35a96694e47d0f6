import { CI_IMAGE_REPOSITORY } from '../../lib/ci-image.js';
import { UserError } from '../../lib/errors/user-error.js';
import type { DockerSeam } from '../seams/docker.js';
import { runImageBuild } from './ensure-image.js';
import { CI_IMAGE_LABELS, prepareCiImageInputs, type PrepareCiImageInputsOptions } from './prepare-ci-image-inputs.js';
import { registryTargetFor } from './registry-target.js';
import { userErrorWithFix } from './user-error-with-fix.js';

export interface BuildCiImageOptions extends PrepareCiImageInputsOptions {
  readonly docker: DockerSeam | undefined;
  /** Push to `<registry image>/modelfleet-ci:<version>` (MODELFLEET_REGISTRY_IMAGE, or GitLab's registry in a job). */
  readonly push: boolean;
  readonly force?: boolean;
  readonly log?: (line: string) => void;
}

export interface BuildCiImageResult {
  readonly tag: string;
  readonly version: string;
  readonly outcome: 'built' | 'existing';
  /** Where it was pushed, with --push. */
  readonly reference: string | undefined;
}

/**
 * `modelfleet build --ci-image`: the image generated jobs run in. A local image of the same
 * version is reused only when its content digest label matches, so a changed development
 * build of the same version is rebuilt; `--push` always pushes, since a registry tag of the same
 * version may hold an older build.
 */
export async function buildCiImage(options: BuildCiImageOptions): Promise<BuildCiImageResult> {
  const log = options.log ?? (() => undefined);
  const env = options.env ?? process.env;
  const { docker } = options;
  if (!docker) throw userErrorWithFix('BUILD_DOCKER_UNAVAILABLE', 'no Docker engine answers (DOCKER_HOST or /var/run/docker.sock), and the CI image needs one to build');
  const target = options.push ? registryTargetFor(CI_IMAGE_REPOSITORY, '0', env) : undefined;
  if (options.push && !target) {
    throw new UserError('USAGE', 'modelfleet build --ci-image --push has no registry to push to',
      'set MODELFLEET_REGISTRY_IMAGE (e.g. registry.example.com/group/project; MODELFLEET_REGISTRY_USER/_PASSWORD to log in), or run it in a GitLab job with the project\'s container registry enabled');
  }
  log('resolving the dependencies and the package files');
  const inputs = await prepareCiImageInputs(options);
  const existing = options.force ? undefined : await docker.inspectImage(inputs.tag);
  let outcome: 'built' | 'existing' = 'existing';
  if (existing && existing.labels[CI_IMAGE_LABELS.contentDigest] === inputs.contentDigest) {
    log(`${inputs.tag} exists with the same content: build skipped`);
  } else {
    log(`building ${inputs.tag} on ${inputs.baseImage}`);
    await runImageBuild(docker, inputs, { subject: `the CI image ${inputs.tag}`, template: 'image-templates/ci/Dockerfile.hbs' }, log);
    outcome = 'built';
  }
  let reference: string | undefined;
  if (options.push) {
    const versioned = registryTargetFor(CI_IMAGE_REPOSITORY, inputs.version, env);
    if (versioned) {
      log(`pushing ${versioned.reference}`);
      try {
        await docker.tagImage(inputs.tag, versioned.reference);
        await docker.pushImage(versioned.reference, versioned.auth, (text) => log(`push: ${text}`));
      } catch (err) {
        throw userErrorWithFix('BUILD_PUSH_FAILED', `the CI image ${versioned.reference}: ${(err as Error).message}`, err);
      }
      reference = versioned.reference;
    }
  }
  return { tag: inputs.tag, version: inputs.version, outcome, reference };
}
