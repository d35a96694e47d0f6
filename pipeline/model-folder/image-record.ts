import { z } from 'zod';
import { readRecordFile, writeRecordFile } from './record-file.js';
import { gatewayFolder, modelFolderPaths } from './model-folder-paths.js';

/**
 * `image.json`: what `build` made or found, for people reading the job's artifacts and for the
 * later steps of the same job or machine (`modelfleet up`). Jobs never rely on it across job
 * boundaries: they recompute the content tag and ask the engine or the registry.
 */
export const imageRecordSchema = z.object({
  deployName: z.string().min(1),
  /** Local reference, e.g. `modelfleet/match-7-moto-baseline:0123456789ab`; the BYO image as given for `image:` entries. */
  tag: z.string().min(1),
  /** `built`: built now; `existing`: the engine or the registry had the tag (same content); `bring-your-own`: an `image:` entry. */
  outcome: z.enum(['built', 'existing', 'bring-your-own']),
  /** Full content digest (sha256 hex) the tag is cut from; absent for bring-your-own images. */
  contentDigest: z.string().regex(/^[0-9a-f]{64}$/).optional(),
  imageId: z.string().optional(),
  /** Reference in the registry, when one is configured. */
  registryReference: z.string().optional(),
  baseImage: z.string().optional(),
  labels: z.record(z.string(), z.string()),
  /** Layer diff IDs, bottom first (empty when the image was found in the registry only). */
  layers: z.array(z.string()),
  sizeBytes: z.number().nonnegative().optional(),
  /** Size of the last layer (the model artifact). */
  modelLayerBytes: z.number().nonnegative().optional(),
  model: z
    .object({
      source: z.string(),
      version: z.string(),
      artifactDigest: z.string(),
      /** Bytes of the model folder's files. */
      sizeBytes: z.number().nonnegative(),
    })
    .optional(),
});

export type ImageRecord = z.infer<typeof imageRecordSchema>;

export function imageRecordPath(outDir: string, deployName: string): string {
  return modelFolderPaths(outDir, deployName).imageJson;
}

/** `build/gateway/image.json`: the gateway image. */
export function gatewayImageRecordPath(outDir: string): string {
  return gatewayFolder(outDir).imageJson;
}

/** Writes `<out>/models/<deployName>/image.json`, or the gateway's when `deployName` is `gateway` and `file` is given. */
export async function writeImageRecord(outDir: string, record: ImageRecord): Promise<string> {
  return writeImageRecordFile(imageRecordPath(outDir, record.deployName), record);
}

export async function writeImageRecordFile(file: string, record: ImageRecord): Promise<string> {
  return writeRecordFile(file, imageRecordSchema.parse(record));
}

/** The record, or undefined when the file is missing or is not a valid image record. */
export async function readImageRecord(outDir: string, deployName: string): Promise<ImageRecord | undefined> {
  return readRecordFile(imageRecordPath(outDir, deployName), imageRecordSchema);
}

export async function readGatewayImageRecord(outDir: string): Promise<ImageRecord | undefined> {
  return readRecordFile(gatewayImageRecordPath(outDir), imageRecordSchema);
}
