import { createHash } from 'node:crypto';
import { mkdtemp, mkdir, rm, utimes, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeContentDigest, resolveImageTag, type ImageContent } from '../../pipeline/build/image-tag.js';
import { packBuildContext } from '../../pipeline/build/pack-build-context.js';
import { collectPackageClosure, keepFile } from '../../pipeline/build/prepare-runtime-dependencies.js';
import { registryTargetFor } from '../../pipeline/build/registry-target.js';
import { packageNameOf, traceServeClosure } from '../../pipeline/build/trace-serve-closure.js';

const REPO_ROOT = resolve(import.meta.dirname, '../..');

const content: ImageContent = {
  deployName: 'match-2-taxi',
  dockerfile: 'FROM ${BASE_IMAGE}\n',
  baseImage: 'node:20-bookworm-slim',
  runtimeDependenciesKey: 'a'.repeat(64),
  servingCodeDigest: 'sha256:' + 'b'.repeat(64),
  artifactDigest: 'sha256:' + 'c'.repeat(64),
  buildArgs: { BASE_IMAGE: 'node:20-bookworm-slim', MODEL_NAME: 'match-2-taxi' },
  labels: { 'io.modelfleet.model': 'match-2-taxi' },
};

describe('image tags', () => {
  it('tags modelfleet/<deployName>:<12 hex of the content digest>', () => {
    expect(resolveImageTag(content)).toBe(`modelfleet/match-2-taxi:${computeContentDigest(content).slice(0, 12)}`);
    expect(resolveImageTag(content)).toMatch(/^modelfleet\/match-2-taxi:[0-9a-f]{12}$/);
  });

  it('changes the tag when anything that goes into the image changes', () => {
    const base = resolveImageTag(content);
    const variations: ImageContent[] = [
      { ...content, artifactDigest: 'sha256:' + 'd'.repeat(64) },
      { ...content, servingCodeDigest: 'sha256:' + 'e'.repeat(64) },
      { ...content, runtimeDependenciesKey: 'f'.repeat(64) },
      { ...content, dockerfile: 'FROM ${BASE_IMAGE}\nUSER 1\n' },
      { ...content, baseImage: 'node:20-bookworm-slim@sha256:' + '1'.repeat(64) },
      { ...content, labels: { 'io.modelfleet.model': 'other' } },
    ];
    for (const varied of variations) expect(resolveImageTag(varied)).not.toBe(base);
  });

  it('does not depend on the order of labels or build arguments', () => {
    const reordered = { ...content, buildArgs: { MODEL_NAME: 'match-2-taxi', BASE_IMAGE: 'node:20-bookworm-slim' } };
    expect(resolveImageTag(reordered)).toBe(resolveImageTag(content));
  });
});

describe('what goes into the image', () => {
  it('prunes onnxruntime-node to its linux/x64 binaries and drops declarations and source maps', () => {
    expect(keepFile('bin/napi-v6/linux/x64/libonnxruntime.so.1', 'onnxruntime-node')).toBe(true);
    expect(keepFile('bin/napi-v6/linux/arm64/libonnxruntime.so.1', 'onnxruntime-node')).toBe(false);
    expect(keepFile('bin/napi-v6/darwin/arm64/libonnxruntime.dylib', 'onnxruntime-node')).toBe(false);
    expect(keepFile('bin/napi-v6/win32/x64/onnxruntime.dll', 'onnxruntime-node')).toBe(false);
    expect(keepFile('dist/index.js', 'onnxruntime-node')).toBe(true);
    expect(keepFile('types/index.d.ts', 'fastify')).toBe(false);
    expect(keepFile('lib/index.js.map', 'pino')).toBe(false);
    expect(keepFile('node_modules/nested/index.js', 'fastify')).toBe(false);
    expect(keepFile('LICENSE.md', 'fastify')).toBe(true);
  });

  it('reads package names from import specifiers, scoped ones included', () => {
    expect(packageNameOf('fastify')).toBe('fastify');
    expect(packageNameOf('js-yaml/dist/js-yaml.mjs')).toBe('js-yaml');
    expect(packageNameOf('@fastify/ajv-compiler/lib/x.js')).toBe('@fastify/ajv-compiler');
  });

  it('collects the production dependency closure of a package from node_modules', async () => {
    const closure = (await collectPackageClosure(REPO_ROOT, ['onnxruntime-node'])).map((pkg) => pkg.target);
    expect(closure).toContain('onnxruntime-node');
    expect(closure).toContain('onnxruntime-common');
    expect(closure).not.toContain('dockerode');
  });

  it('finds packages hoisted beside an installed modelfleet and keeps each version where Node would find it', async () => {
    const repo = await mkdtemp(join(tmpdir(), 'modelfleet-hoisted-'));
    try {
      const pkg = async (dir: string, name: string, version: string, dependencies: Record<string, string> = {}) => {
        await mkdir(dir, { recursive: true });
        await writeFile(join(dir, 'package.json'), JSON.stringify({ name, version, dependencies }));
      };
      const root = join(repo, 'node_modules', 'modelfleet');
      await pkg(root, 'modelfleet', '1.0.0', { a: '1', b: '2', c: '1' });
      await pkg(join(repo, 'node_modules', 'a'), 'a', '1.0.0', { b: '1' });
      await pkg(join(repo, 'node_modules', 'b'), 'b', '1.0.0');
      await pkg(join(root, 'node_modules', 'b'), 'b', '2.0.0');
      await pkg(join(repo, 'node_modules', 'c'), 'c', '1.0.0', { b: '1' });
      const closure = await collectPackageClosure(root, ['a', 'b', 'c']);
      expect(closure.map(({ target, version }) => `${target}@${version}`)).toEqual(['a@1.0.0', 'a/node_modules/b@1.0.0', 'b@2.0.0', 'c@1.0.0']);
    } finally {
      await rm(repo, { recursive: true, force: true });
    }
  });

  it('traces the serve command to the runtime packages it needs and leaves Docker and Kubernetes clients out', async () => {
    const closure = await traceServeClosure(REPO_ROOT);
    expect(closure.packages).toEqual(expect.arrayContaining(['onnxruntime-node', 'fastify']));
    for (const heavy of ['dockerode', '@kubernetes/client-node', 'autocannon', 'tar-fs']) expect(closure.packages).not.toContain(heavy);
    expect(closure.files).toContain('dist/cli/entry.js');
    expect(closure.files).toContain('dist/cli/commands/serve.js');
    expect(closure.files.some((file) => file.startsWith('dist/pipeline/'))).toBe(false);
  });
});

describe('the build context', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'modelfleet-context-'));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('gives the same bytes for the same files, whatever their timestamps and permissions on disk', async () => {
    const write = async (root: string, mtime: Date, mode: number) => {
      await mkdir(join(root, 'sub'), { recursive: true });
      await writeFile(join(root, 'MLmodel'), 'flavors: {}\n');
      await writeFile(join(root, 'sub', 'model.onnx'), Buffer.from([1, 2, 3]));
      await chmod(join(root, 'MLmodel'), mode);
      await utimes(join(root, 'MLmodel'), mtime, mtime);
      await utimes(join(root, 'sub', 'model.onnx'), mtime, mtime);
    };
    await write(join(dir, 'one'), new Date('2021-05-01T00:00:00Z'), 0o600);
    await write(join(dir, 'two'), new Date('2024-09-09T00:00:00Z'), 0o644);
    const digest = async (from: string) => {
      const hash = createHash('sha256');
      for await (const chunk of packBuildContext([{ from, to: 'model' }], { name: 'Dockerfile', content: 'FROM scratch\n' }) as AsyncIterable<Buffer>) hash.update(chunk);
      return hash.digest('hex');
    };
    expect(await digest(join(dir, 'one'))).toBe(await digest(join(dir, 'two')));
  });
});

describe('registry push target', () => {
  it('pushes nowhere when CI_REGISTRY is not set', () => {
    expect(registryTargetFor('match-2-taxi', 'abc', {})).toBeUndefined();
  });

  it('pushes nowhere when the registry credentials are missing, as under gitlab-ci-local', () => {
    expect(registryTargetFor('match-2-taxi', 'abc', { CI_REGISTRY: 'local-registry.gitlab.com', CI_REGISTRY_IMAGE: 'local-registry.gitlab.com/group/project' })).toBeUndefined();
  });

  it('pushes nowhere when MODELFLEET_PUSH is false', () => {
    expect(registryTargetFor('match-2-taxi', 'abc', { CI_REGISTRY: 'r.example.com', CI_REGISTRY_USER: 'u', CI_REGISTRY_PASSWORD: 'p', MODELFLEET_PUSH: 'false' })).toBeUndefined();
  });

  it('pushes under CI_REGISTRY_IMAGE with the job credentials', () => {
    expect(registryTargetFor('match-2-taxi', 'abc', {
      CI_REGISTRY: 'registry.example.com',
      CI_REGISTRY_IMAGE: 'registry.example.com/team/fleet',
      CI_REGISTRY_USER: 'gitlab-ci-token',
      CI_REGISTRY_PASSWORD: 'pw',
    })).toEqual({
      host: 'registry.example.com',
      repository: 'team/fleet/match-2-taxi',
      reference: 'registry.example.com/team/fleet/match-2-taxi:abc',
      auth: { serveraddress: 'registry.example.com', username: 'gitlab-ci-token', password: 'pw' },
    });
  });

  it('uses MODELFLEET_REGISTRY_IMAGE without credentials for an anonymous registry', () => {
    expect(registryTargetFor('match-2-taxi', 'abc', { MODELFLEET_REGISTRY_IMAGE: '127.0.0.1:5000/fleet/', CI_REGISTRY: 'local-registry.gitlab.com' })).toEqual({
      host: '127.0.0.1:5000',
      repository: 'fleet/match-2-taxi',
      reference: '127.0.0.1:5000/fleet/match-2-taxi:abc',
      auth: undefined,
    });
  });

  it('lends the job credentials to MODELFLEET_REGISTRY_IMAGE only when it names GitLab\'s own registry', () => {
    const ci = { CI_REGISTRY: 'registry.example.com', CI_REGISTRY_USER: 'gitlab-ci-token', CI_REGISTRY_PASSWORD: 'pw' };
    expect(registryTargetFor('m', 't', { ...ci, MODELFLEET_REGISTRY_IMAGE: 'registry.example.com/other' })?.auth?.username).toBe('gitlab-ci-token');
    expect(registryTargetFor('m', 't', { ...ci, MODELFLEET_REGISTRY_IMAGE: 'elsewhere.example.com/other' })?.auth).toBeUndefined();
    expect(registryTargetFor('m', 't', { ...ci, MODELFLEET_REGISTRY_IMAGE: 'elsewhere.example.com/other', MODELFLEET_REGISTRY_USER: 'u', MODELFLEET_REGISTRY_PASSWORD: 'p' })?.auth)
      .toEqual({ serveraddress: 'elsewhere.example.com', username: 'u', password: 'p' });
  });
});
