/**
 * How a small JSON record is laid out in a registry, as an OCI manifest
 * (https://github.com/opencontainers/image-spec/blob/v1.1.1/manifest.md#guidelines-for-artifact-usage):
 *
 * - the value is the config blob, so a reader fetches the manifest and one small blob, never layers;
 * - the record's own media type (e.g. `application/vnd.modelfleet.sizing.v1+json`) is an
 *   annotation, not `artifactType` or `config.mediaType`: GitLab's container registry answers
 *   `MANIFEST_INVALID unknown media type` for media types outside its fixed list
 *   (https://gitlab.com/gitlab-org/container-registry/-/blob/master/docs/supported-media-types.md),
 *   while `application/json` (config) and `application/vnd.oci.empty.v1+json` (layer) are on it;
 * - one layer, the empty JSON blob `{}`: distribution 2.8 also accepts none, but registries
 *   have refused layerless manifests before, and the image spec's empty descriptor is the
 *   sanctioned filler;
 * - the tag is an annotation too, so every tag's manifest has its own digest: deleting a
 *   manifest deletes every tag that points at it (distribution 2.8 does), and deleting one
 *   record must not take another that happens to hold the same value.
 */
import { createHash } from 'node:crypto';

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
export const DOCKER_MANIFEST_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
export const OCI_EMPTY = 'application/vnd.oci.empty.v1+json';
export const RECORD_CONFIG_MEDIA_TYPE = 'application/json';
export const RECORD_TYPE_ANNOTATION = 'io.modelfleet.record.type';
export const RECORD_TAG_ANNOTATION = 'io.modelfleet.record.tag';

/**
 * Every manifest kind a tag may hold. Distribution 2.8 rewrites a Docker v2 manifest into the
 * old signed schema 1 for clients that do not accept v2, so reads always list them all.
 */
export const MANIFEST_ACCEPT = [OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST].join(', ');

export const EMPTY_JSON: Buffer = Buffer.from('{}');

const IMAGE_CONFIGS = new Set(['application/vnd.oci.image.config.v1+json', 'application/vnd.docker.container.image.v1+json']);

/** Record media types go into an annotation; they must still read as `type/subtype`. */
const MEDIA_TYPE = /^[A-Za-z0-9][\w.+-]*\/[A-Za-z0-9][\w.+-]*$/;

export function sha256Digest(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

export interface RecordManifestInput {
  readonly tag: string;
  readonly mediaType: string;
  readonly config: Buffer;
  readonly annotations?: Readonly<Record<string, string>>;
}

/** The manifest's bytes; the same input always gives the same bytes (annotation keys sorted). */
export function buildRecordManifest(input: RecordManifestInput): Buffer {
  if (!MEDIA_TYPE.test(input.mediaType)) {
    throw new Error(`${JSON.stringify(input.mediaType)} is not a media type (type/subtype, e.g. application/vnd.modelfleet.sizing.v1+json)`);
  }
  for (const key of Object.keys(input.annotations ?? {})) {
    if (key === RECORD_TYPE_ANNOTATION || key === RECORD_TAG_ANNOTATION) {
      throw new Error(`annotation ${key} is reserved for the record's own bookkeeping`);
    }
  }
  const annotations: Record<string, string> = {
    ...input.annotations,
    [RECORD_TYPE_ANNOTATION]: input.mediaType,
    [RECORD_TAG_ANNOTATION]: input.tag,
  };
  const sorted = Object.fromEntries(Object.entries(annotations).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  const manifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: RECORD_CONFIG_MEDIA_TYPE, digest: sha256Digest(input.config), size: input.config.length },
    layers: [{ mediaType: OCI_EMPTY, digest: sha256Digest(EMPTY_JSON), size: EMPTY_JSON.length }],
    annotations: sorted,
  };
  return Buffer.from(JSON.stringify(manifest));
}

export type RecordManifestReading =
  | {
      readonly ok: true;
      readonly configDigest: string;
      readonly configSize: number;
      /** The caller's annotations, without the record's bookkeeping ones. */
      readonly annotations: Readonly<Record<string, string>>;
    }
  | { readonly ok: false; readonly code: 'NOT_A_RECORD' | 'RECORD_TYPE_MISMATCH'; readonly problem: string };

/** Checks that manifest bytes hold a record of `mediaType`; says what they hold otherwise. */
export function readRecordManifest(bytes: Buffer, contentType: string | null, mediaType: string): RecordManifestReading {
  let manifest: {
    mediaType?: unknown;
    config?: { mediaType?: unknown; digest?: unknown; size?: unknown };
    annotations?: unknown;
  };
  try {
    manifest = JSON.parse(bytes.toString('utf8')) as typeof manifest;
  } catch {
    return { ok: false, code: 'NOT_A_RECORD', problem: `holds a manifest that is not JSON (${contentType ?? 'no content type'})` };
  }
  const kind = typeof manifest.mediaType === 'string' ? manifest.mediaType : (contentType?.split(';')[0]?.trim() ?? 'unknown');
  if (kind !== OCI_MANIFEST) {
    const what = kind === DOCKER_MANIFEST || kind === OCI_INDEX || kind === DOCKER_MANIFEST_LIST ? 'an image' : 'a manifest';
    return { ok: false, code: 'NOT_A_RECORD', problem: `holds ${what} (${kind}), not a ${mediaType} record` };
  }
  const annotations = isStringRecord(manifest.annotations) ? manifest.annotations : {};
  const recordType = annotations[RECORD_TYPE_ANNOTATION];
  const config = manifest.config;
  if (recordType === undefined || config?.mediaType !== RECORD_CONFIG_MEDIA_TYPE) {
    const configType = typeof config?.mediaType === 'string' ? config.mediaType : 'none';
    const what = IMAGE_CONFIGS.has(configType) ? 'an image' : 'an OCI artifact';
    return { ok: false, code: 'NOT_A_RECORD', problem: `holds ${what} (${OCI_MANIFEST}, config ${configType}), not a ${mediaType} record` };
  }
  if (recordType !== mediaType) {
    return { ok: false, code: 'RECORD_TYPE_MISMATCH', problem: `holds a ${recordType} record, not a ${mediaType} record` };
  }
  if (typeof config.digest !== 'string' || !/^sha256:[0-9a-f]{64}$/.test(config.digest) || typeof config.size !== 'number') {
    return { ok: false, code: 'NOT_A_RECORD', problem: 'holds a record manifest whose config descriptor has no sha256 digest or size' };
  }
  const own = Object.fromEntries(
    Object.entries(annotations).filter(([key]) => key !== RECORD_TYPE_ANNOTATION && key !== RECORD_TAG_ANNOTATION),
  );
  return { ok: true, configDigest: config.digest, configSize: config.size, annotations: own };
}

function isStringRecord(value: unknown): value is Record<string, string> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.values(value).every((v) => typeof v === 'string');
}
