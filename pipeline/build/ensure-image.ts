import { buildErrors } from '../../lib/errors/codes-build.js';
import { UserError } from '../../lib/errors/user-error.js';
import { splitReference, type DockerSeam, type ImageDetails } from '../seams/docker.js';
import type { ImageRecord } from '../model-folder/image-record.js';
import { registryHas } from './open-registry-for.js';
import { packBuildContext, type ContextPart } from './pack-build-context.js';
import { registryTargetFor, type RegistryTarget } from './registry-target.js';
import { userErrorWithFix } from './user-error-with-fix.js';

/** What one image build needs; model and gateway images differ only in these values. */
export interface ImageBuildInputs {
  readonly baseImage: string;
  readonly contextParts: readonly ContextPart[];
  readonly dockerfile: string;
  readonly tag: string;
  readonly buildArgs: Readonly<Record<string, string>>;
  readonly labels: Readonly<Record<string, string>>;
}

/** The Dockerfile travels at the context's root, next to runtime/, app/ (and model/). */
const DOCKERFILE_IN_CONTEXT = 'Dockerfile';

/**
 * Builds one image and checks it carries its labels (later jobs find images by them).
 * Failures become BUILD_FAILED naming `subject`; when the base image is not local, the hint says
 * how to build it offline, the usual cause where no registry is reachable.
 */
export async function runImageBuild(
  docker: DockerSeam,
  inputs: ImageBuildInputs,
  context: { readonly subject: string; readonly template: string },
  log: (line: string) => void,
): Promise<ImageDetails> {
  const baseIsLocal = await docker.imageExists(inputs.baseImage);
  try {
    const built = await docker.buildImage({
      context: packBuildContext(inputs.contextParts, { name: DOCKERFILE_IN_CONTEXT, content: inputs.dockerfile }),
      tag: inputs.tag,
      dockerfile: DOCKERFILE_IN_CONTEXT,
      buildArgs: inputs.buildArgs,
      onProgress: (event) => {
        if (event.kind === 'step') log(event.text);
      },
    });
    const missing = Object.entries(inputs.labels).filter(([key, value]) => built.labels[key] !== value).map(([key]) => key);
    if (missing.length > 0) {
      throw new Error(`the built image ${inputs.tag} lacks the labels ${missing.join(', ')}: the Dockerfile must keep ${context.template}'s LABEL instruction`);
    }
    return built;
  } catch (err) {
    const hint = baseIsLocal
      ? buildErrors.BUILD_FAILED.fix
      : `the base image ${inputs.baseImage} is not in the local engine; without a reachable registry build it with \`bash scripts/build-base-image.sh\` and set MODELFLEET_BASE_IMAGE=modelfleet/base:local`;
    throw new UserError('BUILD_FAILED', `${context.subject}: ${(err as Error).message}`, hint, { cause: err });
  }
}

export interface EnsuredImage {
  /** Undefined when the registry had the image and this engine never held it. */
  readonly details: ImageDetails | undefined;
  readonly outcome: 'built' | 'existing';
  /** Where the image is in the registry, when one is configured. */
  readonly target: RegistryTarget | undefined;
}

/**
 * The image for `inputs.tag`, found before it is built: the tag is a content digest, so the same
 * tag is the same content.
 * - With a registry: a tag already there is reused without touching the engine (a per-job
 *   runner's engine starts empty, and building there again would only waste the job's time);
 *   otherwise the image is built (or taken from the engine) and pushed.
 * - Without one: the engine's copy is reused, or the image is built.
 * `force` builds (and pushes) whatever exists.
 */
export async function ensureImage(
  docker: DockerSeam,
  inputs: ImageBuildInputs,
  context: { readonly subject: string; readonly template: string; readonly repository: string; readonly force: boolean; readonly env: NodeJS.ProcessEnv },
  log: (line: string) => void,
): Promise<EnsuredImage> {
  const target = registryTargetFor(context.repository, tagOf(inputs.tag), context.env);
  const inRegistry = target && !context.force
    ? await registryHas(target).catch((err: unknown) => {
      throw userErrorWithFix('BUILD_PUSH_FAILED', `${context.subject}: cannot ask the registry ${target.host} for ${target.reference}: ${(err as Error).message}`, err);
    })
    : false;
  if (target && inRegistry) {
    log(`${target.reference} is in the registry: same content, build skipped`);
    return { details: await docker.inspectImage(inputs.tag), outcome: 'existing', target };
  }
  let details = context.force ? undefined : await docker.inspectImage(inputs.tag);
  const outcome = details ? 'existing' : 'built';
  if (details) {
    log(`${inputs.tag} exists: same content, build skipped`);
  } else {
    log(`building ${inputs.tag} on ${inputs.baseImage}`);
    details = await runImageBuild(docker, inputs, context, log);
  }
  if (target) {
    log(`pushing ${target.reference}`);
    try {
      await docker.tagImage(inputs.tag, target.reference);
      await docker.pushImage(target.reference, target.auth, (text) => log(`push: ${text}`));
    } catch (err) {
      throw userErrorWithFix('BUILD_PUSH_FAILED', `${context.subject}: ${(err as Error).message}`, err);
    }
  }
  return { details, outcome, target };
}

/** `modelfleet/name:0123456789ab` → `0123456789ab`. */
export function tagOf(reference: string): string {
  return splitReference(reference).tag;
}

/** The image record fields every built image has; model images add what they know of the model. */
export function imageRecordFor(deployName: string, inputs: ImageBuildInputs & { readonly contentDigest: string }, ensured: EnsuredImage): ImageRecord {
  const { details, outcome, target } = ensured;
  return {
    deployName,
    tag: inputs.tag,
    outcome,
    contentDigest: inputs.contentDigest,
    ...(details ? { imageId: details.id, sizeBytes: details.sizeBytes } : {}),
    ...(target ? { registryReference: target.reference } : {}),
    baseImage: inputs.baseImage,
    labels: details?.labels ?? inputs.labels,
    layers: [...(details?.layers ?? [])],
  };
}
