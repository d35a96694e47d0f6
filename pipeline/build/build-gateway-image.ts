import type { DockerSeam } from '../seams/docker.js';
import { gatewayImageRecordPath, writeImageRecordFile, type ImageRecord } from '../model-folder/image-record.js';
import { prepareGatewayImageInputs, type PrepareGatewayImageInputsOptions } from './prepare-gateway-image-inputs.js';
import { ensureImage, imageRecordFor } from './ensure-image.js';
import { userErrorWithFix } from './user-error-with-fix.js';

/** `deployName` of the gateway's image record and its repository name under CI_REGISTRY_IMAGE. */
export const GATEWAY_NAME = 'gateway';

export interface BuildGatewayImageOptions extends Omit<PrepareGatewayImageInputsOptions, 'docker'> {
  /** From `openDocker()`; undefined when no engine answers. */
  readonly docker: DockerSeam | undefined;
  /** Absolute output folder (`build`): the record goes to `<outDir>/gateway/image.json`. */
  readonly outDir: string;
  /** Build even when the tag exists. */
  readonly force?: boolean;
  readonly log?: (line: string) => void;
}

export interface BuildGatewayImageResult {
  readonly record: ImageRecord;
  /** Path of the image.json written. */
  readonly recordFile: string;
  readonly durationMs: number;
}

/**
 * `modelfleet build --gateway`: the `gateway:build` job. Builds the gateway image (or finds it by
 * its content-digest tag), pushes it when a registry is configured, and writes
 * build/gateway/image.json, which `gateway:deploy` reads.
 */
export async function buildGatewayImage(options: BuildGatewayImageOptions): Promise<BuildGatewayImageResult> {
  const started = Date.now();
  const log = options.log ?? (() => undefined);
  const env = options.env ?? process.env;
  const docker = options.docker;
  if (!docker) {
    throw userErrorWithFix('BUILD_DOCKER_UNAVAILABLE', 'no Docker engine answers (DOCKER_HOST or /var/run/docker.sock), and the gateway image needs one to build');
  }
  log('resolving the dependencies and the gateway code');
  const inputs = await prepareGatewayImageInputs(options);

  const ensured = await ensureImage(
    docker,
    inputs,
    { subject: `the gateway image ${inputs.tag}`, template: 'image-templates/gateway/Dockerfile.hbs', repository: GATEWAY_NAME, force: options.force ?? false, env },
    log,
  );

  const record = imageRecordFor(GATEWAY_NAME, inputs, ensured);
  const recordFile = await writeImageRecordFile(gatewayImageRecordPath(options.outDir), record);
  log(`${record.outcome === 'built' ? 'built' : 'reused'} ${inputs.tag} (${record.layers.length} layers) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return { record, recordFile, durationMs: Date.now() - started };
}

