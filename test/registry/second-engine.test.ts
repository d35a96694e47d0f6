/**
 * Two Docker engines side by side, with the registry between them: what a GitLab child
 * pipeline does when each job gets a fresh, empty engine. An image built in one engine
 * reaches another only through the registry.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRegistry } from '../../pipeline/registry/registry-client.js';
import { openDocker, type DockerSeam } from '../../pipeline/seams/docker.js';
import { baseImage, requireDockerWithBaseImage, TEST_LABEL, uniqueTestLabel } from '../support/docker.js';
import { requireRegistry } from '../support/registry.js';
import { requireSecondEngine } from '../support/second-engine.js';

describe('a second, empty engine beside the first', () => {
  let first: DockerSeam;
  let second: DockerSeam;
  let registry: string;
  let repository: string;
  let reference: string;
  const label = uniqueTestLabel('second-engine');

  beforeAll(async () => {
    first = await requireDockerWithBaseImage();
    registry = await requireRegistry();
    const socketPath = await requireSecondEngine();
    second = (await openDocker({ socketPath, timeoutMs: 5_000 }))!;
    const id = randomBytes(5).toString('hex');
    repository = `test-${id}/base`;
    reference = `${registry}/${repository}:${id}`;
  });

  afterAll(async () => {
    await second?.removeContainersWithLabel(TEST_LABEL, label);
    await second?.removeImage(reference);
    await first?.removeImage(reference); // only this tag: the base image keeps its own
    if (registry) await openRegistry({ host: registry, timeoutMs: 10_000 }).deleteTag(repository, reference.split(':').at(-1)!);
  });

  it('shares no images with the first engine', async () => {
    expect(await first.imageExists(baseImage)).toBe(true);
    expect(await second.imageExists(baseImage)).toBe(false);
  });

  it('gets an image pushed from the first engine only by pulling it from the registry', { timeout: 180_000 }, async () => {
    await first.tagImage(baseImage, reference);
    await first.pushImage(reference);
    expect(await second.imageExists(reference)).toBe(false);

    await second.pullImage(reference);

    const pulled = await second.inspectImage(reference);
    const original = await first.inspectImage(baseImage);
    // Same config, same layers: the image ID (the config's digest) survives the trip.
    expect(pulled?.id).toBe(original?.id);
    expect(pulled?.layers).toEqual(original?.layers);
  });

  it('runs a container from the pulled image while the first engine keeps working', { timeout: 60_000 }, async () => {
    const container = await second.runContainer({
      image: reference,
      command: ['node', '-e', 'console.log("answer from engine two")'],
      labels: { [TEST_LABEL]: label },
    });
    const deadline = Date.now() + 30_000;
    while ((await container.inspect()).running && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200));

    expect(await container.inspect()).toMatchObject({ running: false, exitCode: 0 });
    expect(await container.logs()).toContain('answer from engine two');
    expect(await first.imageExists(baseImage)).toBe(true);
  });

  it("refuses to read the pushed image as a JSON record", async () => {
    const tag = reference.split(':').at(-1)!;
    await expect(
      openRegistry({ host: registry, timeoutMs: 10_000 }).getJsonRecord(repository, tag, 'application/vnd.modelfleet.sizing.v1+json'),
    ).rejects.toThrow(`${repository}:${tag} holds an image (application/vnd.docker.distribution.manifest.v2+json), not a application/vnd.modelfleet.sizing.v1+json record`);
  });

  it('fails with the engine\'s own words when the registry has no such image', async () => {
    await expect(second.pullImage(`${registry}/${repository}:absent`)).rejects.toThrow(
      new RegExp(`^docker pull of ${registry.replace(/\./g, '\\.')}/${repository}:absent failed: .*(not found|manifest unknown)`),
    );
  });
});
