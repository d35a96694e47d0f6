import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { load } from 'js-yaml';
import type { UserError } from '../../lib/errors/user-error.js';
import { userErrorWithFix } from '../build/user-error-with-fix.js';
import type { MlflowSource } from '../../generator/fleet/types.js';
import type { MlflowConnection } from './mlflow-connection.js';
import { PINNED_VERSIONS_VARIABLE, pinnedVersionOf, type PinnedVersions } from './pinned-aliases.js';
import {
  MlflowRequestError,
  artifactProxyPath,
  createMlflowRegistryClient,
  type MlflowRegistryClient,
  type ModelVersionInfo,
} from './mlflow-registry-client.js';

export interface DownloadedModel {
  /** Folder holding the model in MLflow's layout (MLmodel, model.onnx, ...). */
  readonly dir: string;
  /** The resolved version number (an alias resolves to one). */
  readonly version: string;
  readonly artifactUri: string;
  readonly runId?: string;
}

export interface DownloadRegisteredModelOptions {
  readonly source: MlflowSource;
  readonly connection: MlflowConnection;
  /** Where the model lands; replaced atomically. */
  readonly targetDir: string;
  /** Names the models.yaml entry in every error, e.g. `models.yaml:14:5 (match-taxi, variant main)`. */
  readonly entryLabel: string;
  /**
   * The versions the pipeline pinned for aliases (MODELFLEET_MLFLOW_VERSIONS): an alias listed
   * there is read as its pinned version, and the registry is not asked where the alias points now.
   */
  readonly pinnedVersions?: PinnedVersions;
  /** Told when a pinned version stands in for the alias. */
  readonly onPinned?: (alias: string, version: string) => void;
  readonly fetchImpl?: typeof fetch;
  readonly onProgress?: (text: string) => void;
}

/** At most this many files per model: a guard against listing a whole experiment by mistake. */
const MAX_FILES = 1_000;

/**
 * Resolves a registered model's version (or alias) in the MLflow registry and downloads its
 * artifacts through the tracking server's artifact proxy. The MLmodel file comes first, so a
 * model without an `onnx` flavor fails before its (possibly large) files are fetched.
 */
export async function downloadRegisteredModel(options: DownloadRegisteredModelOptions): Promise<DownloadedModel> {
  const { source, connection, entryLabel } = options;
  const client = createMlflowRegistryClient(connection, options.fetchImpl);
  const progress = options.onProgress ?? (() => undefined);
  const what = `registered model "${source.name}"`;

  const explain = (err: unknown, notFound: () => UserError): never => {
    if (!(err instanceof MlflowRequestError)) throw err;
    if (err.status === 'unreachable') {
      throw userErrorWithFix('MLFLOW_UNREACHABLE', `${entryLabel}: cannot read ${what} from MLFLOW_TRACKING_URI=${connection.baseUrl}: ${err.message}`, err);
    }
    if (err.status === 401 || err.status === 403) {
      throw userErrorWithFix('MLFLOW_AUTH_FAILED', `${entryLabel}: ${connection.baseUrl} refused access to ${what} (${err.message})`, err);
    }
    if (err.status === 404 || err.errorCode === 'RESOURCE_DOES_NOT_EXIST' || err.errorCode === 'INVALID_PARAMETER_VALUE') throw notFound();
    throw userErrorWithFix('MLFLOW_UNREACHABLE', `${entryLabel}: ${connection.baseUrl} failed to answer for ${what}: ${err.message} (${err.url})`, err);
  };

  await client.getRegisteredModel(source.name).catch((err: unknown) =>
    explain(err, () => userErrorWithFix('MLFLOW_MODEL_NOT_FOUND', `${entryLabel}: the MLflow registry at ${connection.baseUrl} has no ${what}`)),
  );

  let version: ModelVersionInfo;
  const alias = source.alias;
  const pinned = alias !== undefined ? pinnedVersionOf(options.pinnedVersions ?? new Map(), source.name, alias) : undefined;
  if (alias !== undefined && pinned !== undefined) {
    options.onPinned?.(alias, pinned);
    version = await client.getModelVersion(source.name, pinned).catch((err: unknown) =>
      explain(err, () => userErrorWithFix('MLFLOW_VERSION_NOT_FOUND',
        `${entryLabel}: ${what} has no version ${pinned}, which ${PINNED_VERSIONS_VARIABLE} pins for the alias "${alias}" (deleted from the registry since the pipeline was generated?)`)),
    );
  } else if (alias !== undefined) {
    version = await client.getModelVersionByAlias(source.name, alias).catch((err: unknown) =>
      explain(err, () => userErrorWithFix('MLFLOW_VERSION_NOT_FOUND', `${entryLabel}: no version of ${what} carries the alias "${alias}"`)),
    );
  } else {
    const wanted = source.version ?? '';
    version = await client.getModelVersion(source.name, wanted).catch((err: unknown) =>
      explain(err, () => userErrorWithFix('MLFLOW_VERSION_NOT_FOUND', `${entryLabel}: ${what} has no version ${wanted}`)),
    );
  }
  progress(`${what} resolved to version ${version.version}`);

  const artifactUri = await client.getDownloadUri(source.name, version.version).catch((err: unknown) =>
    explain(err, () => userErrorWithFix('MLFLOW_VERSION_NOT_FOUND', `${entryLabel}: ${what} has no version ${version.version}`)),
  );
  const root = artifactProxyPath(artifactUri);
  if (root === undefined) {
    throw userErrorWithFix('MLFLOW_ARTIFACTS_UNSUPPORTED',
      `${entryLabel}: version ${version.version} of ${what} is stored at ${artifactUri}, which the tracking server's artifact proxy does not serve`);
  }

  const staging = `${options.targetDir}.download-${process.pid}-${Date.now()}`;
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { recursive: true });
  try {
    const mlmodel = await client.downloadArtifact(joinArtifactPath(root, 'MLmodel')).catch((err: unknown) =>
      explain(err, () => userErrorWithFix('MLFLOW_NOT_ONNX', `${entryLabel}: version ${version.version} of ${what} has no MLmodel file at ${artifactUri}; it is not an MLflow model`)),
    );
    assertOnnxFlavor(mlmodel, `${entryLabel}: version ${version.version} of ${what}`);
    const files = await listRecursively(client, root, '', (err) =>
      explain(err, () => userErrorWithFix('MLFLOW_ARTIFACTS_UNSUPPORTED', `${entryLabel}: cannot list the artifacts of ${what} at ${artifactUri}`)),
    );
    for (const file of files) {
      const target = insideFolder(staging, file, entryLabel);
      const bytes = file === 'MLmodel'
        ? mlmodel
        : await client.downloadArtifact(joinArtifactPath(root, file)).catch((err: unknown) =>
          explain(err, () => userErrorWithFix('MLFLOW_ARTIFACTS_UNSUPPORTED', `${entryLabel}: the artifact ${file} of ${what} vanished while downloading`)));
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, bytes);
      progress(`downloaded ${file} (${bytes.length} bytes)`);
    }
    if (!files.includes('MLmodel')) await writeFile(join(staging, 'MLmodel'), mlmodel);
    await rm(options.targetDir, { recursive: true, force: true });
    await mkdir(dirname(options.targetDir), { recursive: true });
    await rename(staging, options.targetDir);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  return { dir: options.targetDir, version: version.version, artifactUri, ...(version.runId ? { runId: version.runId } : {}) };
}

async function listRecursively(
  client: MlflowRegistryClient,
  root: string,
  sub: string,
  onError: (err: unknown) => never,
): Promise<string[]> {
  const entries = await client.listArtifacts(joinArtifactPath(root, sub)).catch(onError);
  const out: string[] = [];
  for (const entry of entries) {
    const rel = sub === '' ? entry.path : `${sub}/${entry.path}`;
    if (entry.isDir) out.push(...(await listRecursively(client, root, rel, onError)));
    else out.push(rel);
    if (out.length > MAX_FILES) throw new Error(`more than ${MAX_FILES} artifact files under ${root}`);
  }
  return out;
}

function joinArtifactPath(root: string, rel: string): string {
  return [root, rel].filter((part) => part !== '').join('/');
}

/** A server-supplied name must not write outside the download folder. */
function insideFolder(folder: string, rel: string, entryLabel: string): string {
  const target = resolve(folder, rel);
  if (!target.startsWith(resolve(folder) + sep)) {
    throw userErrorWithFix('MLFLOW_ARTIFACTS_UNSUPPORTED', `${entryLabel}: the registry listed an artifact path outside the model folder: ${JSON.stringify(rel)}`);
  }
  return target;
}

function assertOnnxFlavor(mlmodel: Buffer, label: string): void {
  let doc: unknown;
  try {
    doc = load(mlmodel.toString('utf8'));
  } catch {
    doc = undefined;
  }
  const flavors = (doc as { flavors?: unknown } | undefined)?.flavors;
  const names = flavors && typeof flavors === 'object' ? Object.keys(flavors) : [];
  if (!names.includes('onnx')) {
    throw userErrorWithFix('MLFLOW_NOT_ONNX',
      `${label} has no onnx flavor in its MLmodel (flavors: ${names.join(', ') || 'none'}); the model server runs ONNX models only`);
  }
}
