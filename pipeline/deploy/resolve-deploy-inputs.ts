/**
 * What a deploy job needs from earlier jobs, recreated when their artifacts expired:
 * - the model folder (model.json, Dockerfile): regenerated from models.yaml (`generate --model`);
 * - the image: found by its deterministic content tag (`build` skips the build when the tag
 *   exists, and rebuilds it identically when it does not);
 * - sizing.json and k8s/*.yaml: re-measured by running the load test again when this machine
 *   can (a Docker engine, or process mode on the local target); otherwise the job fails naming
 *   `<model>:test` to re-run.
 * docs/deploy.md, "Re-running a deploy", tells the same story for users.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { load } from 'js-yaml';
import { UserError } from '../../lib/errors/user-error.js';
import type { Deployable, FleetSpec } from '../../generator/fleet/types.js';
import type { KubeObject } from '../seams/kube.js';
import { runCliStep } from './run-cli-step.js';

export interface DeployPaths {
  readonly file: string;
  readonly out: string;
  readonly deployName: string;
}

export function modelFolder(paths: DeployPaths): string {
  return join(paths.out, 'models', paths.deployName);
}

type Print = (line: string) => void;

/** Re-runs `generate --model` when the folder's model.json is missing. */
export async function ensureModelFolder(paths: DeployPaths, print: Print): Promise<void> {
  if (existsSync(join(modelFolder(paths), 'model.json'))) return;
  print(`${paths.deployName}: ${join(modelFolder(paths), 'model.json')} is missing; regenerating the folder from ${paths.file}`);
  await step(paths, ['generate', '--file', paths.file, '--out', paths.out, '--model', paths.deployName], 'generate', print);
}

/** The image tag from image.json, recreated with `build` (a no-op when the tag exists) when the record is gone. */
export async function ensureImage(paths: DeployPaths, print: Print, options: { rebuild: boolean }): Promise<string | undefined> {
  const existing = await readImageTag(paths);
  if (existing !== undefined || !options.rebuild) return existing;
  print(`${paths.deployName}: ${join(modelFolder(paths), 'image.json')} is missing; finding the image by its content tag (modelfleet build)`);
  await step(paths, ['build', '--model', paths.deployName, '--file', paths.file, '--out', paths.out], 'build', print);
  return readImageTag(paths);
}

/**
 * The manifests name the image by its local tag (what the load test ran). A cluster pulls from
 * the registry the build pushed to, so that tag is replaced by image.json's registryReference.
 */
export async function useRegistryReference(paths: DeployPaths, manifests: readonly KubeObject[]): Promise<KubeObject[]> {
  let record: { tag?: unknown; registryReference?: unknown };
  try {
    record = JSON.parse(await readFile(join(modelFolder(paths), 'image.json'), 'utf8')) as typeof record;
  } catch {
    return [...manifests];
  }
  const { tag, registryReference } = record;
  if (typeof tag !== 'string' || typeof registryReference !== 'string' || registryReference === '') return [...manifests];
  return manifests.map((object) => {
    if (object.kind !== 'Deployment') return object;
    const copy = structuredClone(object);
    const spec = (copy.spec as { template?: { spec?: { containers?: Array<{ image?: string }> } } } | undefined)?.template?.spec;
    for (const container of spec?.containers ?? []) if (container.image === tag) container.image = registryReference;
    return copy;
  });
}

export async function readImageTag(paths: DeployPaths): Promise<string | undefined> {
  try {
    const record = JSON.parse(await readFile(join(modelFolder(paths), 'image.json'), 'utf8')) as { tag?: unknown };
    return typeof record.tag === 'string' && record.tag !== '' ? record.tag : undefined;
  } catch {
    return undefined;
  }
}

export interface MeasuredSizing {
  readonly memoryLimitBytes: number;
  readonly manifests: KubeObject[];
}

/**
 * sizing.json and the manifests, re-measured with the load test when missing and `canMeasure`;
 * otherwise a DEPLOY_MISSING_INPUT naming `<model>:test`.
 */
export async function ensureSizing(paths: DeployPaths, print: Print, options: { canMeasure: boolean; loadtestArgs?: readonly string[] }): Promise<MeasuredSizing> {
  let sizing = await readSizing(paths);
  let manifests = await readManifests(paths);
  if (sizing === undefined || manifests.length === 0) {
    const missing = sizing === undefined ? 'sizing.json' : 'k8s/*.yaml';
    if (!options.canMeasure) {
      throw new UserError('DEPLOY_MISSING_INPUT',
        `model ${paths.deployName}: ${join(modelFolder(paths), missing)} is missing (the \`${paths.deployName}:test\` job's artifacts expired or it did not run), and this job cannot re-measure: no Docker engine answers`,
        `Re-run \`${paths.deployName}:test\` (it measures memory and renders the manifests), then \`${paths.deployName}:deploy\`.`);
    }
    print(`${paths.deployName}: ${join(modelFolder(paths), missing)} is missing; re-measuring (modelfleet loadtest)`);
    await step(paths, ['loadtest', '--model', paths.deployName, '--file', paths.file, '--out', paths.out, ...(options.loadtestArgs ?? [])], 'test', print);
    sizing = await readSizing(paths);
    manifests = await readManifests(paths);
    if (sizing === undefined || manifests.length === 0) {
      throw new UserError('DEPLOY_MISSING_INPUT', `model ${paths.deployName}: the load test ran but wrote no ${missing}`, `Read its output above, then re-run \`${paths.deployName}:test\`.`);
    }
  }
  return { memoryLimitBytes: sizing, manifests };
}

async function readSizing(paths: DeployPaths): Promise<number | undefined> {
  try {
    const sizing = JSON.parse(await readFile(join(modelFolder(paths), 'sizing.json'), 'utf8')) as { memoryLimitBytes?: unknown };
    return typeof sizing.memoryLimitBytes === 'number' && sizing.memoryLimitBytes > 0 ? sizing.memoryLimitBytes : undefined;
  } catch {
    return undefined;
  }
}

/** Every object in build/models/<name>/k8s/*.yaml (multi-document files allowed), in file-name order. */
export async function readManifests(paths: DeployPaths): Promise<KubeObject[]> {
  const dir = join(modelFolder(paths), 'k8s');
  const files = (await readdir(dir).catch(() => [] as string[])).filter((f) => /\.ya?ml$/.test(f)).sort();
  const objects: KubeObject[] = [];
  for (const file of files) {
    const text = await readFile(join(dir, file), 'utf8');
    for (const doc of text.split(/^---\s*$/m)) {
      const parsed = load(doc) as KubeObject | null | undefined;
      if (parsed && typeof parsed === 'object' && typeof parsed.kind === 'string') objects.push(parsed);
    }
  }
  return objects;
}

/**
 * The MLflow directory a process-mode instance serves: the `path:` folder, or the copy the
 * build job downloaded for a registry model. Undefined for bring-your-own images.
 */
export function localModelDir(fleet: FleetSpec, deployable: Deployable, out: string): string | undefined {
  const source = deployable.variant.source;
  if (source.kind === 'path') return resolve(dirname(fleet.file), source.path);
  if (source.kind === 'mlflow') {
    const dir = join(out, 'models', deployable.variant.deployName, 'model');
    return existsSync(join(dir, 'MLmodel')) ? resolve(dir) : undefined;
  }
  return undefined;
}

async function step(paths: DeployPaths, args: readonly string[], job: 'generate' | 'build' | 'test', print: Print): Promise<void> {
  const result = await runCliStep(args, { prefix: '  ', print });
  if (result.code !== 0) {
    const rerun = job === 'generate' ? 'the parent pipeline\'s `generate` job' : `\`${paths.deployName}:${job}\``;
    throw new UserError('DEPLOY_MISSING_INPUT', `model ${paths.deployName}: recreating a missing input with \`modelfleet ${args.join(' ')}\` failed (exit ${result.code})`,
      `Read its output above; re-run ${rerun}, then \`${paths.deployName}:deploy\`.`);
  }
}
