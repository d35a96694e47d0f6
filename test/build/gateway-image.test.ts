import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findDeployable } from '../../generator/fleet/find-deployable.js';
import { findFreePort } from '../../lib/free-port.js';
import { buildGatewayImage, type BuildGatewayImageResult } from '../../pipeline/build/build-gateway-image.js';
import { buildModelImage, type BuildModelImageResult } from '../../pipeline/build/build-model-image.js';
import { packBuildContext } from '../../pipeline/build/pack-build-context.js';
import { GATEWAY_ROUTES_FILE, prepareGatewayImageInputs } from '../../pipeline/build/prepare-gateway-image-inputs.js';
import type { DockerSeam } from '../../pipeline/seams/docker.js';
import { TEST_LABEL, baseImage, requireDockerWithBaseImage, uniqueTestLabel } from '../support/docker.js';
import { waitUntil } from '../support/wait-until.js';
import { openRegistry, parseImageReference } from '../../pipeline/registry/registry-client.js';
import { registryAddress, requireRegistry, uniqueRepository } from '../support/registry.js';
import { makeTestFleet, uniqueModelName, type TestFleet } from './make-test-fleet.js';

const REPO_ROOT = resolve(import.meta.dirname, '../..');
const CLI = join(REPO_ROOT, 'bin', 'modelfleet.js');
const DEPLOYMENT_TEMPLATE = join(REPO_ROOT, 'k8s-templates', 'gateway', 'deployment.yaml.hbs');
const run = promisify(execFile);

describe('modelfleet build --gateway with the real Docker engine', () => {
  let docker: DockerSeam;
  let fixture: TestFleet;
  let gateway: BuildGatewayImageResult;
  let model: BuildModelImageResult;
  const modelName = uniqueModelName('gw-logreg');
  const label = uniqueTestLabel('gateway-build');
  const log = (): void => undefined;

  beforeAll(async () => {
    docker = await requireDockerWithBaseImage();
    fixture = await makeTestFleet(
      ['defaults: { endpoint: probability }', 'models:', `  - { name: ${modelName}, parameters: [1, TAXI], path: models/match-logreg-v1 }`, ''].join('\n'),
      ['match-logreg-v1'],
    );
    // --force: the tag depends only on code and base image, so an earlier run may have built it.
    gateway = await buildGatewayImage({ outDir: fixture.outDir, docker, baseImage, force: true, env: {}, log });
    model = await buildModelImage({ fleet: fixture.fleet, deployable: findDeployable(fixture.fleet, modelName), outDir: fixture.outDir, docker, baseImage, env: {}, log });
  }, 240_000);

  afterAll(async () => {
    if (docker) {
      await docker.removeContainersWithLabel(TEST_LABEL, label);
      await docker.removeImagesWithLabel(TEST_LABEL, label);
      await docker.removeImagesWithLabel('io.modelfleet.deploy-name', modelName);
    }
    if (fixture) await rm(fixture.dir, { recursive: true, force: true });
  });

  it('builds modelfleet/gateway:<content-digest-12> and writes build/gateway/image.json for the deploy job', async () => {
    const { record } = gateway;
    expect(record.outcome).toBe('built');
    expect(record.deployName).toBe('gateway');
    expect(record.tag).toBe(`modelfleet/gateway:${record.contentDigest?.slice(0, 12) ?? 'none'}`);
    expect(record.labels).toMatchObject({
      'io.modelfleet.component': 'gateway',
      'io.modelfleet.content-digest': `sha256:${record.contentDigest ?? ''}`,
    });
    expect(record.labels['org.opencontainers.image.revision']).toMatch(/^([0-9a-f]{40}|unknown)$/);
    expect(gateway.recordFile).toBe(join(fixture.outDir, 'gateway', 'image.json'));
    expect(JSON.parse(await readFile(gateway.recordFile, 'utf8'))).toEqual(record);
  });

  it('shares the base, dependency and code layers with model images and adds none of its own', () => {
    expect(model.record.layers).toHaveLength(4);
    expect(gateway.record.layers).toEqual(model.record.layers.slice(0, 3));
  });

  it('runs as a non-root user with telemetry off and the Deployment\'s routes path, and bakes in no route table', async () => {
    const image = await docker.inspectImage(gateway.record.tag);
    expect(image?.user).toBe('10001:10001');
    expect(image?.env).toEqual(expect.arrayContaining(['ORT_DISABLE_TELEMETRY=1', `GATEWAY_ROUTES=${GATEWAY_ROUTES_FILE}`]));
    expect(image?.cmd).toEqual(['gateway']);
    expect(deploymentArgs(await readFile(DEPLOYMENT_TEMPLATE, 'utf8'))).toEqual(expect.arrayContaining(['gateway', '--routes', GATEWAY_ROUTES_FILE]));
    // Recomputed without building, as a later job does: same tag, and only code goes into the context.
    const inputs = await prepareGatewayImageInputs({ baseImage, env: {} });
    expect(inputs.tag).toBe(gateway.record.tag);
    expect(inputs.contextParts.map((part) => part.to)).toEqual(['runtime', 'app']);
  });

  it('starts with the Deployment\'s arguments and a mounted route table: /healthz answers, an unknown route is a 404 in JSON', async () => {
    // The image plus a route table at the Deployment's mount path stands in for the ConfigMap volume.
    const routesImage = `modelfleet-test/gateway-routes:${label}`;
    // One route whose model server is nowhere (a port nothing listens on): the gateway starts anyway.
    const nowhere = `http://127.0.0.1:${await findFreePort()}`;
    const routes = `${JSON.stringify({
      format: 1,
      routes: [{
        route: '/probability/1/TAXI',
        model: modelName,
        stickyHeader: 'x-modelfleet-user',
        variants: [{ id: 'main', deployName: modelName, upstream: nowhere, predictPath: '/invocations', weight: 100, shadow: false, source: 'path:models/match-logreg-v1' }],
      }],
    })}\n`;
    const context = await mkdtemp(join(tmpdir(), 'modelfleet-gateway-routes-'));
    try {
      await writeFile(join(context, 'routes.json'), routes);
      await docker.buildImage({
        context: packBuildContext([{ from: context, to: 'table' }], {
          name: 'Dockerfile',
          content: `FROM ${gateway.record.tag}\nCOPY table/routes.json ${GATEWAY_ROUTES_FILE}\n`,
        }),
        tag: routesImage,
        labels: { [TEST_LABEL]: label },
      });
    } finally {
      await rm(context, { recursive: true, force: true });
    }

    const port = await findFreePort();
    // Kubernetes' `args` replace the image's CMD and keep its ENTRYPOINT; the test binds 127.0.0.1 (host networking).
    const args = deploymentArgs(await readFile(DEPLOYMENT_TEMPLATE, 'utf8')).map((arg, i, all) =>
      all[i - 1] === '--port' ? String(port) : all[i - 1] === '--host' ? '127.0.0.1' : arg);
    const container = await docker.runContainer({
      image: routesImage,
      name: `${label}-gateway`,
      command: args,
      labels: { [TEST_LABEL]: label },
      readOnlyRootFs: true,
      tmpfs: { '/tmp': 'rw,size=16m' },
      memoryBytes: 256 * 1024 * 1024,
    });
    try {
      let health: { status: number; body: string } | undefined;
      await waitUntil(async () => {
        const state = await container.inspect();
        if (!state.running) throw new Error(`the gateway exited (${state.exitCode}):\n${await container.logs(40)}`);
        health = await fetchText(`http://127.0.0.1:${port}/healthz`);
        return health?.status === 200;
      }, 30_000);
      expect(JSON.parse(health?.body ?? '')).toEqual({ status: 'ok' });

      const unknown = await fetch(`http://127.0.0.1:${port}/probability/1/NOWHERE`, { signal: AbortSignal.timeout(5_000) });
      expect(unknown.status).toBe(404);
      expect(unknown.headers.get('content-type')).toMatch(/^application\/json/);
      expect(await unknown.json()).toMatchObject({ error: 'no route', path: '/probability/1/NOWHERE' });
      const table = await fetchText(`http://127.0.0.1:${port}/routes`);
      expect(table?.body).toContain('/probability/1/TAXI');
      expect(await container.inspect()).toMatchObject({ running: true, oomKilled: false, restartCount: 0 });
    } finally {
      await container.stop(5);
    }
  }, 120_000);

  it('skips the build when the tag exists, from the CLI as in the gateway:build job', async () => {
    const out = join(fixture.dir, 'cli-build');
    const env = { ...process.env, MODELFLEET_BASE_IMAGE: baseImage, MODELFLEET_PUSH: 'false' };
    const { stdout } = await run(process.execPath, [CLI, 'build', '--gateway', '--file', join(fixture.dir, 'models.yaml'), '--out', out], { env, timeout: 120_000 });
    expect(stdout).toContain('[gateway:build]');
    expect(stdout).toContain('build skipped');
    const record = JSON.parse(await readFile(join(out, 'gateway', 'image.json'), 'utf8')) as Record<string, unknown>;
    expect(record).toMatchObject({ outcome: 'existing', tag: gateway.record.tag, imageId: gateway.record.imageId });
  }, 150_000);

  it('pushes the gateway image as <registry image>/gateway:<tag> and records the pushed reference', async () => {
    const registryImage = `${await requireRegistry()}/${uniqueRepository('gateway-build')}`;
    const result = await buildGatewayImage({ outDir: join(fixture.dir, 'push-build'), docker, baseImage, env: { MODELFLEET_REGISTRY_IMAGE: registryImage }, log });
    const tag = result.record.tag.split(':')[1] ?? '';
    expect(result.record.registryReference).toBe(`${registryImage}/gateway:${tag}`);
    const { repository } = parseImageReference(result.record.registryReference ?? '');
    expect(await openRegistry({ host: registryAddress }).hasManifest(repository, tag)).toBe(true);
    await docker.removeImage(result.record.registryReference ?? '');
  }, 240_000);

  it('rejects --model together with --gateway with a usage error that names both', async () => {
    const failed = await run(process.execPath, [CLI, 'build', '--model', modelName, '--gateway', '--file', join(fixture.dir, 'models.yaml'), '--out', join(fixture.dir, 'both')], { timeout: 30_000 })
      .then(() => undefined, (err: { code?: number; stderr?: string }) => err);
    expect(failed?.code).toBe(1);
    expect(failed?.stderr).toMatch(new RegExp(`^error\\[USAGE\\]: modelfleet build got both --model ${modelName} and --gateway`, 'm'));
    expect(failed?.stderr).not.toContain('    at ');
    expect(existsSync(join(fixture.dir, 'both'))).toBe(false);
  });
});

/** The `args:` list of the gateway container in the Deployment template (a JSON array on one line). */
function deploymentArgs(template: string): string[] {
  const line = /^\s*args:\s*(\[.*\])\s*$/m.exec(template);
  if (!line?.[1]) throw new Error(`${DEPLOYMENT_TEMPLATE} has no one-line args: [...] for the gateway container`);
  return JSON.parse(line[1]) as string[];
}

async function fetchText(url: string): Promise<{ status: number; body: string } | undefined> {
  return fetch(url, { signal: AbortSignal.timeout(1_000) })
    .then(async (res) => ({ status: res.status, body: await res.text() }))
    .catch(() => undefined);
}
