/** How references and registry hosts are read: the Docker engine's rules, as pure functions. */
import { describe, expect, it } from 'vitest';
import { parseImageReference } from '../../pipeline/registry/parse-image-reference.js';
import { isLoopbackHost, registryBaseUrl } from '../../pipeline/registry/registry-base-url.js';
import { openRegistry } from '../../pipeline/registry/registry-client.js';

describe('parseImageReference', () => {
  it.each([
    ['127.0.0.1:5000/modelfleet/match-7:0123abcd', '127.0.0.1:5000', 'modelfleet/match-7', '0123abcd'],
    ['registry.gitlab.com/group/proj/m:tag', 'registry.gitlab.com', 'group/proj/m', 'tag'],
    ['registry.gitlab.com/group/sub.group/proj/m_2:v1.2-rc', 'registry.gitlab.com', 'group/sub.group/proj/m_2', 'v1.2-rc'],
    ['localhost/m:1', 'localhost', 'm', '1'],
    ['localhost:5000/m', 'localhost:5000', 'm', 'latest'],
    ['[::1]:5000/group/m:x', '[::1]:5000', 'group/m', 'x'],
    ['registry.example.com:443/m', 'registry.example.com:443', 'm', 'latest'],
    // No dot, colon or "localhost" in the first component: a Docker Hub path, as the engine reads it.
    ['modelfleet/base:local', 'docker.io', 'modelfleet/base', 'local'],
    ['group/proj/m:tag', 'docker.io', 'group/proj/m', 'tag'],
    ['ubuntu', 'docker.io', 'library/ubuntu', 'latest'],
    ['node:20-bookworm-slim', 'docker.io', 'library/node', '20-bookworm-slim'],
  ])('%s → host %s, repository %s, tag %s', (ref, host, repository, tag) => {
    expect(parseImageReference(ref)).toEqual({ host, repository, tag });
  });

  it.each([
    ['127.0.0.1:5000/Modelfleet/m:1', /not a valid repository name/],
    ['127.0.0.1:5000/../m:1', /not a valid repository name/],
    ['127.0.0.1:5000/m:-bad', /not a valid tag/],
    ['127.0.0.1:5000/m:', /not a valid tag/],
    ['127.0.0.1:5000/m@sha256:0123', /names a digest; a tag is needed/],
    ['', /not a valid repository name/],
    [`127.0.0.1:5000/${'a'.repeat(256)}:1`, /not a valid repository name/],
  ])('rejects %s', (ref, message) => {
    expect(() => parseImageReference(ref)).toThrow(message);
  });
});

describe('registry addressing', () => {
  it.each([
    ['127.0.0.1:5000', true],
    ['127.0.0.1', true],
    ['127.255.3.9:80', true],
    ['localhost:5000', true],
    ['[::1]:5000', true],
    ['128.0.0.1:5000', false],
    ['127.0.0.1.example.com', false],
    ['10.0.0.7:5000', false],
    ['registry.gitlab.com', false],
  ])('%s is loopback: %s', (host, loopback) => {
    expect(isLoopbackHost(host)).toBe(loopback);
    expect(registryBaseUrl(host)).toBe(`${loopback ? 'http' : 'https'}://${host}`);
  });

  it('talks HTTPS to a registry that is not on loopback, and plain HTTP to one that is', async () => {
    const urls: string[] = [];
    const recordOnly: typeof fetch = (input) => {
      urls.push(String(input));
      return Promise.resolve(new Response(null, { status: 404 }));
    };

    await openRegistry({ host: 'registry.gitlab.com', fetchImpl: recordOnly }).hasManifest('group/proj/m', 'sizing');
    await openRegistry({ host: '127.0.0.1:5000', fetchImpl: recordOnly }).hasManifest('group/proj/m', 'sizing');

    expect(urls).toEqual([
      'https://registry.gitlab.com/v2/group/proj/m/manifests/sizing',
      'http://127.0.0.1:5000/v2/group/proj/m/manifests/sizing',
    ]);
  });
});
