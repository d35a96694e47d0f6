/**
 * What a deploy job needs, found without any earlier job's artifacts (GitLab refuses to start
 * a job whose needed artifacts expired, and a per-job runner starts with an empty engine):
 * - the model folder (model.json, Dockerfile): regenerated from models.yaml (`generate --model`);
 * - the image: its content tag recomputed from the commit; in the registry for a cluster,
 *   pulled into this engine for the local target (or rebuilt identically there);
 * - the sizing: sizing.json of this machine when it measured the same image under the same
 *   load, else the record stored beside the image in the registry, else measured again here
 *   (the job says why), else a DEPLOY_MISSING_INPUT naming `<model>:test`.
 * docs/deploy.md, "Re-running a failed deploy", tells the same story for users.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { UserError } from '../../lib/errors/user-error.js';
import type { Deployable, FleetSpec } from '../../generator/fleet/types.js';
import { localModelVersion, prepareImageInputs } from '../build/prepare-image-inputs.js';
import { contentTagOf } from '../build/image-tag.js';
import { PINNED_IMAGES_VARIABLE, imageKeyOf, readPinnedImages } from '../build/pinned-images.js';
import { pinnedVersionOf, readPinnedVersions } from '../mlflow-registry/pinned-aliases.js';
import { readMlflowModel } from '../../serving/mlflow/read-mlflow-model.js';
import { pullMissingImage } from '../build/pull-missing-image.js';
import { registryTargetFor, type RegistryTarget } from '../build/registry-target.js';
import { registryHas } from '../build/open-registry-for.js';
import { tagOf } from '../build/ensure-image.js';
import { sizingInputsFor } from '../loadtest/run-loadtest.js';
import { modelFolderPaths } from '../model-folder/model-folder-paths.js';
import { readModelJson } from '../model-folder/model-json.js';
import { fetchSizingRecord } from '../model-folder/sizing-in-registry.js';
import { readSizingRecord, sizingKeyOf, type SizingRecord } from '../model-folder/sizing-record.js';
import type { DockerSeam } from '../seams/docker.js';
import { deployJob } from '../../generator/pipeline/build-child-pipeline.js';
import { runCliStep } from './run-cli-step.js';

export interface DeployPaths {
  readonly file: string;
  readonly out: string;
  readonly deployName: string;
  /** The environment deployed to, so messages name its job (`<deployName>:deploy:<env>`). */
  readonly environment?: string;
}

/** The deploy job a message tells to re-run: `<deployName>:deploy:<env>` (or `<deployName>:deploy` without an environment). */
export function deployJobOf(paths: DeployPaths): string {
  return paths.environment !== undefined ? deployJob(paths.deployName, paths.environment) : `${paths.deployName}:deploy`;
}

type Print = (line: string) => void;

/** Re-runs `generate --model` when the folder's model.json is missing or is not this model's. */
export async function ensureModelFolder(paths: DeployPaths, print: Print): Promise<void> {
  const { modelJson } = modelFolderPaths(paths.out, paths.deployName);
  const current = await readModelJson(paths.out, paths.deployName);
  if (current?.deployName === paths.deployName) return;
  print(`${paths.deployName}: ${modelJson} is ${existsSync(modelJson) ? 'unreadable' : 'missing'}; regenerating the folder from ${paths.file}`);
  await step(paths, ['generate', '--file', paths.file, '--out', paths.out, '--model', paths.deployName], 'generate', print);
}

/** The image a deployable runs, and what identifies its content for the sizing key. */
export interface DeployImage {
  /** The local tag (own images) or the bring-your-own reference. */
  readonly tag: string;
  /** What a cluster pulls: the registry reference when one is configured, else `tag`. */
  readonly reference: string;
  /** Where a `build` job pushed it; undefined for bring-your-own images and without a registry. */
  readonly registry: RegistryTarget | undefined;
  /** Content digest (own images) or the bring-your-own reference. */
  readonly content: string;
  /** The model version the image serves: the MLflow registry version (an alias resolved), or `local-<digest>` for a model folder. */
  readonly modelVersion?: string;
}

/**
 * The image the pipeline pinned for this job (MODELFLEET_IMAGE_CONTENT), else the content tag
 * recomputed from the commit; never an earlier job's image.json.
 */
export async function resolveDeployImage(fleet: FleetSpec, deployable: Deployable, paths: DeployPaths, env: NodeJS.ProcessEnv, print: Print = () => undefined): Promise<DeployImage> {
  const source = deployable.variant.source;
  if (source.kind === 'image') return { tag: source.image, reference: source.image, registry: undefined, content: source.image };
  const pinned = await pinnedDeployImage(fleet, deployable, env);
  if (pinned) {
    print(`${paths.deployName}: deploying ${pinned.tag}, the image \`generate\` pinned for this pipeline (${PINNED_IMAGES_VARIABLE}); nothing is downloaded or recomputed`);
    return pinned;
  }
  let inputs;
  try {
    inputs = await prepareImageInputs({ fleet, deployable, outDir: resolve(paths.out), env, report: print });
  } catch (err) {
    throw new UserError('DEPLOY_MISSING_INPUT', `model ${paths.deployName}: its image tag could not be computed: ${(err as Error).message.split('\n')[0] ?? ''}`,
      `Fix the cause, then re-run \`${paths.deployName}:build\` and \`${deployJobOf(paths)}\`.`, { cause: err });
  }
  const registry = registryTargetFor(paths.deployName, tagOf(inputs.tag), env);
  return {
    tag: inputs.tag, reference: registry?.reference ?? inputs.tag, registry, content: inputs.contentDigest,
    modelVersion: inputs.model.version,
  };
}

/**
 * The pinned image, named without the model or the serving code: a re-run of the job months
 * later (GitLab's Rollback) deploys what it deployed the first time, even after the CI image or
 * the registry moved on. Undefined when nothing is pinned for it, or its version is not known
 * without a download (an alias without its pinned version).
 */
async function pinnedDeployImage(fleet: FleetSpec, deployable: Deployable, env: NodeJS.ProcessEnv): Promise<DeployImage | undefined> {
  const source = deployable.variant.source;
  const content = readPinnedImages(env).get(imageKeyOf(deployable));
  if (content === undefined || source.kind === 'image') return undefined;
  const modelVersion = source.kind === 'path'
    ? localModelVersion((await readMlflowModel(resolve(dirname(fleet.file), source.path))).artifactDigest)
    : source.version ?? pinnedVersionOf(readPinnedVersions(env), source.name, source.alias ?? '');
  if (modelVersion === undefined) return undefined;
  const deployName = deployable.variant.deployName;
  const tag = contentTagOf(deployName, content);
  const registry = registryTargetFor(deployName, tagOf(tag), env);
  return { tag, reference: registry?.reference ?? tag, registry, content: content.replace(/^sha256:/, ''), modelVersion };
}

/**
 * For a cluster: an image a `build` job pushed must be in the registry the cluster pulls from,
 * or the rollout would only hang on ImagePullBackOff. Without a registry (a cluster that shares
 * this engine, such as kind or minikube) the local tag is all there is.
 */
export async function requireImageInRegistry(registry: RegistryTarget | undefined, jobs: { readonly build: string; readonly deploy: string }): Promise<void> {
  if (!registry) return;
  const present = await registryHas(registry).catch((err: unknown) => {
    throw new UserError('DEPLOY_MISSING_INPUT', `\`${jobs.deploy}\`: cannot ask the registry ${registry.host} for ${registry.reference}: ${(err as Error).message}`,
      `Check that the registry answers and that this job may pull from it, then re-run \`${jobs.deploy}\`.`, { cause: err });
  });
  if (!present) {
    throw new UserError('DEPLOY_MISSING_INPUT', `the image ${registry.reference} is not in the registry (\`${jobs.build}\` did not run for this commit, or the registry was cleaned)`,
      `Re-run \`${jobs.build}\` (it pushes the image), then \`${jobs.deploy}\`.`);
  }
}

/**
 * For the local target: the image in this engine, pulled from the registry or rebuilt (the
 * build is deterministic) when missing. `missing` tells why when neither worked.
 */
export async function ensureLocalImage(docker: DockerSeam, image: DeployImage, paths: DeployPaths, env: NodeJS.ProcessEnv, print: Print): Promise<{ readonly ok: true } | { readonly ok: false; readonly why: string }> {
  const found = await pullMissingImage(docker, image.tag, paths.deployName, env, print);
  if (found.kind !== 'missing') return { ok: true };
  print(`${paths.deployName}: ${found.why}; building it (the same inputs give the same image)`);
  const built = await runCliStep(['build', '--model', paths.deployName, '--file', paths.file, '--out', paths.out], { prefix: '  ', print });
  if (built.code === 0 && (await docker.imageExists(image.tag))) return { ok: true };
  return { ok: false, why: found.why };
}

/**
 * The sizing measured for exactly this image and load. Re-measures (runs `modelfleet loadtest`)
 * only when neither this machine nor the registry has it and `canMeasure`, and says why.
 */
export async function ensureSizing(
  fleet: FleetSpec,
  deployable: Deployable,
  image: DeployImage,
  paths: DeployPaths,
  options: { readonly canMeasure: boolean; readonly loadtestArgs?: readonly string[]; readonly env: NodeJS.ProcessEnv; readonly print: Print },
): Promise<SizingRecord> {
  const { print, env } = options;
  const name = paths.deployName;
  const key = sizingKeyOf(sizingInputsFor(deployable, image.content, deployable.model.loadtest));
  const local = await readSizingRecord(paths.out, name);
  if (local?.key === key) return local;

  const stored = await fetchSizingRecord(name, key, env);
  if (stored.kind === 'found') {
    print(`${name}: sizing measured ${stored.record.measuredAt} read from ${stored.reference} (memory limit ${stored.record.sizing.resources.limits.memory}); not measuring again`);
    return stored.record;
  }
  const why = stored.kind === 'absent'
    ? `the registry has no sizing record ${stored.reference} for this image and load (the test job did not store it, or the registry was cleaned)`
    : `${modelFolderPaths(paths.out, name).sizingJson} ${local ? 'was measured for another image or load' : 'is missing'}, and no registry is configured to hold the sizing (MODELFLEET_REGISTRY_IMAGE, or GitLab's CI_REGISTRY)`;
  if (!options.canMeasure) {
    throw new UserError('DEPLOY_MISSING_INPUT', `model ${name}: ${why}, and this job cannot measure: no Docker engine answers`,
      `Re-run \`${name}:test\` (it measures memory and stores the sizing), then \`${deployJobOf(paths)}\`.`);
  }
  print(`${name}: ${why}; re-measuring (modelfleet loadtest)`);
  await step(paths, ['loadtest', '--model', name, '--file', paths.file, '--out', paths.out, ...(options.loadtestArgs ?? [])], 'test', print);
  const measured = await readSizingRecord(paths.out, name);
  if (measured?.key !== key) {
    throw new UserError('DEPLOY_MISSING_INPUT', `model ${name}: the load test ran but wrote no sizing for this image and load`, `Read its output above, then re-run \`${name}:test\`.`);
  }
  return measured;
}

/**
 * The MLflow directory a process-mode instance serves: the `path:` folder, or the copy the
 * build job downloaded for a registry model. Undefined for bring-your-own images.
 */
export function localModelDir(fleet: FleetSpec, deployable: Deployable, out: string): string | undefined {
  const source = deployable.variant.source;
  if (source.kind === 'path') return resolve(dirname(fleet.file), source.path);
  if (source.kind === 'mlflow') {
    const dir = modelFolderPaths(out, deployable.variant.deployName).downloadedModelDir;
    return existsSync(join(dir, 'MLmodel')) ? resolve(dir) : undefined;
  }
  return undefined;
}

async function step(paths: DeployPaths, args: readonly string[], job: 'generate' | 'build' | 'test', print: Print): Promise<void> {
  const result = await runCliStep(args, { prefix: '  ', print });
  if (result.code !== 0) {
    const rerun = job === 'generate' ? 'the parent pipeline\'s `generate` job' : `\`${paths.deployName}:${job}\``;
    throw new UserError('DEPLOY_MISSING_INPUT', `model ${paths.deployName}: recreating a missing input with \`modelfleet ${args.join(' ')}\` failed (exit ${result.code})`,
      `Read its output above; re-run ${rerun}, then \`${deployJobOf(paths)}\`.`);
  }
}
