/**
 * A fake container registry on 127.0.0.1 speaking the parts of the registry HTTP API v2 that
 * `docker push` uses (https://distribution.github.io/distribution/spec/api/): the version check
 * with a Basic auth challenge, blob existence checks, chunked blob uploads and manifest uploads.
 * Blobs are hashed and counted, not kept. The Docker engine treats 127.0.0.0/8 as an insecure
 * registry, so plain HTTP works without engine configuration.
 */
import { createHash, randomUUID, type Hash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeDockerRegistry {
  /** `127.0.0.1:<port>`, usable as CI_REGISTRY. */
  readonly host: string;
  /** `<repository>:<tag>` → manifest JSON. */
  readonly manifests: Map<string, unknown>;
  /** Blob digest → size in bytes. */
  readonly blobs: Map<string, number>;
  close(): Promise<void>;
}

export async function startFakeDockerRegistry(credentials: { username: string; password: string }): Promise<FakeDockerRegistry> {
  const expected = `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
  const manifests = new Map<string, unknown>();
  const blobs = new Map<string, number>();
  const uploads = new Map<string, { hash: Hash; size: number }>();

  const server = createServer((req, res) => {
    void handle(req, res).catch((err: unknown) => {
      res.writeHead(500).end(String(err));
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    res.setHeader('Docker-Distribution-API-Version', 'registry/2.0');
    if (req.headers.authorization !== expected) {
      await drain(req);
      res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="fake-registry"', 'content-type': 'application/json' });
      res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] }));
      return;
    }
    if (url.pathname === '/v2/' || url.pathname === '/v2') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      return;
    }
    const upload = /^\/v2\/(.+)\/blobs\/uploads\/([^/]*)$/.exec(url.pathname);
    if (upload) {
      const [, name, id] = upload;
      if (req.method === 'POST') {
        // Start an upload (a cross-repository mount request starts one too: nothing to mount from).
        await drain(req);
        const uuid = randomUUID();
        uploads.set(uuid, { hash: createHash('sha256'), size: 0 });
        res.writeHead(202, { Location: `/v2/${name}/blobs/uploads/${uuid}`, 'Docker-Upload-UUID': uuid, Range: '0-0', 'content-length': '0' }).end();
        return;
      }
      const state = uploads.get(id ?? '');
      if (!state) {
        await drain(req);
        res.writeHead(404).end();
        return;
      }
      for await (const chunk of req as AsyncIterable<Buffer>) {
        state.hash.update(chunk);
        state.size += chunk.length;
      }
      if (req.method === 'PATCH') {
        res.writeHead(202, { Location: `/v2/${name}/blobs/uploads/${id}`, 'Docker-Upload-UUID': id, Range: `0-${Math.max(0, state.size - 1)}`, 'content-length': '0' }).end();
        return;
      }
      if (req.method === 'PUT') {
        const digest = `sha256:${state.hash.digest('hex')}`;
        uploads.delete(id ?? '');
        if (digest !== url.searchParams.get('digest')) {
          res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ errors: [{ code: 'DIGEST_INVALID', message: `got ${digest}` }] }));
          return;
        }
        blobs.set(digest, state.size);
        res.writeHead(201, { Location: `/v2/${name}/blobs/${digest}`, 'Docker-Content-Digest': digest, 'content-length': '0' }).end();
        return;
      }
    }
    const blob = /^\/v2\/(.+)\/blobs\/(sha256:[0-9a-f]{64})$/.exec(url.pathname);
    if (blob && (req.method === 'HEAD' || req.method === 'GET')) {
      const size = blobs.get(blob[2] ?? '');
      if (size === undefined) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'Docker-Content-Digest': blob[2], 'content-length': String(size), 'content-type': 'application/octet-stream' }).end();
      return;
    }
    const manifest = /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(url.pathname);
    if (manifest && req.method === 'PUT') {
      const chunks: Buffer[] = [];
      for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
      const body = Buffer.concat(chunks);
      const digest = `sha256:${createHash('sha256').update(body).digest('hex')}`;
      manifests.set(`${manifest[1]}:${manifest[2]}`, JSON.parse(body.toString('utf8')) as unknown);
      res.writeHead(201, { Location: `/v2/${manifest[1]}/manifests/${digest}`, 'Docker-Content-Digest': digest, 'content-length': '0' }).end();
      return;
    }
    if (manifest && (req.method === 'HEAD' || req.method === 'GET')) {
      res.writeHead(404).end();
      return;
    }
    await drain(req);
    res.writeHead(404).end();
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    host: `127.0.0.1:${port}`,
    manifests,
    blobs,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

async function drain(req: IncomingMessage): Promise<void> {
  for await (const _chunk of req as AsyncIterable<Buffer>) {
    // discard
  }
}
