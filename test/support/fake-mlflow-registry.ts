/**
 * A fake MLflow tracking server on 127.0.0.1 for the calls modelfleet makes: the model registry
 * (registered-models/get, model-versions/get, registered-models/alias to read and to set an alias,
 * model-versions/get-download-uri) and the artifact proxy (mlflow-artifacts/artifacts). Answers,
 * including errors (`{"error_code": "RESOURCE_DOES_NOT_EXIST", "message": ...}` with 404, aliases
 * with 400 INVALID_PARAMETER_VALUE), follow MLflow's REST API
 * (https://mlflow.org/docs/latest/api_reference/rest-api.html).
 */
import { readdir, readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { listenOnLoopback } from './listen-on-loopback.js';

export interface FakeModelVersion {
  /** A local folder whose files are served as the version's artifacts. */
  readonly dir: string;
  /** What get-download-uri answers; default `mlflow-artifacts:/1/<run>/artifacts/model`. */
  readonly artifactUri?: string;
}

export interface FakeRegisteredModel {
  readonly versions: Readonly<Record<string, FakeModelVersion>>;
  readonly aliases?: Readonly<Record<string, string>>;
}

export interface FakeMlflowRegistryOptions {
  readonly models: Readonly<Record<string, FakeRegisteredModel>>;
  /** When set, every request must carry `Authorization: Bearer <token>`. */
  readonly token?: string;
}

export interface FakeMlflowRegistry {
  readonly url: string;
  /** Paths (with query) of every request, in order. */
  readonly requests: string[];
  /** Every POST: path, Content-Type and the body as sent. */
  readonly posts: { readonly path: string; readonly contentType: string | undefined; readonly body: string }[];
  /** Where each registered model's aliases point now (POSTs move them). */
  aliasesOf(name: string): Record<string, string>;
  close(): Promise<void>;
}

export async function startFakeMlflowRegistry(options: FakeMlflowRegistryOptions): Promise<FakeMlflowRegistry> {
  const requests: string[] = [];
  const posts: FakeMlflowRegistry['posts'] = [];
  const aliases = new Map(Object.entries(options.models).map(([name, model]) => [name, { ...model.aliases }]));
  // artifact proxy path -> local folder
  const roots = new Map<string, string>();
  let run = 0;
  const uris = new Map<string, string>();
  for (const [name, model] of Object.entries(options.models)) {
    for (const [version, info] of Object.entries(model.versions)) {
      run += 1;
      const uri = info.artifactUri ?? `mlflow-artifacts:/1/run${run}/artifacts/model`;
      uris.set(`${name}\0${version}`, uri);
      const proxyPath = /^mlflow-artifacts:(?:\/\/[^/]*)?\/?(.*)$/.exec(uri)?.[1];
      if (proxyPath !== undefined) roots.set(proxyPath.replace(/\/+$/, ''), info.dir);
    }
  }

  const versionJson = (name: string, version: string) => ({
    model_version: {
      name,
      version,
      source: uris.get(`${name}\0${version}`),
      run_id: `run-${version}`,
      status: 'READY',
      aliases: Object.entries(aliases.get(name) ?? {}).filter(([, v]) => v === version).map(([alias]) => alias),
    },
  });

  const server = createServer((req, res) => {
    void handle(req, res).catch((err: unknown) => send(res, 500, { error_code: 'INTERNAL_ERROR', message: String(err) }));
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    requests.push(`${url.pathname}${url.search}`);
    if (options.token && req.headers.authorization !== `Bearer ${options.token}`) {
      send(res, 401, { error_code: 'UNAUTHENTICATED', message: 'You are not authenticated.' });
      return;
    }
    const q = url.searchParams;
    const name = q.get('name') ?? '';
    const model = options.models[name];
    const noModel = () => send(res, 404, { error_code: 'RESOURCE_DOES_NOT_EXIST', message: `Registered Model with name=${name} not found` });
    switch (url.pathname) {
      case '/api/2.0/mlflow/registered-models/get':
        if (!model) return noModel();
        return send(res, 200, { registered_model: { name } });
      case '/api/2.0/mlflow/model-versions/get':
      case '/api/2.0/mlflow/model-versions/get-download-uri': {
        const version = q.get('version') ?? '';
        if (!model?.versions[version]) {
          return send(res, 404, { error_code: 'RESOURCE_DOES_NOT_EXIST', message: `Model Version (name=${name}, version=${version}) not found` });
        }
        if (url.pathname.endsWith('get-download-uri')) return send(res, 200, { artifact_uri: uris.get(`${name}\0${version}`) });
        return send(res, 200, versionJson(name, version));
      }
      case '/api/2.0/mlflow/registered-models/alias': {
        if (req.method === 'POST') return setAlias(req, res);
        const alias = q.get('alias') ?? '';
        const version = aliases.get(name)?.[alias];
        if (!model) return noModel();
        if (!version) return send(res, 400, { error_code: 'INVALID_PARAMETER_VALUE', message: `Registered model alias ${alias} not found.` });
        return send(res, 200, versionJson(name, version));
      }
      case '/api/2.0/mlflow-artifacts/artifacts':
        return listArtifacts(res, q.get('path') ?? '');
      default:
        if (url.pathname.startsWith('/api/2.0/mlflow-artifacts/artifacts/')) {
          return downloadArtifact(res, decodeURIComponent(url.pathname.slice('/api/2.0/mlflow-artifacts/artifacts/'.length)));
        }
        send(res, 404, { error_code: 'ENDPOINT_NOT_FOUND', message: `No API endpoint ${url.pathname}` });
    }
  }

  /** SetRegisteredModelAlias: a JSON body {name, alias, version}; answers `{}`. */
  async function setAlias(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    posts.push({ path: '/api/2.0/mlflow/registered-models/alias', contentType: req.headers['content-type'], body });
    let parsed: { name?: unknown; alias?: unknown; version?: unknown };
    try {
      parsed = JSON.parse(body) as typeof parsed;
    } catch {
      return send(res, 400, { error_code: 'MALFORMED_REQUEST', message: 'Request body is not valid JSON' });
    }
    const { name, alias, version } = parsed;
    if (typeof name !== 'string' || typeof alias !== 'string' || typeof version !== 'string') {
      return send(res, 400, { error_code: 'INVALID_PARAMETER_VALUE', message: 'name, alias and version must be strings' });
    }
    const model = options.models[name];
    if (!model) return send(res, 404, { error_code: 'RESOURCE_DOES_NOT_EXIST', message: `Registered Model with name=${name} not found` });
    if (!model.versions[version]) {
      return send(res, 404, { error_code: 'RESOURCE_DOES_NOT_EXIST', message: `Model Version (name=${name}, version=${version}) not found` });
    }
    aliases.set(name, { ...aliases.get(name), [alias]: version });
    send(res, 200, {});
  }

  /** Maps a proxy path to a local file or folder, or undefined. */
  function localPath(path: string): string | undefined {
    const clean = path.replace(/^\/+|\/+$/g, '');
    for (const [root, dir] of roots) {
      if (clean === root) return dir;
      if (clean.startsWith(`${root}/`)) {
        const rest = clean.slice(root.length + 1);
        if (rest.split('/').includes('..')) return undefined;
        return join(dir, rest);
      }
    }
    return undefined;
  }

  async function listArtifacts(res: ServerResponse, path: string): Promise<void> {
    const local = localPath(path);
    const entries = local ? await readdir(local, { withFileTypes: true }).catch(() => []) : [];
    const files = await Promise.all(entries.map(async (entry) => ({
      // Like MLflow's proxy: names relative to the listed folder.
      path: entry.name,
      is_dir: entry.isDirectory(),
      ...(entry.isFile() ? { file_size: (await readFile(join(local ?? '', entry.name))).length } : {}),
    })));
    send(res, 200, files.length > 0 ? { files } : {});
  }

  async function downloadArtifact(res: ServerResponse, path: string): Promise<void> {
    const local = localPath(path);
    const bytes = local ? await readFile(local).catch(() => undefined) : undefined;
    if (!bytes) return send(res, 404, { error_code: 'RESOURCE_DOES_NOT_EXIST', message: `File ${path} not found` });
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': bytes.length });
    res.end(bytes);
  }

  return {
    url: await listenOnLoopback(server),
    requests,
    posts,
    aliasesOf: (name) => ({ ...aliases.get(name) }),
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

