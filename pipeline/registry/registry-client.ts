/**
 * A small client for the registry HTTP API v2 (https://distribution.github.io/distribution/spec/api/,
 * the OCI distribution spec's subset): what crosses GitLab jobs lives in the registry, because
 * GitLab refuses to start a job whose needed artifacts expired. Images travel through the Docker
 * engine; this client handles what the engine cannot: small JSON records stored beside an image
 * (the measured sizing, a load-test summary), read back without pulling any image layer.
 *
 * Plain HTTP for loopback registries and HTTPS otherwise, as the engine does; every request is
 * bounded by `timeoutMs`; errors are RegistryErrors naming the registry, the repository:tag,
 * the HTTP status and the registry's own message.
 */
import {
  buildRecordManifest,
  EMPTY_JSON,
  MANIFEST_ACCEPT,
  OCI_MANIFEST,
  readRecordManifest,
  sha256Digest,
} from './json-record-manifest.js';
import { assertValidRepository, assertValidTag } from './parse-image-reference.js';
import type { RegistryCredentials } from './registry-auth.js';
import { RegistryError, type RequestContext } from './registry-error.js';
import { createRegistryHttp, type RegistryHttp } from './registry-http.js';

export type { RegistryCredentials } from './registry-auth.js';
export { RegistryError } from './registry-error.js';
export { parseImageReference, type ImageReference } from './parse-image-reference.js';

/** Long enough for a slow registry under CI load, short enough that a dead one fails the job quickly. */
export const DEFAULT_REGISTRY_TIMEOUT_MS = 15_000;

export interface RegistryClientOptions {
  /** `host[:port]`, e.g. `127.0.0.1:5000` or `registry.gitlab.com`. */
  readonly host: string;
  readonly credentials?: RegistryCredentials;
  /** Bound on each request (token requests included); default DEFAULT_REGISTRY_TIMEOUT_MS. */
  readonly timeoutMs?: number;
  readonly fetchImpl?: typeof fetch;
}

export interface JsonRecord<T = unknown> {
  /** Digest of the record's manifest. */
  readonly digest: string;
  readonly value: T;
  readonly annotations: Readonly<Record<string, string>>;
}

export interface RegistryClient {
  /** True when repository:tag has a manifest (HEAD). */
  hasManifest(repository: string, tag: string): Promise<boolean>;
  /**
   * Stores `value` as a JSON record of type `mediaType` under repository:tag (layout in
   * json-record-manifest.ts), replacing what the tag held. Returns the manifest digest.
   */
  putJsonRecord(repository: string, tag: string, mediaType: string, value: unknown, annotations?: Readonly<Record<string, string>>): Promise<string>;
  /**
   * Reads the manifest and its config blob only (never layers). Undefined when the tag does
   * not exist; a RegistryError when it holds something other than a `mediaType` record.
   */
  getJsonRecord<T = unknown>(repository: string, tag: string, mediaType: string): Promise<JsonRecord<T> | undefined>;
  /**
   * Deletes the manifest the tag points to (the registry also drops every other tag on the same
   * manifest; records never share one). False when the tag does not exist.
   */
  deleteTag(repository: string, tag: string): Promise<boolean>;
}

export function openRegistry(options: RegistryClientOptions): RegistryClient {
  const timeoutMs = options.timeoutMs ?? DEFAULT_REGISTRY_TIMEOUT_MS;
  const http = createRegistryHttp({
    host: options.host,
    ...(options.credentials ? { credentials: options.credentials } : {}),
    timeoutMs,
    fetchImpl: options.fetchImpl ?? fetch,
  });
  const registry = options.host;

  const contextFor = (repository: string, tag: string, action: string): RequestContext => {
    assertValidRepository(repository);
    assertValidTag(tag);
    return { registry, reference: `${repository}:${tag}`, action };
  };

  return {
    async hasManifest(repository, tag) {
      const context = contextFor(repository, tag, 'HEAD manifest');
      return (await headManifest(http, repository, tag, context)) !== undefined;
    },

    async putJsonRecord(repository, tag, mediaType, value, annotations) {
      const context = contextFor(repository, tag, 'PUT record');
      const text = JSON.stringify(value);
      if (text === undefined) throw new Error(`${repository}:${tag}: a record value must be JSON (got ${typeof value})`);
      const config = Buffer.from(text);
      const manifest = buildRecordManifest({ tag, mediaType, config, ...(annotations ? { annotations } : {}) });
      const pushScope = `repository:${repository}:pull,push`;
      await ensureBlob(http, repository, EMPTY_JSON, pushScope, context);
      await ensureBlob(http, repository, config, pushScope, context);
      const putContext = { ...context, action: 'PUT manifest' };
      const response = await http.send({
        method: 'PUT',
        path: `/v2/${repository}/manifests/${tag}`,
        scope: pushScope,
        context: putContext,
        headers: { 'content-type': OCI_MANIFEST },
        body: manifest,
      });
      if (response.status !== 201) throw await http.unexpected(response, putContext);
      await response.body?.cancel();
      return response.headers.get('docker-content-digest') ?? sha256Digest(manifest);
    },

    async getJsonRecord<T = unknown>(repository: string, tag: string, mediaType: string): Promise<JsonRecord<T> | undefined> {
      const context = contextFor(repository, tag, 'GET record');
      const pullScope = `repository:${repository}:pull`;
      const response = await http.send({
        method: 'GET',
        path: `/v2/${repository}/manifests/${tag}`,
        scope: pullScope,
        context,
        headers: { accept: MANIFEST_ACCEPT },
      });
      if (response.status === 404) {
        await response.body?.cancel();
        return undefined;
      }
      if (response.status !== 200) throw await http.unexpected(response, context);
      const manifestBytes = Buffer.from(await response.arrayBuffer());
      const reading = readRecordManifest(manifestBytes, response.headers.get('content-type'), mediaType);
      if (!reading.ok) {
        throw new RegistryError(`registry ${registry}: ${context.reference} ${reading.problem}`, registry, context.reference, 200, reading.code);
      }
      const config = await getBlob(http, repository, reading.configDigest, pullScope, { ...context, action: 'GET record blob' });
      if (config.length !== reading.configSize) {
        throw new RegistryError(
          `registry ${registry}: the record blob of ${context.reference} has ${config.length} bytes, its manifest says ${reading.configSize}`,
          registry,
          context.reference,
          200,
          'BLOB_CORRUPT',
        );
      }
      let value: T;
      try {
        value = JSON.parse(config.toString('utf8')) as T;
      } catch {
        throw new RegistryError(`registry ${registry}: the record blob of ${context.reference} is not JSON`, registry, context.reference, 200, 'BLOB_CORRUPT');
      }
      return { digest: response.headers.get('docker-content-digest') ?? sha256Digest(manifestBytes), value, annotations: reading.annotations };
    },

    async deleteTag(repository, tag) {
      const context = contextFor(repository, tag, 'DELETE manifest');
      const digest = await headManifest(http, repository, tag, context);
      if (digest === undefined) return false;
      // Registries delete manifests by digest only (2.8 answers DIGEST_INVALID for a tag).
      const response = await http.send({
        method: 'DELETE',
        path: `/v2/${repository}/manifests/${digest}`,
        scope: `repository:${repository}:delete`,
        context,
      });
      if (response.status === 202 || response.status === 200 || response.status === 404) {
        await response.body?.cancel();
        return response.status !== 404; // 404: deleted meanwhile by someone else
      }
      // 405 means the registry runs without `storage.delete.enabled: true`.
      const hint = response.status === 405 ? 'deletes are disabled on this registry (storage.delete.enabled)' : undefined;
      throw await http.unexpected(response, { ...context, reference: `${repository}:${tag} (${digest})` }, hint);
    },
  };
}

/** The manifest digest the tag points to, or undefined when there is none. */
async function headManifest(http: RegistryHttp, repository: string, tag: string, context: RequestContext): Promise<string | undefined> {
  const path = `/v2/${repository}/manifests/${tag}`;
  const scope = `repository:${repository}:pull`;
  const response = await http.send({ method: 'HEAD', path, scope, context, headers: { accept: MANIFEST_ACCEPT } });
  if (response.status === 404) return undefined;
  if (response.status !== 200) throw await http.unexpected(response, context);
  const digest = response.headers.get('docker-content-digest');
  if (digest) return digest;
  // The header is optional in the OCI spec: the digest of the manifest's bytes is the same thing.
  const full = await http.send({ method: 'GET', path, scope, context, headers: { accept: MANIFEST_ACCEPT } });
  if (full.status === 404) return undefined;
  if (full.status !== 200) throw await http.unexpected(full, context);
  return sha256Digest(Buffer.from(await full.arrayBuffer()));
}

/** Uploads `bytes` unless the repository already has the blob (POST, then one monolithic PUT). */
async function ensureBlob(http: RegistryHttp, repository: string, bytes: Buffer, scope: string, context: RequestContext): Promise<void> {
  const digest = sha256Digest(bytes);
  const short = digest.slice(0, 19);
  const headContext = { ...context, action: `HEAD blob ${short}` };
  const head = await http.send({ method: 'HEAD', path: `/v2/${repository}/blobs/${digest}`, scope, context: headContext });
  if (head.status === 200) return;
  if (head.status !== 404) throw await http.unexpected(head, headContext);

  const startContext = { ...context, action: `POST upload of blob ${short}` };
  const started = await http.send({ method: 'POST', path: `/v2/${repository}/blobs/uploads/`, scope, context: startContext });
  const location = started.headers.get('location');
  if (started.status !== 202 || !location) throw await http.unexpected(started, startContext);
  await started.body?.cancel();

  const target = new URL(location, http.baseUrl);
  target.searchParams.set('digest', digest);
  const putContext = { ...context, action: `PUT blob ${short}` };
  const finished = await http.send({
    method: 'PUT',
    path: target.toString(),
    scope,
    context: putContext,
    headers: { 'content-type': 'application/octet-stream' },
    body: bytes,
  });
  if (finished.status !== 201) throw await http.unexpected(finished, putContext);
  await finished.body?.cancel();
}

/** A blob's bytes, checked against its digest (a redirect to storage is followed without credentials). */
async function getBlob(http: RegistryHttp, repository: string, digest: string, scope: string, context: RequestContext): Promise<Buffer> {
  const response = await http.send({ method: 'GET', path: `/v2/${repository}/blobs/${digest}`, scope, context });
  if (response.status !== 200) throw await http.unexpected(response, context);
  const bytes = Buffer.from(await response.arrayBuffer());
  if (sha256Digest(bytes) !== digest) {
    throw new RegistryError(
      `registry ${context.registry}: the blob ${digest} of ${context.reference} does not match its digest`,
      context.registry,
      context.reference,
      200,
      'BLOB_CORRUPT',
    );
  }
  return bytes;
}
