import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findDeployable } from '../../generator/fleet/find-deployable.js';
import { loadFleet } from '../../generator/fleet/load-fleet.js';
import { buildModelImage } from '../../pipeline/build/build-model-image.js';
import { DEFAULT_SAFETY_CAP_BYTES, findModelImage, runLoadtest } from '../../pipeline/loadtest/run-loadtest.js';
import type { DockerSeam, RunRequest } from '../../pipeline/seams/docker.js';
import { MiB } from '../../pipeline/sizing/sizing-policy.js';
import { baseImage, requireDockerWithBaseImage, TEST_LABEL, uniqueTestLabel } from '../support/docker.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const label = uniqueTestLabel('loadtest-docker');
const MODEL = 'match-9-logreg-docker';
/** In the fleet, never built. */
const UNBUILT = 'match-9-logreg-unbuilt';
let dir: string;
let docker: DockerSeam;

/** HostConfig of a container as the engine reports it, read while the container runs. */
interface StartedContainer {
  readonly request: RunRequest;
  readonly memory: number;
  readonly memorySwap: number;
  readonly networkMode: string;
  readonly readonlyRootfs: boolean;
}

/** The real Docker seam, recording each container's HostConfig right after it started. */
function recordingSeam(seam: DockerSeam, started: StartedContainer[]): DockerSeam {
  const engine = new Docker();
  return {
    ...seam,
    async runContainer(request) {
      const handle = await seam.runContainer(request);
      const info = await engine.getContainer(handle.id).inspect();
      started.push({
        request,
        memory: info.HostConfig.Memory ?? 0,
        memorySwap: info.HostConfig.MemorySwap ?? 0,
        networkMode: info.HostConfig.NetworkMode ?? '',
        readonlyRootfs: info.HostConfig.ReadonlyRootfs ?? false,
      });
      return handle;
    },
  };
}

beforeAll(async () => {
  docker = await requireDockerWithBaseImage();
  // As in CI (.ci/run): the base image comes from the environment, so a recomputed tag matches the built one.
  process.env.MODELFLEET_BASE_IMAGE = baseImage;
  dir = mkdtempSync(join(tmpdir(), 'modelfleet-loadtest-docker-'));
  cpSync(join(root, 'examples', 'models', 'match-logreg-v1'), join(dir, 'models', 'match-logreg-v1'), { recursive: true });
  cpSync(join(root, 'examples', 'models', 'match-logreg-v2'), join(dir, 'models', 'match-logreg-v2'), { recursive: true });
  writeFileSync(join(dir, 'models.yaml'), `
defaults:
  endpoint: probability
  loadtest: { durationSeconds: 2, connections: 2, rowsPerRequest: 2, p99BudgetMs: 3000 }
models:
  - name: ${MODEL}
    parameters: [9, TAXI, docker]
    path: models/match-logreg-v1
  - name: ${UNBUILT}
    parameters: [9, TAXI, unbuilt]
    path: models/match-logreg-v2
`);
  const fleet = loadFleet(join(dir, 'models.yaml'));
  await buildModelImage({ fleet, deployable: findDeployable(fleet, MODEL), outDir: join(dir, 'build'), docker, baseImage });
});

afterAll(async () => {
  await docker?.removeContainersWithLabel(TEST_LABEL, label);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('modelfleet loadtest in Docker mode', () => {
  it('load-tests the built image and proves the limit in a container capped at exactly that limit', async () => {
    const started: StartedContainer[] = [];
    const fleet = loadFleet(join(dir, 'models.yaml'));
    const lines: string[] = [];
    const { report } = await runLoadtest({
      fleet,
      deployable: findDeployable(fleet, MODEL),
      outDir: join(dir, 'build'),
      mode: 'docker',
      openDocker: async () => recordingSeam(docker, started),
      log: (line) => lines.push(line),
      containerLabels: { [TEST_LABEL]: label },
    });

    expect(report.passed).toBe(true);
    expect(report.mode).toBe('docker');
    expect(report.memoryMetric).toBe('working set (usage - inactive_file)');
    const limit = report.sizing?.memoryLimitBytes ?? 0;
    expect(limit).toBeGreaterThan(0);

    // Two containers: the measuring run under the generous safety cap, then the proof at the limit.
    expect(started).toHaveLength(2);
    const [measuring, proof] = started;
    expect(measuring?.memory).toBe(DEFAULT_SAFETY_CAP_BYTES);
    expect(proof?.memory).toBe(limit);
    expect(proof?.memorySwap).toBe(limit);
    for (const c of started) {
      expect(c.networkMode).toBe('host');
      expect(c.readonlyRootfs).toBe(true);
      expect(c.request.env?.HOST).toBe('127.0.0.1');
    }

    expect(report.limitProof?.enforced).toBe(true);
    expect(report.limitProof?.run?.state.oomKilled).toBe(false);
    expect(report.limitProof?.run?.load.requests).toBeGreaterThan(0);
    expect(report.checks.find((c) => c.id === 'limit-proof')?.detail).toMatch(/in a container capped at \d+Mi: \d+ requests, no error/);
    // Not wasteful: the policy adds 15% and 16 MiB to the peak, rounded to 8 MiB.
    const peak = report.sizing?.measured.memoryPeakBytes ?? 0;
    expect(limit).toBeLessThanOrEqual(peak * 1.15 + 24 * MiB);
    console.log(`${MODEL}: measured peak ${(peak / MiB).toFixed(1)} MiB, limit ${report.sizing?.resources.limits.memory} (limit ÷ peak ${report.sizing?.limitToPeakRatio}), peak under the cap ${((report.limitProof?.run?.peakWorkingSetBytes ?? 0) / MiB).toFixed(1)} MiB`);
  });

  it('finds the image by the tag recomputed from the commit, with or without the build job\'s files', async () => {
    const fleet = loadFleet(join(dir, 'models.yaml'));
    const job = (outDir: string) => ({
      fleet,
      deployable: findDeployable(fleet, MODEL),
      outDir,
      mode: 'docker' as const,
      openDocker: async () => docker,
      log: () => undefined,
    });
    const found = await findModelImage(job(join(dir, 'build')), docker);
    expect(found.tag).toMatch(new RegExp(`^modelfleet/${MODEL}:[0-9a-f]{12}$`));
    expect(found.tag.split(':')[1]).toBe(found.contentDigest.slice(0, 12));
    expect(await docker.imageExists(found.tag)).toBe(true);
    expect(await findModelImage(job(join(dir, 'artifacts-expired')), docker)).toEqual(found);
  });

  it('fails saying which job to re-run when the image was never built', async () => {
    const fleet = loadFleet(join(dir, 'models.yaml'));
    const error = await runLoadtest({
      fleet,
      deployable: findDeployable(fleet, UNBUILT),
      outDir: join(dir, 'build'),
      mode: 'docker',
      openDocker: async () => docker,
      log: () => undefined,
    }).catch((err: unknown) => err);
    expect((error as { code?: string }).code).toBe('LOADTEST_IMAGE_MISSING');
    expect((error as { message?: string }).message).toMatch(/is not in this Docker engine, and no registry is configured to pull it from/);
    expect((error as { hint?: string }).hint).toContain(`\`${UNBUILT}:build\``);
  });
});
