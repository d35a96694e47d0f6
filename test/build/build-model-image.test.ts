import { execFile } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findDeployable } from '../../generator/fleet/find-deployable.js';
import { findFreePort } from '../../lib/free-port.js';
import { buildModelImage, type BuildModelImageResult } from '../../pipeline/build/build-model-image.js';
import { prepareImageInputs, resolveImageTagFor } from '../../pipeline/build/prepare-image-inputs.js';
import type { DockerSeam } from '../../pipeline/seams/docker.js';
import { startFakeMlflowRegistry, type FakeMlflowRegistry } from '../support/fake-mlflow-registry.js';
import { TEST_LABEL, baseImage, requireDockerWithBaseImage, uniqueTestLabel } from '../support/docker.js';
import { waitUntil } from '../support/wait-until.js';
import { openRegistry, parseImageReference } from '../../pipeline/registry/registry-client.js';
import { registryAddress, requireRegistry, uniqueRepository } from '../support/registry.js';
import { EXAMPLE_MODELS, makeTestFleet, uniqueModelName, type TestFleet } from './make-test-fleet.js';

const REPO_ROOT = resolve(import.meta.dirname, '../..');
const run = promisify(execFile);

describe('modelfleet build with the real Docker engine', () => {
  let docker: DockerSeam;
  let fixture: TestFleet;
  let registry: FakeMlflowRegistry;
  const logreg = uniqueModelName('bt-logreg');
  const mlp = uniqueModelName('bt-mlp');
  const fromRegistry = uniqueModelName('bt-registry');
  const built: Record<string, BuildModelImageResult> = {};
  const label = uniqueTestLabel('build');
  const logs: string[] = [];
  const log = (line: string) => logs.push(line);

  beforeAll(async () => {
    docker = await requireDockerWithBaseImage();
    registry = await startFakeMlflowRegistry({
      models: { match_registry: { versions: { '4': { dir: join(EXAMPLE_MODELS, 'match-logreg-v2') } }, aliases: { champion: '4' } } },
    });
    fixture = await makeTestFleet(
      [
        'defaults: { endpoint: probability }',
        'models:',
        `  - { name: ${logreg}, parameters: [1, TAXI], path: models/match-logreg-v1 }`,
        `  - { name: ${mlp}, parameters: [2, TAXI], path: models/match-mlp }`,
        `  - { name: ${fromRegistry}, parameters: [3, TAXI], mlflow: { name: match_registry, alias: champion } }`,
        '  - name: byo-model',
        '    parameters: [4, TAXI]',
        '    image: { name: registry.example.com/team/scorer:1.2, port: 9000, schema: models/match-logreg-v1/MLmodel }',
        '  - { name: broken-model, parameters: [5, TAXI], path: models/empty }',
        '',
      ].join('\n'),
      ['match-logreg-v1', 'match-mlp'],
    );
    await mkdir(join(fixture.dir, 'models', 'empty'), { recursive: true });
    for (const name of [logreg, mlp]) {
      built[name] = await buildModelImage({ fleet: fixture.fleet, deployable: findDeployable(fixture.fleet, name), outDir: fixture.outDir, docker, baseImage, log });
    }
  });

  afterAll(async () => {
    await registry?.close();
    if (!docker) return;
    await docker.removeContainersWithLabel(TEST_LABEL, label);
    // By label, not by tag: every image a test built under these fresh names goes.
    for (const name of [logreg, mlp, fromRegistry]) await docker.removeImagesWithLabel('io.modelfleet.deploy-name', name);
    if (fixture) await rm(fixture.dir, { recursive: true, force: true });
  });

  it('builds two models whose images share every layer but the last one', () => {
    const a = built[logreg]?.record;
    const b = built[mlp]?.record;
    expect(a?.outcome).toBe('built');
    expect(b?.outcome).toBe('built');
    expect(a?.layers.length).toBe(4); // base, dependencies, serving code, model
    expect(b?.layers.slice(0, -1)).toEqual(a?.layers.slice(0, -1));
    expect(b?.layers.at(-1)).not.toBe(a?.layers.at(-1));
  });

  it('keeps the model layer within the model size plus 64 KiB', () => {
    for (const name of [logreg, mlp]) {
      const record = built[name]?.record;
      expect(record?.modelLayerBytes).toBeGreaterThan(0);
      expect(record?.modelLayerBytes).toBeLessThanOrEqual((record?.model?.sizeBytes ?? 0) + 64 * 1024);
    }
  });

  it('tags by content digest and labels model name, version, artifact digest and commit', async () => {
    const record = built[logreg]?.record;
    expect(record?.tag).toMatch(new RegExp(`^modelfleet/${logreg}:[0-9a-f]{12}$`));
    expect(record?.tag.endsWith(record.contentDigest?.slice(0, 12) ?? 'none')).toBe(true);
    expect(record?.labels).toMatchObject({
      'io.modelfleet.model': logreg,
      'io.modelfleet.model-version': record?.model?.version,
      'io.modelfleet.artifact-digest': record?.model?.artifactDigest,
    });
    expect(record?.labels['org.opencontainers.image.revision']).toMatch(/^([0-9a-f]{40}|unknown)$/);
    const onDisk = JSON.parse(await readFile(join(fixture.outDir, 'models', logreg, 'image.json'), 'utf8')) as unknown;
    expect(onDisk).toEqual(record);
  });

  it('skips the build when an image with the same content digest exists', async () => {
    const again = await buildModelImage({ fleet: fixture.fleet, deployable: findDeployable(fixture.fleet, logreg), outDir: fixture.outDir, docker, baseImage, log });
    expect(again.record.outcome).toBe('existing');
    expect(again.record.tag).toBe(built[logreg]?.record.tag);
    expect(again.record.imageId).toBe(built[logreg]?.record.imageId);
  });

  it('recomputes the tag without building, as later jobs do', async () => {
    const tag = await resolveImageTagFor({ fleet: fixture.fleet, deployable: findDeployable(fixture.fleet, mlp), outDir: fixture.outDir, baseImage });
    expect(tag).toBe(built[mlp]?.record.tag);
  });

  it('changes the tag when the base image changes', async () => {
    const other = await prepareImageInputs({ fleet: fixture.fleet, deployable: findDeployable(fixture.fleet, logreg), outDir: fixture.outDir, baseImage: 'node:20-bookworm-slim' });
    expect(other.tag).not.toBe(built[logreg]?.record.tag);
    expect(other.buildArgs.BASE_IMAGE).toBe('node:20-bookworm-slim');
  });

  it('runs as a non-root user', async () => {
    const image = await docker.inspectImage(built[logreg]?.record.tag ?? '');
    expect(image?.user).toBe('10001:10001');
    expect(image?.env).toContain('ORT_DISABLE_TELEMETRY=1');
    const probe = await docker.runContainer({
      image: built[logreg]?.record.tag ?? '',
      name: `${label}-uid`,
      command: ['node', '-e', 'console.log(`uid=${process.getuid()} gid=${process.getgid()}`)'],
      labels: { [TEST_LABEL]: label },
    });
    await waitUntil(async () => !(await probe.inspect()).running, 20_000);
    expect(await probe.logs()).toContain('uid=10001 gid=10001');
  });

  it('serves the model: /readyz answers on 127.0.0.1 with host networking and a read-only root filesystem', async () => {
    const port = await findFreePort();
    const container = await docker.runContainer({
      image: built[mlp]?.record.tag ?? '',
      name: `${label}-serve`,
      env: { PORT: String(port), HOST: '127.0.0.1' },
      labels: { [TEST_LABEL]: label },
      readOnlyRootFs: true,
      tmpfs: { '/tmp': 'rw,size=16m' },
      memoryBytes: 512 * 1024 * 1024,
    });
    let ready: { status: number; body: string } | undefined;
    await waitUntil(async () => {
      const state = await container.inspect();
      if (!state.running) throw new Error(`the model server exited (${state.exitCode}):\n${await container.logs(40)}`);
      ready = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(1_000) })
        .then(async (res) => ({ status: res.status, body: await res.text() }))
        .catch(() => undefined);
      return ready?.status === 200;
    }, 30_000);
    expect(ready?.body).toContain(mlp);
    const state = await container.inspect();
    expect(state).toMatchObject({ running: true, oomKilled: false, restartCount: 0 });
    await container.stop(5);
  });

  it('builds a model resolved through the MLflow registry and labels its registry version', async () => {
    const result = await buildModelImage({
      fleet: fixture.fleet,
      deployable: findDeployable(fixture.fleet, fromRegistry),
      outDir: fixture.outDir,
      docker,
      baseImage,
      env: { MLFLOW_TRACKING_URI: registry.url },
      log,
    });
    built[fromRegistry] = result;
    expect(result.record.model).toMatchObject({ source: 'mlflow:match_registry/4', version: '4' });
    expect(result.record.labels['io.modelfleet.model-version']).toBe('4');
    // Same dependencies and code as the path-based models: only the model layer is new.
    expect(result.record.layers.slice(0, -1)).toEqual(built[logreg]?.record.layers.slice(0, -1));
  });

  it('pushes the image to the registry, and a later build whose engine lacks it finds it there instead of building', async () => {
    const registryImage = `${await requireRegistry()}/${uniqueRepository('build')}`;
    const env = { MODELFLEET_REGISTRY_IMAGE: registryImage };
    const deployable = findDeployable(fixture.fleet, logreg);
    const pushed = await buildModelImage({ fleet: fixture.fleet, deployable, outDir: fixture.outDir, docker, baseImage, env, log });
    const tag = pushed.record.tag.split(':')[1] ?? '';
    expect(pushed.record.registryReference).toBe(`${registryImage}/${logreg}:${tag}`);
    const { repository } = parseImageReference(pushed.record.registryReference ?? '');
    expect(await openRegistry({ host: registryAddress }).hasManifest(repository, tag)).toBe(true);

    // A per-job runner: the engine no longer has the image (nor its registry copy's tag).
    await docker.removeImage(pushed.record.registryReference ?? '');
    await docker.removeImagesWithLabel('io.modelfleet.deploy-name', logreg);
    expect(await docker.imageExists(pushed.record.tag)).toBe(false);
    const lines: string[] = [];
    const again = await buildModelImage({ fleet: fixture.fleet, deployable, outDir: fixture.outDir, docker, baseImage, env, log: (line) => lines.push(line) });
    expect(again.record).toMatchObject({ outcome: 'existing', tag: pushed.record.tag, registryReference: pushed.record.registryReference });
    expect(lines.join('\n')).toMatch(/is in the registry: same content, build skipped/);
    expect(await docker.imageExists(pushed.record.tag)).toBe(false);
    // The tests after this one expect the engine to hold the image again.
    await docker.pullImage(pushed.record.registryReference ?? '');
    await docker.tagImage(pushed.record.registryReference ?? '', pushed.record.tag);
  }, 240_000);

  it('fails with a clear error naming the entry when MLFLOW_TRACKING_URI is missing', async () => {
    const error = await buildModelImage({ fleet: fixture.fleet, deployable: findDeployable(fixture.fleet, fromRegistry), outDir: fixture.outDir, docker, baseImage, env: {} })
      .catch((err: unknown) => err);
    expect(error).toMatchObject({ code: 'MLFLOW_NOT_CONFIGURED' });
    expect((error as Error).message).toMatch(new RegExp(`models\\.yaml:\\d+:\\d+ \\(model "${fromRegistry}"\\)`));
  });

  it('fails with a clear error naming the entry when the model folder is not an MLflow model', async () => {
    const error = await buildModelImage({ fleet: fixture.fleet, deployable: findDeployable(fixture.fleet, 'broken-model'), outDir: fixture.outDir, docker, baseImage })
      .catch((err: unknown) => err);
    expect(error).toMatchObject({ code: 'MLMODEL_INVALID' });
    expect((error as Error).message).toContain('(model "broken-model")');
    expect((error as Error).message).toContain('no MLmodel file');
  });

  it('skips the build of a bring-your-own image but still writes image.json', async () => {
    const result = await buildModelImage({ fleet: fixture.fleet, deployable: findDeployable(fixture.fleet, 'byo-model'), outDir: fixture.outDir, docker: undefined });
    expect(result.record).toMatchObject({ outcome: 'bring-your-own', tag: 'registry.example.com/team/scorer:1.2' });
    expect(JSON.parse(await readFile(result.recordFile, 'utf8'))).toEqual(result.record);
  });

  it('prints progress and errors from the CLI: error[CODE] naming the entry, exit code 1', async () => {
    const cli = join(REPO_ROOT, 'bin', 'modelfleet.js');
    const env = { ...process.env, MODELFLEET_BASE_IMAGE: baseImage, MLFLOW_TRACKING_URI: registry.url };
    const ok = await run(process.execPath, [cli, 'build', '--model', logreg, '--file', join(fixture.dir, 'models.yaml'), '--out', fixture.outDir], { env, timeout: 60_000 });
    expect(ok.stdout).toContain(`[${logreg}:build]`);
    expect(ok.stdout).toContain('build skipped');
    await writeFile(join(fixture.dir, 'bad.yaml'), `defaults: { endpoint: probability }\nmodels:\n  - { name: ${fromRegistry}, parameters: [3, TAXI], mlflow: { name: match_unknown, version: 1 } }\n`);
    const failed = await run(process.execPath, [cli, 'build', '--model', fromRegistry, '--file', join(fixture.dir, 'bad.yaml'), '--out', fixture.outDir], { env, timeout: 60_000 })
      .then(() => undefined, (err: { code?: number; stderr?: string }) => err);
    expect(failed?.code).toBe(1);
    expect(failed?.stderr).toMatch(/^error\[MLFLOW_MODEL_NOT_FOUND\]: bad\.yaml:3:5 \(model "bt-registry-[^"]+"\): the MLflow registry at http:\/\/127\.0\.0\.1:\d+ has no registered model "match_unknown"/m);
    expect(failed?.stderr).not.toContain('    at ');
  });
});
