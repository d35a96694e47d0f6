import type { MlflowConnection } from './mlflow-connection.js';

/**
 * A small client for the parts of MLflow's REST API modelfleet needs
 * (https://mlflow.org/docs/latest/api_reference/rest-api.html): the model registry (reads for a
 * build, an alias set after a deploy) and the tracking server's artifact proxy. Errors are `MlflowRequestError`s carrying the HTTP status
 * and MLflow's `error_code`; callers turn them into messages that name the models.yaml entry.
 */
export interface ModelVersionInfo {
  readonly name: string;
  readonly version: string;
  readonly source?: string;
  readonly runId?: string;
  readonly status?: string;
  readonly aliases: readonly string[];
}

export interface ArtifactFile {
  /** Path relative to the listed folder's root, `/`-separated. */
  readonly path: string;
  readonly isDir: boolean;
  readonly sizeBytes?: number;
}

export interface MlflowRegistryClient {
  getRegisteredModel(name: string): Promise<{ name: string }>;
  getModelVersion(name: string, version: string): Promise<ModelVersionInfo>;
  getModelVersionByAlias(name: string, alias: string): Promise<ModelVersionInfo>;
  getDownloadUri(name: string, version: string): Promise<string>;
  /** Files directly inside `path` (relative to the artifact root). */
  listArtifacts(path: string): Promise<ArtifactFile[]>;
  downloadArtifact(path: string): Promise<Buffer>;
  /** Points `alias` at `version` (MLflow's SetRegisteredModelAlias), moving it from any other version. */
  setModelVersionAlias(name: string, alias: string, version: string): Promise<void>;
}

/** Why a request failed: `unreachable` (no HTTP answer or not MLflow), or an HTTP error. */
export class MlflowRequestError extends Error {
  override readonly name = 'MlflowRequestError';
  constructor(
    message: string,
    readonly url: string,
    readonly status: number | 'unreachable',
    readonly errorCode?: string,
  ) {
    super(message);
  }
}

export function createMlflowRegistryClient(connection: MlflowConnection, fetchImpl: typeof fetch = fetch): MlflowRegistryClient {
  /** GET with `query`, or POST with `post` as the JSON body. */
  const request = async (path: string, query: Record<string, string>, as: 'json' | 'bytes', post?: Record<string, string>): Promise<unknown> => {
    const url = new URL(`${connection.baseUrl}${path}`);
    for (const [key, value] of Object.entries(query)) url.searchParams.set(key, value);
    let response: Response;
    try {
      response = await fetchImpl(url, {
        ...(post ? { method: 'POST', body: JSON.stringify(post) } : {}),
        headers: {
          accept: as === 'json' ? 'application/json' : '*/*',
          ...(post ? { 'content-type': 'application/json' } : {}),
          ...(connection.authorization ? { authorization: connection.authorization } : {}),
        },
        signal: AbortSignal.timeout(connection.timeoutMs),
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name;
      throw new MlflowRequestError(`no answer from ${url.origin} (${cause})`, url.toString(), 'unreachable');
    }
    if (!response.ok) {
      const body = await response.text().catch(() => '');
      let errorCode: string | undefined;
      let message = body.slice(0, 300);
      try {
        const parsed = JSON.parse(body) as { error_code?: unknown; message?: unknown };
        if (typeof parsed.error_code === 'string') errorCode = parsed.error_code;
        if (typeof parsed.message === 'string') message = parsed.message;
      } catch {
        // not JSON: keep the text
      }
      throw new MlflowRequestError(`HTTP ${response.status}${errorCode ? ` ${errorCode}` : ''}: ${message}`, url.toString(), response.status, errorCode);
    }
    if (as === 'bytes') return Buffer.from(await response.arrayBuffer());
    try {
      return (await response.json()) as unknown;
    } catch {
      throw new MlflowRequestError(`${url.toString()} did not answer with JSON: is MLFLOW_TRACKING_URI an MLflow tracking server?`, url.toString(), 'unreachable');
    }
  };

  const modelVersionOf = (body: unknown, url: string): ModelVersionInfo => {
    const version = (body as { model_version?: Record<string, unknown> } | null)?.model_version;
    if (!version || typeof version.name !== 'string' || (typeof version.version !== 'string' && typeof version.version !== 'number')) {
      throw new MlflowRequestError(`${url}: the answer has no model_version`, url, 'unreachable');
    }
    return {
      name: version.name,
      version: String(version.version),
      ...(typeof version.source === 'string' ? { source: version.source } : {}),
      ...(typeof version.run_id === 'string' ? { runId: version.run_id } : {}),
      ...(typeof version.status === 'string' ? { status: version.status } : {}),
      aliases: Array.isArray(version.aliases) ? version.aliases.filter((a): a is string => typeof a === 'string') : [],
    };
  };

  return {
    async getRegisteredModel(name) {
      const body = await request('/api/2.0/mlflow/registered-models/get', { name }, 'json');
      const model = (body as { registered_model?: { name?: unknown } } | null)?.registered_model;
      return { name: typeof model?.name === 'string' ? model.name : name };
    },
    async getModelVersion(name, version) {
      return modelVersionOf(await request('/api/2.0/mlflow/model-versions/get', { name, version }, 'json'), 'model-versions/get');
    },
    async getModelVersionByAlias(name, alias) {
      return modelVersionOf(await request('/api/2.0/mlflow/registered-models/alias', { name, alias }, 'json'), 'registered-models/alias');
    },
    async getDownloadUri(name, version) {
      const body = await request('/api/2.0/mlflow/model-versions/get-download-uri', { name, version }, 'json');
      const uri = (body as { artifact_uri?: unknown } | null)?.artifact_uri;
      if (typeof uri !== 'string' || uri === '') {
        throw new MlflowRequestError('model-versions/get-download-uri: the answer has no artifact_uri', connection.baseUrl, 'unreachable');
      }
      return uri;
    },
    async listArtifacts(path) {
      const body = await request('/api/2.0/mlflow-artifacts/artifacts', { path }, 'json');
      const files = (body as { files?: unknown } | null)?.files;
      if (!Array.isArray(files)) return [];
      return files.flatMap((file: { path?: unknown; is_dir?: unknown; file_size?: unknown }) => {
        if (typeof file.path !== 'string') return [];
        // The proxy answers with names relative to the listed folder; older servers with full paths.
        const name = file.path.split('/').filter(Boolean).at(-1) ?? file.path;
        return [{
          path: name,
          isDir: file.is_dir === true,
          ...(typeof file.file_size === 'number' || typeof file.file_size === 'string' ? { sizeBytes: Number(file.file_size) } : {}),
        }];
      });
    },
    async downloadArtifact(path) {
      const encoded = path.split('/').map(encodeURIComponent).join('/');
      return (await request(`/api/2.0/mlflow-artifacts/artifacts/${encoded}`, {}, 'bytes')) as Buffer;
    },
    async setModelVersionAlias(name, alias, version) {
      await request('/api/2.0/mlflow/registered-models/alias', {}, 'json', { name, alias, version });
    },
  };
}

/**
 * The artifact-proxy path of an `mlflow-artifacts:` URI (`mlflow-artifacts:/1/abc/artifacts/model`
 * or `mlflow-artifacts://host:5000/1/abc/artifacts/model` → `1/abc/artifacts/model`); undefined for
 * storage the proxy does not serve (s3://, gs://, file:, dbfs:, ...).
 */
export function artifactProxyPath(artifactUri: string): string | undefined {
  const match = /^mlflow-artifacts:(?:\/\/[^/]*)?\/?(.*)$/i.exec(artifactUri);
  if (!match) return undefined;
  return (match[1] ?? '').replace(/^\/+|\/+$/g, '');
}
