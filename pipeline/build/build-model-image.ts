import { userErrorWithFix } from './user-error-with-fix.js';
import type { DockerSeam } from '../seams/docker.js';
import { writeImageRecord, type ImageRecord } from '../model-folder/image-record.js';
import { describeEntry, prepareImageInputs, type PrepareImageInputsOptions } from './prepare-image-inputs.js';
import { ensureImage, imageRecordFor } from './ensure-image.js';

export interface BuildModelImageOptions extends Omit<PrepareImageInputsOptions, 'docker'> {
  /** From `openDocker()`; undefined when no engine answers (enough for `image:` entries only). */
  readonly docker: DockerSeam | undefined;
  /** Build even when the tag exists. */
  readonly force?: boolean;
}

export interface BuildModelImageResult {
  readonly record: ImageRecord;
  /** Path of the image.json written. */
  readonly recordFile: string;
  readonly durationMs: number;
}

/**
 * `modelfleet build --model NAME`: builds one deployable's serving image (or finds it by its
 * content-digest tag), pushes it when a registry is configured, and writes image.json.
 * `image:` entries bring their own image: nothing is built, image.json still names it.
 */
export async function buildModelImage(options: BuildModelImageOptions): Promise<BuildModelImageResult> {
  const started = Date.now();
  const { deployable, outDir } = options;
  const log = options.log ?? (() => undefined);
  const env = options.env ?? process.env;
  const source = deployable.variant.source;

  if (source.kind === 'image') {
    log(`brings its own image ${source.image}: nothing to build`);
    const record: ImageRecord = {
      deployName: deployable.variant.deployName,
      tag: source.image,
      outcome: 'bring-your-own',
      labels: {},
      layers: [],
    };
    return { record, recordFile: await writeImageRecord(outDir, record), durationMs: Date.now() - started };
  }

  const docker = options.docker;
  if (!docker) {
    throw userErrorWithFix('BUILD_DOCKER_UNAVAILABLE',
      `${describeEntry(options.fleet, deployable)}: no Docker engine answers (DOCKER_HOST or /var/run/docker.sock), and ${deployable.variant.deployName} needs one to build its image`);
  }
  log('resolving the model, dependencies and serving code');
  const inputs = await prepareImageInputs(options);
  log(`model ${inputs.model.source} version ${inputs.model.version} (${inputs.model.sizeBytes} bytes, ${inputs.model.artifactDigest})`);

  const ensured = await ensureImage(
    docker,
    inputs,
    { subject: describeEntry(options.fleet, deployable), template: 'image-templates/model/Dockerfile.hbs', repository: inputs.deployName, force: options.force ?? false, env },
    log,
  );

  const { details } = ensured;
  // Layer sizes only when this engine holds the image (found in the registry, it was not pulled).
  const layerSizes = details ? (await docker.imageHistory(inputs.tag)).filter((entry) => entry.sizeBytes > 0).map((entry) => entry.sizeBytes) : [];
  const record: ImageRecord = {
    ...imageRecordFor(inputs.deployName, inputs, ensured),
    ...(details && layerSizes.length === details.layers.length ? { modelLayerBytes: layerSizes.at(-1) ?? 0 } : {}),
    model: {
      source: inputs.model.source,
      version: inputs.model.version,
      artifactDigest: inputs.model.artifactDigest,
      sizeBytes: inputs.model.sizeBytes,
    },
  };
  const recordFile = await writeImageRecord(outDir, record);
  log(`${record.outcome === 'built' ? 'built' : 'reused'} ${inputs.tag}${details ? ` (${formatBytes(details.sizeBytes)}, ${details.layers.length} layers)` : ' (in the registry)'} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return { record, recordFile, durationMs: Date.now() - started };
}


function formatBytes(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(1)} MiB` : `${(bytes / 1024).toFixed(1)} KiB`;
}
