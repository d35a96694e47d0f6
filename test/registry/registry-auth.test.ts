/**
 * The client's authentication flow, unit-tested in-process: small node:http servers on
 * 127.0.0.1 play a registry that answers 401 with a Basic or Bearer challenge, the Bearer
 * token service (as GitLab's /jwt/auth does), and object storage behind a blob redirect. They
 * implement only the requests this flow makes; records themselves are tested against the real
 * registry in registry-client.test.ts.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { parseChallenge } from '../../pipeline/registry/registry-auth.js';
import { openRegistry } from '../../pipeline/registry/registry-client.js';

const SIZING = 'application/vnd.modelfleet.sizing.v1+json';
const REPOSITORY = 'group/project/match-7';
const CREDENTIALS = { username: 'gitlab-ci-token', password: 's3cret' };
const BASIC = `Basic ${Buffer.from('gitlab-ci-token:s3cret').toString('base64')}`;

const sha256 = (bytes: string | Buffer): string => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

/** A record as the client writes it, served by the fake registry. */
const CONFIG = Buffer.from(JSON.stringify({ limit: '80Mi' }));
const MANIFEST = Buffer.from(
  JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/json', digest: sha256(CONFIG), size: CONFIG.length },
    layers: [{ mediaType: 'application/vnd.oci.empty.v1+json', digest: sha256('{}'), size: 2 }],
    annotations: { 'io.modelfleet.record.tag': 'sizing', 'io.modelfleet.record.type': SIZING },
  }),
);

/** One request a fake server saw; `status` 401 when it refused the request's authorization. */
interface Seen {
  readonly path: string;
  readonly authorization: string | undefined;
  readonly status: number;
}

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

async function listen(handler: (request: IncomingMessage, response: ServerResponse, origin: string) => void): Promise<string> {
  let origin = '';
  const server = createServer((request, response) => handler(request, response, origin));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return origin;
}

function unauthorized(response: ServerResponse, challenge: string): void {
  response.writeHead(401, { 'www-authenticate': challenge, 'content-type': 'application/json' });
  response.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] }));
}

/** Storage that blob GETs redirect to (another origin, like a signed S3/GCS URL). */
async function startStorage(): Promise<{ origin: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const origin = await listen((request, response) => {
    seen.push({ path: request.url ?? '', authorization: request.headers.authorization, status: 200 });
    response.writeHead(200, { 'content-type': 'application/octet-stream' });
    response.end(CONFIG);
  });
  return { origin, seen };
}

interface BearerRegistry {
  readonly host: string;
  readonly seen: Seen[];
  readonly tokenRequests: Array<{ readonly query: URLSearchParams; readonly authorization: string | undefined }>;
  /** Makes the registry refuse every token issued so far (as when they expire). */
  revokeTokens(): void;
}

/**
 * GitLab's flow: /v2/* wants `Bearer <token>` and challenges with realm, service and scope;
 * the token service wants the credentials (when `requireCredentials`) and answers `token`
 * (or `access_token`, as OAuth2-style services do).
 */
async function startBearerRegistry(options: { requireCredentials: boolean; tokenField: 'token' | 'access_token'; storage?: string }): Promise<BearerRegistry> {
  const seen: Seen[] = [];
  const tokenRequests: BearerRegistry['tokenRequests'] = [];
  const valid = new Set<string>();
  let issued = 0;
  const origin = await listen((request, response, self) => {
    const url = new URL(request.url ?? '/', self);
    const authorization = request.headers.authorization;
    if (url.pathname === '/jwt/auth') {
      tokenRequests.push({ query: url.searchParams, authorization });
      if (options.requireCredentials && authorization !== BASIC) {
        response.writeHead(401, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'HTTP Basic: Access denied' }] }));
        return;
      }
      issued += 1;
      const token = `token-${issued}`;
      valid.add(`Bearer ${token}`);
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ [options.tokenField]: token, expires_in: 300 }));
      return;
    }
    const ok = authorization !== undefined && valid.has(authorization);
    seen.push({ path: `${request.method} ${url.pathname}`, authorization, status: ok ? 200 : 401 });
    if (!ok) {
      unauthorized(response, `Bearer realm="${self}/jwt/auth",service="container_registry",scope="repository:${REPOSITORY}:pull"`);
      return;
    }
    if (url.pathname === `/v2/${REPOSITORY}/manifests/sizing`) {
      response.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json', 'docker-content-digest': sha256(MANIFEST) });
      response.end(request.method === 'HEAD' ? undefined : MANIFEST);
      return;
    }
    if (url.pathname === `/v2/${REPOSITORY}/blobs/${sha256(CONFIG)}` && options.storage) {
      response.writeHead(307, { location: `${options.storage}/signed/${sha256(CONFIG)}?sig=abc` });
      response.end();
      return;
    }
    response.writeHead(404, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ errors: [{ code: 'MANIFEST_UNKNOWN', message: 'manifest unknown' }] }));
  });
  return { host: origin.replace('http://', ''), seen, tokenRequests, revokeTokens: () => valid.clear() };
}

describe('Bearer token flow', () => {
  it('fetches a token from the realm with service, scope and the credentials, then retries with it', async () => {
    const registry = await startBearerRegistry({ requireCredentials: true, tokenField: 'token' });

    const present = await openRegistry({ host: registry.host, credentials: CREDENTIALS, timeoutMs: 2_000 }).hasManifest(REPOSITORY, 'sizing');

    expect(present).toBe(true);
    expect(registry.tokenRequests).toHaveLength(1);
    expect(registry.tokenRequests[0]!.authorization).toBe(BASIC);
    expect(Object.fromEntries(registry.tokenRequests[0]!.query)).toEqual({ service: 'container_registry', scope: `repository:${REPOSITORY}:pull` });
    expect(registry.seen.map((entry) => [entry.authorization, entry.status])).toEqual([
      [undefined, 401],
      ['Bearer token-1', 200],
    ]);
  });

  it('reuses the token of a scope for later requests of the same client', async () => {
    const registry = await startBearerRegistry({ requireCredentials: true, tokenField: 'token' });
    const client = openRegistry({ host: registry.host, credentials: CREDENTIALS, timeoutMs: 2_000 });

    await client.hasManifest(REPOSITORY, 'sizing');
    await client.hasManifest(REPOSITORY, 'other');

    expect(registry.tokenRequests).toHaveLength(1);
    expect(registry.seen.map((entry) => entry.authorization)).toEqual([undefined, 'Bearer token-1', 'Bearer token-1']);
  });

  it('asks for a token anonymously when it has no credentials, and takes access_token too', async () => {
    const registry = await startBearerRegistry({ requireCredentials: false, tokenField: 'access_token' });

    expect(await openRegistry({ host: registry.host, timeoutMs: 2_000 }).hasManifest(REPOSITORY, 'sizing')).toBe(true);
    expect(registry.tokenRequests[0]!.authorization).toBeUndefined();
  });

  it('fetches a new token when the registry stops accepting the cached one', async () => {
    const registry = await startBearerRegistry({ requireCredentials: true, tokenField: 'token' });
    const client = openRegistry({ host: registry.host, credentials: CREDENTIALS, timeoutMs: 2_000 });
    await client.hasManifest(REPOSITORY, 'sizing');

    registry.revokeTokens();

    expect(await client.hasManifest(REPOSITORY, 'sizing')).toBe(true);
    expect(registry.tokenRequests).toHaveLength(2);
  });

  it('reads a record, following the blob redirect to storage without sending it any credentials', async () => {
    const storage = await startStorage();
    const registry = await startBearerRegistry({ requireCredentials: true, tokenField: 'token', storage: storage.origin });

    const record = await openRegistry({ host: registry.host, credentials: CREDENTIALS, timeoutMs: 2_000 }).getJsonRecord(REPOSITORY, 'sizing', SIZING);

    expect(record).toEqual({ digest: sha256(MANIFEST), value: { limit: '80Mi' }, annotations: {} });
    expect(storage.seen).toEqual([{ path: `/signed/${sha256(CONFIG)}?sig=abc`, authorization: undefined, status: 200 }]);
  });

  it("names the token service, its status and its message when it refuses the credentials", async () => {
    const registry = await startBearerRegistry({ requireCredentials: true, tokenField: 'token' });
    const client = openRegistry({ host: registry.host, credentials: { username: 'gitlab-ci-token', password: 'wrong' }, timeoutMs: 2_000 });

    await expect(client.hasManifest(REPOSITORY, 'sizing')).rejects.toThrow(
      `registry ${registry.host}: token for HEAD manifest (http://${registry.host}/jwt/auth, scope repository:${REPOSITORY}:pull) ` +
        `for ${REPOSITORY}:sizing answered HTTP 401 UNAUTHORIZED: HTTP Basic: Access denied (the credentials were refused)`,
    );
  });
});

describe('Basic challenge', () => {
  async function startBasicRegistry(): Promise<{ host: string; seen: Seen[] }> {
    const seen: Seen[] = [];
    const origin = await listen((request, response) => {
      const ok = request.headers.authorization === BASIC;
      seen.push({ path: `${request.method} ${request.url}`, authorization: request.headers.authorization, status: ok ? 200 : 401 });
      if (!ok) {
        unauthorized(response, 'Basic realm="basic-realm"');
        return;
      }
      response.writeHead(200, { 'docker-content-digest': sha256(MANIFEST) });
      response.end();
    });
    return { host: origin.replace('http://', ''), seen };
  }

  it('answers a Basic challenge with the credentials, then sends them up front', async () => {
    const registry = await startBasicRegistry();
    const client = openRegistry({ host: registry.host, credentials: CREDENTIALS, timeoutMs: 2_000 });

    expect(await client.hasManifest(REPOSITORY, 'sizing')).toBe(true);
    expect(await client.hasManifest(REPOSITORY, 'other')).toBe(true);
    expect(registry.seen.map((entry) => [entry.authorization, entry.status])).toEqual([
      [undefined, 401],
      [BASIC, 200],
      [BASIC, 200],
    ]);
  });

  it('fails naming the registry, the tag and the 401 when it has no credentials to give', async () => {
    const registry = await startBasicRegistry();

    await expect(openRegistry({ host: registry.host, timeoutMs: 2_000 }).hasManifest(REPOSITORY, 'sizing')).rejects.toThrow(
      `registry ${registry.host}: HEAD manifest for ${REPOSITORY}:sizing answered HTTP 401: Unauthorized (the registry wants credentials and none were given)`,
    );
  });
});

describe('parseChallenge', () => {
  it.each([
    [
      'Bearer realm="https://gitlab.com/jwt/auth",service="container_registry",scope="repository:group/m:pull,push"',
      { scheme: 'bearer', realm: 'https://gitlab.com/jwt/auth', service: 'container_registry', scope: 'repository:group/m:pull,push' },
    ],
    ['bearer realm=http://127.0.0.1:1/token, service=test', { scheme: 'bearer', realm: 'http://127.0.0.1:1/token', service: 'test' }],
    ['Bearer realm="https://a/t",error="insufficient_scope",scope="repository:a:pull"', { scheme: 'bearer', realm: 'https://a/t', scope: 'repository:a:pull' }],
    ['Basic realm="basic-realm"', { scheme: 'basic', realm: 'basic-realm' }],
    ['Basic', { scheme: 'basic' }],
    ['Bearer service="no-realm"', undefined],
    ['Negotiate abc', undefined],
    ['', undefined],
    [null, undefined],
  ])('%j → %j', (header, expected) => {
    expect(parseChallenge(header)).toEqual(expected);
  });
});
