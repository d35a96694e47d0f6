import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import tarFs from 'tar-fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findDeployable } from '../../generator/fleet/find-deployable.js';
import { loadFleet } from '../../generator/fleet/load-fleet.js';
import { UserError } from '../../lib/errors/user-error.js';
import { findFreePort } from '../../lib/free-port.js';
import { runLoadtest } from '../../pipeline/loadtest/run-loadtest.js';
import type { DockerSeam } from '../../pipeline/seams/docker.js';
import { MiB } from '../../pipeline/sizing/sizing-policy.js';
import { baseImage, requireDockerWithBaseImage, TEST_LABEL, uniqueTestLabel } from '../support/docker.js';

const fixture = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'misbehaving-server');
const label = uniqueTestLabel('loadtest-failing');
const tags = { leak: `modelfleet-test/leaky-server:${label}`, crash: `modelfleet-test/crashing-server:${label}` };
let dir: string;
let docker: DockerSeam;

beforeAll(async () => {
  docker = await requireDockerWithBaseImage();
  dir = mkdtempSync(join(tmpdir(), 'modelfleet-loadtest-failing-'));
  cpSync(join(fixture, 'signature.json'), join(dir, 'signature.json'));
  const ports = { leak: await findFreePort(), crash: await findFreePort() };
  for (const mode of ['leak', 'crash'] as const) {
    await docker.buildImage({
      context: tarFs.pack(fixture, { entries: ['Dockerfile', 'server.mjs'] }) as unknown as NodeJS.ReadableStream,
      tag: tags[mode],
      buildArgs: { BASE_IMAGE: baseImage, MODE: mode, PORT: String(ports[mode]) },
      labels: { [TEST_LABEL]: label },
    });
  }
  writeFileSync(join(dir, 'models.yaml'), `
defaults:
  endpoint: probability
  loadtest: { durationSeconds: 3, connections: 2, rowsPerRequest: 1, p99BudgetMs: 3000 }
models:
  - name: leaky-model
    parameters: [leaky]
    image: { name: "${tags.leak}", port: ${ports.leak}, predictPath: /predict, readyPath: /ready, schema: signature.json }
  - name: crashing-model
    parameters: [crashing]
    image: { name: "${tags.crash}", port: ${ports.crash}, predictPath: /predict, readyPath: /ready, schema: signature.json }
`);
});

afterAll(async () => {
  await docker?.removeContainersWithLabel(TEST_LABEL, label);
  for (const tag of Object.values(tags)) await docker?.removeImage(tag);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function loadtestFailure(name: string): Promise<UserError> {
  const fleet = loadFleet(join(dir, 'models.yaml'));
  const error = await runLoadtest({
    fleet,
    deployable: findDeployable(fleet, name),
    outDir: join(dir, 'build'),
    mode: 'auto',
    // A low cap on the measuring run: the leak must hit it within the short test.
    safetyCapBytes: 128 * MiB,
    openDocker: async () => docker,
    log: () => undefined,
    containerLabels: { [TEST_LABEL]: label },
  }).catch((err: unknown) => err);
  expect(error).toBeInstanceOf(UserError);
  return error as UserError;
}

describe('modelfleet loadtest with a misbehaving image', () => {
  it('fails the job saying the server was OOM-killed when it leaks memory on every request', async () => {
    const error = await loadtestFailure('leaky-model');
    expect(error.code).toBe('LOADTEST_CHECKS_FAILED');
    expect(error.message).toMatch(/the server did not crash, restart or get OOM-killed: the server was OOM-killed at its 128Mi memory cap/);
    expect(error.hint).toMatch(/report\.html/);
  });

  it('fails the job saying the server exited when it crashes under load', async () => {
    const error = await loadtestFailure('crashing-model');
    expect(error.code).toBe('LOADTEST_CHECKS_FAILED');
    expect(error.message).toMatch(/the server exited with code 3 during the load/);
    expect(error.message).toMatch(/every request under load succeeded: /);
  });
});
