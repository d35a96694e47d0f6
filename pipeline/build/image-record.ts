import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/**
 * `build/models/<deployName>/image.json`: what the load test and deploy jobs run; the gateway's
 * is `build/gateway/image.json` (deployName `gateway`, no model fields).
 */
export interface ImageRecord {
  readonly deployName: string;
  /** Local reference, e.g. `modelfleet/match-7-moto-baseline:0123456789ab`; the BYO image as given for `image:` entries. */
  readonly tag: string;
  /** `built`: built now; `existing`: the tag existed (same content); `bring-your-own`: an `image:` entry. */
  readonly outcome: 'built' | 'existing' | 'bring-your-own';
  /** Full content digest (sha256 hex) the tag is cut from; absent for bring-your-own images. */
  readonly contentDigest?: string;
  readonly imageId?: string;
  /** Reference pushed to CI_REGISTRY, when one is configured. */
  readonly registryReference?: string;
  readonly baseImage?: string;
  readonly labels: Readonly<Record<string, string>>;
  /** Layer diff IDs, bottom first. */
  readonly layers: readonly string[];
  readonly sizeBytes?: number;
  /** Size of the last layer (the model artifact). */
  readonly modelLayerBytes?: number;
  readonly model?: {
    readonly source: string;
    readonly version: string;
    readonly artifactDigest: string;
    /** Bytes of the model folder's files. */
    readonly sizeBytes: number;
  };
}

export function imageRecordPath(outDir: string, deployName: string): string {
  return join(outDir, 'models', deployName, 'image.json');
}

/** `build/gateway/image.json`: the gateway image, which `gateway:deploy` runs. */
export function gatewayImageRecordPath(outDir: string): string {
  return join(outDir, 'gateway', 'image.json');
}

/** Writes a model's image.json (see writeImageRecordFile). */
export async function writeImageRecord(outDir: string, record: ImageRecord): Promise<string> {
  return writeImageRecordFile(imageRecordPath(outDir, record.deployName), record);
}

/** Writes atomically (temp file, then rename): a failed job never leaves half a file. */
export async function writeImageRecordFile(file: string, record: ImageRecord): Promise<string> {
  await mkdir(dirname(file), { recursive: true });
  const temp = `${file}.tmp-${process.pid}`;
  await writeFile(temp, `${JSON.stringify(record, null, 2)}\n`);
  await rename(temp, file);
  return file;
}

export async function readImageRecord(outDir: string, deployName: string): Promise<ImageRecord | undefined> {
  try {
    return JSON.parse(await readFile(imageRecordPath(outDir, deployName), 'utf8')) as ImageRecord;
  } catch {
    return undefined;
  }
}
