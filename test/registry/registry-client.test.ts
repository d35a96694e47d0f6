/**
 * The registry client against the real registry (distribution 2.8 on 127.0.0.1:5000), plus
 * its failure messages against small in-process servers where only a misbehaving registry
 * can produce them. Every test uses its own repository, so the file runs in parallel with others.
 */
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openRegistry, RegistryError, type RegistryClient } from '../../pipeline/registry/registry-client.js';
import { requireRegistry, uniqueRepository } from '../support/registry.js';

const SIZING = 'application/vnd.modelfleet.sizing.v1+json';
const LOADTEST_SUMMARY = 'application/vnd.modelfleet.loadtest-summary.v1+json';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

const sha256 = (bytes: string | Buffer): string => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

describe('registry client against the real registry', () => {
  let registry: string;
  let client: RegistryClient;

  beforeAll(async () => {
    registry = await requireRegistry();
    client = openRegistry({ host: registry, timeoutMs: 10_000 });
  });

  it('stores a JSON record and reads it back with its annotations', async () => {
    const repository = uniqueRepository();
    const value = { peakWorkingSetBytes: 55_574_528, limit: '80Mi', curve: [[0, 41.5], [1000, 53.2]] };
    const annotations = { 'io.modelfleet.model': 'match-7-moto-baseline', 'org.opencontainers.image.revision': '0123abcd' };

    const digest = await client.putJsonRecord(repository, 'sizing-0123abcd', SIZING, value, annotations);

    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(await client.hasManifest(repository, 'sizing-0123abcd')).toBe(true);
    expect(await client.getJsonRecord(repository, 'sizing-0123abcd', SIZING)).toEqual({ digest, value, annotations });
  });

  it('stores a manifest GitLab accepts: application/json config, one empty layer, the record type as an annotation', async () => {
    const repository = uniqueRepository();
    const value = { p99Ms: 4.2 };
    await client.putJsonRecord(repository, 'summary', LOADTEST_SUMMARY, value);

    const response = await fetch(`http://${registry}/v2/${repository}/manifests/summary`, {
      headers: { accept: OCI_MANIFEST },
      signal: AbortSignal.timeout(5_000),
    });
    const manifest = (await response.json()) as Record<string, unknown>;

    expect(response.headers.get('content-type')).toBe(OCI_MANIFEST);
    expect(manifest).toEqual({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: 'application/json', digest: sha256(JSON.stringify(value)), size: JSON.stringify(value).length },
      layers: [{ mediaType: 'application/vnd.oci.empty.v1+json', digest: sha256('{}'), size: 2 }],
      annotations: { 'io.modelfleet.record.tag': 'summary', 'io.modelfleet.record.type': LOADTEST_SUMMARY },
    });
  });

  it('reads a record with one manifest request and one blob request, never a layer', async () => {
    const repository = uniqueRepository();
    const value = { limitBytes: 83_886_080 };
    await client.putJsonRecord(repository, 'sizing', SIZING, value);
    const requests: string[] = [];
    const recording = openRegistry({
      host: registry,
      timeoutMs: 10_000,
      fetchImpl: (input, init) => {
        requests.push(`${init?.method ?? 'GET'} ${new URL(input instanceof Request ? input.url : input).pathname}`);
        return fetch(input, init);
      },
    });

    await recording.getJsonRecord(repository, 'sizing', SIZING);

    expect(requests).toEqual([`GET /v2/${repository}/manifests/sizing`, `GET /v2/${repository}/blobs/${sha256(JSON.stringify(value))}`]);
  });

  it('answers undefined and false for a tag that does not exist, in a new or an existing repository', async () => {
    const fresh = uniqueRepository();
    expect(await client.getJsonRecord(fresh, 'sizing', SIZING)).toBeUndefined();
    expect(await client.hasManifest(fresh, 'sizing')).toBe(false);
    expect(await client.deleteTag(fresh, 'sizing')).toBe(false);

    const existing = uniqueRepository();
    await client.putJsonRecord(existing, 'present', SIZING, {});
    expect(await client.getJsonRecord(existing, 'absent', SIZING)).toBeUndefined();
    expect(await client.hasManifest(existing, 'absent')).toBe(false);
  });

  it('replaces the record a tag holds when the same tag is written again', async () => {
    const repository = uniqueRepository();
    await client.putJsonRecord(repository, 'sizing', SIZING, { limit: '64Mi' });
    const second = await client.putJsonRecord(repository, 'sizing', SIZING, { limit: '96Mi' });

    expect(await client.getJsonRecord(repository, 'sizing', SIZING)).toMatchObject({ digest: second, value: { limit: '96Mi' } });
  });

  it('deletes a tag, after which the record is gone', async () => {
    const repository = uniqueRepository();
    await client.putJsonRecord(repository, 'sizing', SIZING, { limit: '80Mi' });

    expect(await client.deleteTag(repository, 'sizing')).toBe(true);
    expect(await client.hasManifest(repository, 'sizing')).toBe(false);
    expect(await client.getJsonRecord(repository, 'sizing', SIZING)).toBeUndefined();
    expect(await client.deleteTag(repository, 'sizing')).toBe(false);
  });

  it('keeps a record under another tag that holds the same value when one tag is deleted', async () => {
    // The registry deletes a manifest with every tag on it; records must never share one.
    const repository = uniqueRepository();
    const first = await client.putJsonRecord(repository, 'sizing-aaaa', SIZING, { limit: '80Mi' });
    const second = await client.putJsonRecord(repository, 'sizing-bbbb', SIZING, { limit: '80Mi' });
    expect(first).not.toBe(second);

    await client.deleteTag(repository, 'sizing-aaaa');

    expect(await client.getJsonRecord(repository, 'sizing-bbbb', SIZING)).toMatchObject({ value: { limit: '80Mi' } });
  });

  it('refuses to read a record of another media type, naming the registry, the tag and both types', async () => {
    const repository = uniqueRepository();
    await client.putJsonRecord(repository, 'record', SIZING, { limit: '80Mi' });

    const reading = client.getJsonRecord(repository, 'record', LOADTEST_SUMMARY);

    await expect(reading).rejects.toThrow(
      `registry ${registry}: ${repository}:record holds a ${SIZING} record, not a ${LOADTEST_SUMMARY} record`,
    );
    await expect(reading).rejects.toMatchObject({ name: 'RegistryError', code: 'RECORD_TYPE_MISMATCH' });
  });

  it('refuses to read an OCI image as a record', async () => {
    const repository = uniqueRepository('image');
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));
    await pushBlob(registry, repository, config);
    const manifest = {
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
      layers: [],
    };
    const put = await fetch(`http://${registry}/v2/${repository}/manifests/v1`, {
      method: 'PUT',
      headers: { 'content-type': OCI_MANIFEST },
      body: JSON.stringify(manifest),
      signal: AbortSignal.timeout(5_000),
    });
    expect(put.status).toBe(201);

    await expect(client.getJsonRecord(repository, 'v1', SIZING)).rejects.toThrow(
      `${repository}:v1 holds an image (${OCI_MANIFEST}, config application/vnd.oci.image.config.v1+json), not a ${SIZING} record`,
    );
  });

  it('rejects repository names and tags that could leave the URL path before sending anything', async () => {
    await expect(client.hasManifest('../../v2/_catalog', 'x')).rejects.toThrow(/is not a valid repository name/);
    await expect(client.hasManifest('group/model', '../latest')).rejects.toThrow(/is not a valid tag/);
    await expect(client.putJsonRecord(uniqueRepository(), 'x', 'not a media type', {})).rejects.toThrow(/is not a media type/);
  });
});

describe('registry client failures', () => {
  const servers: Server[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
  });

  const listen = async (handler: Parameters<typeof createServer>[1]): Promise<string> => {
    const server = createServer(handler);
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `127.0.0.1:${(server.address() as AddressInfo).port}`;
  };

  it("names the registry, the tag, the HTTP status and the registry's own message", async () => {
    const host = await listen((_request, response) => {
      response.writeHead(500, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ errors: [{ code: 'UNKNOWN', message: 'unknown error', detail: 's3: RequestTimeout' }] }));
    });

    const reading = openRegistry({ host, timeoutMs: 2_000 }).getJsonRecord('group/model', 'sizing-0123', SIZING);

    await expect(reading).rejects.toThrow(
      `registry ${host}: GET record for group/model:sizing-0123 answered HTTP 500 UNKNOWN: unknown error (s3: RequestTimeout)`,
    );
    await expect(reading).rejects.toBeInstanceOf(RegistryError);
  });

  it('says that the registry does not answer when nothing listens on its port', async () => {
    const host = await listen(() => undefined);
    await new Promise((resolve) => servers.pop()!.close(resolve));

    await expect(openRegistry({ host, timeoutMs: 2_000 }).hasManifest('group/model', 'x')).rejects.toThrow(
      new RegExp(`^registry ${host.replace(/\./g, '\\.')} does not answer \\(connection refused\\): HEAD manifest for group/model:x`),
    );
  });

  it('gives up after timeoutMs when the registry accepts the connection but never answers', async () => {
    const host = await listen(() => undefined); // holds every request open
    const started = Date.now();

    await expect(openRegistry({ host, timeoutMs: 300 }).hasManifest('group/model', 'x')).rejects.toThrow(
      `registry ${host} did not answer within 300 ms`,
    );
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('says that deletes are disabled when the registry answers 405', async () => {
    const host = await listen((request, response) => {
      if (request.method === 'HEAD') {
        response.writeHead(200, { 'docker-content-digest': sha256('m') });
        response.end();
        return;
      }
      response.writeHead(405, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ errors: [{ code: 'UNSUPPORTED', message: 'The operation is unsupported.' }] }));
    });

    await expect(openRegistry({ host, timeoutMs: 2_000 }).deleteTag('group/model', 'x')).rejects.toThrow(
      /answered HTTP 405 UNSUPPORTED: The operation is unsupported\. \(deletes are disabled on this registry \(storage\.delete\.enabled\)\)/,
    );
  });
});

/** A blob pushed the plain way (POST, then PUT with the digest), to build manifests by hand. */
async function pushBlob(registry: string, repository: string, bytes: Buffer): Promise<void> {
  const started = await fetch(`http://${registry}/v2/${repository}/blobs/uploads/`, { method: 'POST', signal: AbortSignal.timeout(5_000) });
  expect(started.status).toBe(202);
  const target = new URL(started.headers.get('location')!, `http://${registry}`);
  target.searchParams.set('digest', sha256(bytes));
  const finished = await fetch(target, { method: 'PUT', body: bytes, signal: AbortSignal.timeout(5_000) });
  expect(finished.status).toBe(201);
}
