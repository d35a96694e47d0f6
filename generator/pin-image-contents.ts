import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { deployableInEnvironment } from './fleet/find-environment.js';
import type { Deployable, FleetSpec } from './fleet/types.js';
import type { PlannedFile } from './render/render-model-folder.js';
import { computeImageContent } from '../pipeline/build/prepare-image-inputs.js';
import { servingLayerDigests, type ServingLayerDigests } from '../pipeline/build/prepare-serving-layers.js';
import { imageKeyOf, type ImagePin, type PinnedImages } from '../pipeline/build/pinned-images.js';
import { PINNED_VERSIONS_VARIABLE, formatPinnedVersions, type AliasPin } from '../pipeline/mlflow-registry/pinned-aliases.js';
import { findPackageRoot } from '../lib/package-root.js';
import { UserError, isUserError } from '../lib/errors/user-error.js';

export interface PinImageContentsOptions {
  readonly fleet: FleetSpec;
  /** The deployables that get jobs. */
  readonly deployables: readonly Deployable[];
  /** The plan's files: each model folder's Dockerfile is part of its image's content. */
  readonly files: readonly PlannedFile[];
  /** The alias versions this pipeline pinned: an image is computed for the version its jobs serve. */
  readonly aliasPins: readonly AliasPin[];
  /** Contents computed before (`--image-contents`, passed by a dispatcher): kept, not computed again. */
  readonly given: PinnedImages;
  readonly env: NodeJS.ProcessEnv;
  readonly fetchImpl?: typeof fetch;
  readonly packageRoot?: string;
}

/** Registry downloads at once: enough to overlap round trips, few enough for a small tracking server. */
const PARALLEL_MODELS = 4;

const WHY = '`modelfleet generate` computes the content of every image the jobs build and pins it on them (MODELFLEET_IMAGE_CONTENT); it wrote nothing.';

/**
 * The content digest of every image the jobs of `deployables` build, measure and deploy: each
 * model's own, and each registry version an environment pins instead. Computed as a build would
 * (the model downloaded, the Dockerfile, the serving layers), without building.
 */
export async function pinImageContents(options: PinImageContentsOptions): Promise<ImagePin[]> {
  const wanted = new Map<string, Deployable>();
  for (const deployable of options.deployables) {
    if (deployable.variant.source.kind === 'image') continue;
    for (const one of [deployable, ...options.fleet.environments.map((env) => deployableInEnvironment(deployable, env))]) {
      const key = imageKeyOf(one);
      if (!wanted.has(key)) wanted.set(key, one);
    }
  }
  const pins: ImagePin[] = [];
  const toCompute: [string, Deployable][] = [];
  for (const [key, deployable] of wanted) {
    const given = options.given.get(key);
    if (given !== undefined) pins.push({ key, content: given });
    else toCompute.push([key, deployable]);
  }
  if (toCompute.length === 0) return pins;

  const layers = await explain(() => servingLayerDigests(options.packageRoot ?? findPackageRoot()));
  const scratch = await mkdtemp(join(tmpdir(), 'modelfleet-pin-'));
  try {
    // One folder per image: two images of one deployable download different versions.
    const computed = await inParallel(toCompute, ([key, deployable], i) => contentOf(options, deployable, join(scratch, String(i)), layers).then((content) => ({ key, content })));
    return [...pins, ...computed];
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

async function contentOf(options: PinImageContentsOptions, deployable: Deployable, outDir: string, layers: ServingLayerDigests): Promise<string> {
  const dockerfile = `models/${deployable.variant.deployName}/Dockerfile`;
  const planned = options.files.find((file) => file.path === dockerfile);
  if (planned) {
    await mkdir(dirname(join(outDir, dockerfile)), { recursive: true });
    await writeFile(join(outDir, dockerfile), planned.content);
  }
  // Build the versions the jobs will build: the aliases as pinned here, never as they point later.
  const env = { ...options.env, [PINNED_VERSIONS_VARIABLE]: formatPinnedVersions(options.aliasPins) };
  return explain(() => computeImageContent({ fleet: options.fleet, deployable, outDir, env, ...(options.fetchImpl ? { fetchImpl: options.fetchImpl } : {}) }, layers));
}

async function explain<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (isUserError(err)) throw new UserError(err.code, err.message, `${err.hint ?? ''} ${WHY}`.trim(), { cause: err });
    throw err;
  }
}

async function inParallel<T, R>(items: readonly T[], work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (next < items.length && !failed) {
      const i = next++;
      try {
        results[i] = await work(items[i] as T, i);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  // Every worker settles before the caller removes their folders.
  const settled = await Promise.allSettled(Array.from({ length: Math.min(PARALLEL_MODELS, items.length) }, worker));
  const failure = settled.find((outcome) => outcome.status === 'rejected');
  if (failure) throw failure.reason;
  return results;
}
