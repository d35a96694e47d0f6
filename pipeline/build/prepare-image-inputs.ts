import { existsSync } from 'node:fs';
import { readFile, readdir, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { describeEntry } from '../../generator/fleet/describe-entry.js';
import type { Deployable, FleetSpec } from '../../generator/fleet/types.js';
import { compileModelFolder } from '../../generator/render/render-model-folder.js';
import { baseImageFrom } from '../../lib/base-image.js';
import { readModelTemplates } from '../../generator/render/model-templates.js';
import { UserError, isUserError } from '../../lib/errors/user-error.js';
import { userErrorWithFix } from './user-error-with-fix.js';
import { readMlflowModel } from '../../serving/mlflow/read-mlflow-model.js';
import { downloadRegisteredModel } from '../mlflow-registry/download-registered-model.js';
import { readMlflowConnection } from '../mlflow-registry/mlflow-connection.js';
import { pinnedAliasNotice, readPinnedVersions } from '../mlflow-registry/pinned-aliases.js';
import { findPackageRoot } from '../../lib/package-root.js';
import type { ImageBuildInputs } from './ensure-image.js';
import { gitCommit } from './git-commit.js';
import { computeContentDigest, resolveImageTag, type ImageContent } from './image-tag.js';
import { prepareServingLayers, type ServingLayerDigests } from './prepare-serving-layers.js';
import { imageKeyOf, readPinnedImages, requirePinnedContent } from './pinned-images.js';

export { describeEntry };

/** Label keys on every model image. */
export const IMAGE_LABELS = {
  deployName: 'io.modelfleet.deploy-name',
  model: 'io.modelfleet.model',
  variant: 'io.modelfleet.variant',
  modelVersion: 'io.modelfleet.model-version',
  artifactDigest: 'io.modelfleet.artifact-digest',
  source: 'io.modelfleet.source',
  contentDigest: 'io.modelfleet.content-digest',
  // https://github.com/opencontainers/image-spec/blob/main/annotations.md
  revision: 'org.opencontainers.image.revision',
} as const;

/** Everything a model image is made of, resolved but not built yet. */
export interface ImageInputs extends ImageBuildInputs {
  readonly deployName: string;
  readonly contentDigest: string;
  readonly model: { readonly dir: string; readonly source: string; readonly version: string; readonly artifactDigest: string; readonly sizeBytes: number };
}

export interface PrepareImageInputsOptions {
  readonly fleet: FleetSpec;
  readonly deployable: Deployable;
  /** Absolute output folder (`build`). */
  readonly outDir: string;
  /** Default: MODELFLEET_BASE_IMAGE, else node:20-bookworm-slim. */
  readonly baseImage?: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly packageRoot?: string;
  readonly cacheDir?: string;
  readonly fetchImpl?: typeof fetch;
  readonly log?: (line: string) => void;
  /** Lines every command prints, also one that keeps `log` quiet: that a pinned version stands in for an alias. Default: `log`. */
  readonly report?: (line: string) => void;
}

/**
 * Resolves the model (local MLflow folder, or a download from the MLflow registry), the
 * production dependencies, the serving code and the Dockerfile, and computes the content-digest
 * tag. No image is built, so a later job (load test, deploy) can find the image this way after
 * the build job's artifacts expired. Refuses content other than the pipeline pinned for it
 * (MODELFLEET_IMAGE_CONTENT).
 */
export async function prepareImageInputs(options: PrepareImageInputsOptions): Promise<ImageInputs> {
  const { fleet, deployable } = options;
  const env = options.env ?? process.env;
  const packageRoot = options.packageRoot ?? findPackageRoot();
  const model = await resolveModelArtifact(options);
  // The serving code and its production dependencies (the same layers as the gateway image's).
  const { runtime, appFiles, servingCodeDigest } = await prepareServingLayers({ packageRoot, ...(options.cacheDir ? { cacheDir: options.cacheDir } : {}) });
  const { content, contentDigest } = await assembleImageContent(options, model, { runtimeDependenciesKey: runtime.key, servingCodeDigest });
  requirePinnedContent(readPinnedImages(env), imageKeyOf(deployable), `sha256:${contentDigest}`, describeEntry(fleet, deployable));
  const commit = await gitCommit(dirname(fleet.file), env);

  return {
    deployName: content.deployName,
    tag: resolveImageTag(content),
    contentDigest,
    baseImage: content.baseImage,
    dockerfile: content.dockerfile,
    // The content digest and the commit are not inputs of the digest (the commit changes nothing in the image).
    buildArgs: { ...content.buildArgs, CONTENT_DIGEST: `sha256:${contentDigest}`, GIT_COMMIT: commit },
    labels: { ...content.labels, [IMAGE_LABELS.contentDigest]: `sha256:${contentDigest}`, [IMAGE_LABELS.revision]: commit },
    contextParts: [
      { from: runtime.dir, to: 'runtime' },
      { from: packageRoot, to: 'app', entries: appFiles },
      { from: model.dir, to: 'model' },
    ],
    model: { dir: model.dir, source: model.source, version: model.version, artifactDigest: model.artifactDigest, sizeBytes: await folderSize(model.dir) },
  };
}

/**
 * The `sha256:<hex>` content digest of the image `prepareImageInputs` would give, with the
 * serving layers' digests given (`servingLayerDigests`, computed once for many models) and no
 * dependency tree copied: what `generate` pins on the jobs. Downloads a registry model into
 * `<outDir>/models/<deployName>/model` like a build does.
 */
export async function computeImageContent(options: PrepareImageInputsOptions, layers: ServingLayerDigests): Promise<string> {
  const model = await resolveModelArtifact(options);
  return `sha256:${(await assembleImageContent(options, model, layers)).contentDigest}`;
}

interface ModelArtifact {
  readonly dir: string;
  /** `mlflow:<name>/<version>` or `path:<path>`. */
  readonly source: string;
  /** The registry version, or `local-<12 hex>` of a model folder. */
  readonly version: string;
  readonly artifactDigest: string;
}

async function resolveModelArtifact(options: PrepareImageInputsOptions): Promise<ModelArtifact> {
  const { fleet, deployable, outDir } = options;
  const { variant } = deployable;
  const env = options.env ?? process.env;
  const log = options.log ?? (() => undefined);
  const source = variant.source;
  if (source.kind === 'image') throw new Error(`prepareImageInputs: ${variant.deployName} brings its own image`);
  const entryLabel = describeEntry(fleet, deployable);

  let modelDir: string;
  let version: string | undefined;
  let sourceText: string;
  if (source.kind === 'path') {
    modelDir = resolve(dirname(fleet.file), source.path);
    sourceText = `path:${source.path}`;
  } else {
    const connection = readMlflowConnection(env);
    if (!connection) {
      throw userErrorWithFix('MLFLOW_NOT_CONFIGURED', `${entryLabel} reads registered model "${source.name}" from MLflow, but MLFLOW_TRACKING_URI is not set (or is not an http(s) URL)`);
    }
    const report = options.report ?? log;
    const downloaded = await downloadRegisteredModel({
      source,
      connection,
      targetDir: join(outDir, 'models', variant.deployName, 'model'),
      entryLabel,
      // The version the pipeline's `generate` resolved, so build, test and every deploy (and a re-run of one) serve the same one.
      pinnedVersions: readPinnedVersions(env),
      onPinned: (alias, pinned) => report(pinnedAliasNotice(variant.deployName, alias, pinned)),
      ...(options.fetchImpl ? { fetchImpl: options.fetchImpl } : {}),
      onProgress: (text) => log(`mlflow: ${text}`),
    });
    modelDir = downloaded.dir;
    version = downloaded.version;
    sourceText = `mlflow:${source.name}/${downloaded.version}`;
  }
  let artifactDigest: string;
  try {
    artifactDigest = (await readMlflowModel(modelDir)).artifactDigest;
  } catch (err) {
    if (isUserError(err)) throw new UserError(err.code, `${entryLabel}: ${err.message}`, err.hint, { cause: err });
    throw err;
  }
  return { dir: modelDir, source: sourceText, version: version ?? localModelVersion(artifactDigest), artifactDigest };
}

/** The version of a model folder outside any registry: `local-` and 12 hex of its artifact digest. */
export function localModelVersion(artifactDigest: string): string {
  return `local-${artifactDigest.replace(/^sha256:/, '').slice(0, 12)}`;
}

async function assembleImageContent(options: PrepareImageInputsOptions, model: ModelArtifact, layers: ServingLayerDigests): Promise<{ readonly content: ImageContent; readonly contentDigest: string }> {
  const { fleet, deployable } = options;
  const { model: spec, variant } = deployable;
  // The Dockerfile: the generated one, or rendered from the template when the folder is missing.
  const dockerfile = await readOrRenderDockerfile(join(options.outDir, 'models', variant.deployName), fleet, deployable);
  const baseImage = options.baseImage ?? baseImageFrom(options.env ?? process.env);
  // The Dockerfile turns these into the labels below, in one LABEL instruction (a builder step
  // per label otherwise).
  const buildArgs = {
    BASE_IMAGE: baseImage,
    MODEL_NAME: variant.deployName,
    MODEL_VERSION: model.version,
    MODEL: spec.name,
    VARIANT: variant.id,
    ARTIFACT_DIGEST: model.artifactDigest,
    MODEL_SOURCE: model.source,
  };
  const labels: Record<string, string> = {
    [IMAGE_LABELS.deployName]: variant.deployName,
    [IMAGE_LABELS.model]: spec.name,
    [IMAGE_LABELS.variant]: variant.id,
    [IMAGE_LABELS.modelVersion]: model.version,
    [IMAGE_LABELS.artifactDigest]: model.artifactDigest,
    [IMAGE_LABELS.source]: model.source,
  };
  const content: ImageContent = {
    deployName: variant.deployName,
    dockerfile,
    baseImage,
    runtimeDependenciesKey: layers.runtimeDependenciesKey,
    servingCodeDigest: layers.servingCodeDigest,
    artifactDigest: model.artifactDigest,
    buildArgs,
    labels,
  };
  return { content, contentDigest: computeContentDigest(content) };
}

/** The tag `modelfleet build` gives (or gave) this deployable's image, computed without building. */
export async function resolveImageTagFor(options: PrepareImageInputsOptions): Promise<string> {
  return (await prepareImageInputs(options)).tag;
}

async function readOrRenderDockerfile(folder: string, fleet: FleetSpec, deployable: Deployable): Promise<string> {
  const generated = join(folder, 'Dockerfile');
  if (existsSync(generated)) return readFile(generated, 'utf8');
  // Retry-safe: the folder is deterministic output of models.yaml, so render it again.
  const fleetFile = relative(process.cwd(), fleet.file) || basename(fleet.file);
  const files = compileModelFolder(readModelTemplates(), isAbsolute(fleetFile) ? basename(fleet.file) : fleetFile)(deployable);
  const dockerfile = files.find((file) => file.path.endsWith('/Dockerfile'));
  if (!dockerfile) {
    throw userErrorWithFix('BUILD_OUTPUT_MISSING', `${generated} does not exist and image-templates/model/ has no Dockerfile.hbs to render it from`);
  }
  return dockerfile.content;
}

async function folderSize(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) total += await folderSize(full);
    else if (entry.isFile()) total += (await stat(full)).size;
  }
  return total;
}
