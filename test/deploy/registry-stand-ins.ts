/**
 * What a model's build and test jobs leave in the registry, without building or measuring:
 * the fake cluster never pulls, so a small manifest under the image's content tag stands in for
 * the pushed image, and the sizing record is a real one, stored as the test job stores it.
 */
import { join } from 'node:path';
import { findDeployable } from '../../generator/fleet/find-deployable.js';
import { loadFleet } from '../../generator/fleet/load-fleet.js';
import { sizingInputsFor } from '../../pipeline/loadtest/run-loadtest.js';
import { publishSizingRecord } from '../../pipeline/model-folder/sizing-in-registry.js';
import { sizingKeyOf, toSizingRecord } from '../../pipeline/model-folder/sizing-record.js';
import { resolveDeployImage } from '../../pipeline/deploy/resolve-deploy-inputs.js';
import { openRegistry, parseImageReference } from '../../pipeline/registry/registry-client.js';
import { computeSizing, MiB } from '../../pipeline/sizing/sizing-policy.js';
import { registryAddress } from '../support/registry.js';

/** Puts a stand-in manifest under `reference` in the test registry. */
export async function standInImage(reference: string): Promise<void> {
  const { repository, tag } = parseImageReference(reference);
  await openRegistry({ host: registryAddress }).putJsonRecord(repository, tag, 'application/vnd.modelfleet.test-image.v1+json', { standsFor: reference });
}

/**
 * The stand-in image and a sizing record (peak `peakMiB`) for one model of `fleetFile` (in
 * `dir`), under MODELFLEET_REGISTRY_IMAGE of `env`; the image reference a deploy will compute
 * and the memory limit it will apply.
 */
export async function publishStandInModel(dir: string, fleetFile: string, name: string, env: NodeJS.ProcessEnv, peakMiB = 90): Promise<{ reference: string; memoryLimit: string }> {
  const fleet = loadFleet(join(dir, fleetFile));
  const deployable = findDeployable(fleet, name);
  const image = await resolveDeployImage(fleet, deployable, { file: fleetFile, out: join(dir, 'build'), deployName: name }, env);
  await standInImage(image.reference);
  const sizing = computeSizing([0, 1, 2, 3].map((i) => ({ atMs: i * 1000, workingSetBytes: (peakMiB + i) * MiB, cpuCores: 0.3 })));
  await publishSizingRecord(toSizingRecord({
    deployName: name,
    key: sizingKeyOf(sizingInputsFor(deployable, image.content, deployable.model.loadtest)),
    image: image.tag,
    mode: 'docker',
    measuredAt: '2026-11-02T10:00:00.000Z',
    summary: { requestsPerSecond: 900, p99Ms: 4, errors: 0, memoryPeakBytes: (peakMiB + 3) * MiB },
    sizing,
  }), env, () => undefined);
  return { reference: image.reference, memoryLimit: sizing.resources.limits.memory };
}
