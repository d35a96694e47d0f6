import { z } from 'zod';
import { digestCanonicalJson } from '../build/image-tag.js';
import { DEFAULT_SIZING_POLICY, type Sizing } from '../sizing/sizing-policy.js';
import { modelFolderPaths } from './model-folder-paths.js';
import { readRecordFile, writeRecordFile } from './record-file.js';

/**
 * `sizing.json` and its copy in the registry: what the load test measured and the resources
 * the deploy job writes into the manifests. The deploy job finds it again by `key`, so a
 * re-run weeks later applies the same limits without measuring again.
 */
export const sizingRecordSchema = z.object({
  schemaVersion: z.literal(1),
  deployName: z.string().min(1),
  /** What was measured: see `sizingKeyOf`. */
  key: z.string().regex(/^[0-9a-f]{64}$/),
  /** The image the load test ran (local tag or bring-your-own reference). */
  image: z.string().min(1),
  mode: z.enum(['docker', 'process']),
  measuredAt: z.string(),
  /** The load test's headline figures, for people reading the record without the report. */
  summary: z.object({
    requestsPerSecond: z.number().nonnegative(),
    p99Ms: z.number().nonnegative(),
    errors: z.number().int().nonnegative(),
    memoryPeakBytes: z.number().nonnegative(),
  }),
  sizing: z.looseObject({
    memoryRequestBytes: z.number().positive(),
    memoryLimitBytes: z.number().positive(),
    cpuRequestMillicores: z.number().positive(),
    resources: z.object({
      requests: z.object({ cpu: z.string(), memory: z.string() }),
      limits: z.object({ memory: z.string() }),
    }),
  }),
});

export type SizingRecord = z.infer<typeof sizingRecordSchema>;

/** Media type of the record when it is stored in the registry beside the image. */
export const SIZING_RECORD_MEDIA_TYPE = 'application/vnd.modelfleet.sizing.v1+json';

export interface SizingInputs {
  /** The image's content digest, or the bring-your-own image reference. */
  readonly image: string;
  /** The server environment during the load test (batching, row limits): it changes memory use. */
  readonly serverEnv: Readonly<Record<string, string>>;
  /** The `loadtest:` settings: more connections or rows per request need more memory. */
  readonly loadtest: Readonly<Record<string, number>>;
}

/**
 * sha256 hex over everything a measurement depends on: the image, how the server was started,
 * the load, and the sizing policy. Same inputs on any machine, same key.
 */
export function sizingKeyOf(inputs: SizingInputs): string {
  return digestCanonicalJson({ ...inputs, policy: DEFAULT_SIZING_POLICY });
}

/** Registry tag of the record, in the deployable's repository next to the image's tags. */
export function sizingRecordTag(key: string): string {
  return `sizing-${key.slice(0, 32)}`;
}

export function toSizingRecord(fields: Omit<SizingRecord, 'schemaVersion' | 'sizing'> & { readonly sizing: Sizing }): SizingRecord {
  return sizingRecordSchema.parse({ schemaVersion: 1, ...fields });
}

export async function writeSizingRecord(outDir: string, record: SizingRecord): Promise<string> {
  return writeRecordFile(modelFolderPaths(outDir, record.deployName).sizingJson, sizingRecordSchema.parse(record));
}

export async function readSizingRecord(outDir: string, deployName: string): Promise<SizingRecord | undefined> {
  return readRecordFile(modelFolderPaths(outDir, deployName).sizingJson, sizingRecordSchema);
}
