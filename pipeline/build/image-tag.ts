import { createHash } from 'node:crypto';

/** Everything that goes into a model image; the same inputs always give the same tag. */
export interface ImageContent {
  readonly deployName: string;
  /** The Dockerfile text the image is built from. */
  readonly dockerfile: string;
  /**
   * `BASE_IMAGE` build argument, e.g. `node:20-bookworm-slim`. The reference, never the local
   * image ID: two engines must compute the same tag for the same inputs (pin a digest,
   * `node:20-bookworm-slim@sha256:…`, to rebuild when the base changes).
   */
  readonly baseImage: string;
  /** Cache key of the prepared production dependency tree. */
  readonly runtimeDependenciesKey: string;
  /** Digest of the compiled serving code copied into the image. */
  readonly servingCodeDigest: string;
  /** `sha256:...` over the model artifact's files. */
  readonly artifactDigest: string;
  /** Build arguments and labels (the git commit label is left out: it does not change the image's behaviour). */
  readonly buildArgs: Readonly<Record<string, string>>;
  readonly labels: Readonly<Record<string, string>>;
}

/** Image repository of a deployable: `modelfleet/<deployName>`. */
export function imageRepository(deployName: string): string {
  return `modelfleet/${deployName}`;
}

/** sha256 hex over a canonical rendering of the content (keys sorted). */
export function computeContentDigest(content: ImageContent): string {
  return digestCanonicalJson(content);
}

/** sha256 hex over JSON with object keys sorted, so key order never changes a digest. */
export function digestCanonicalJson(content: object): string {
  const canonical = JSON.stringify(content, (_key, value: unknown) =>
    value !== null && typeof value === 'object' && !Array.isArray(value)
      ? Object.fromEntries(Object.entries(value as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)))
      : value,
  );
  return createHash('sha256').update(canonical).digest('hex');
}

/**
 * `modelfleet/<deployName>:<first 12 hex of the content digest>`. Pure: a later job (load test,
 * deploy) recomputes it to find the image even after the build job's artifacts expired.
 */
export function resolveImageTag(content: ImageContent): string {
  return contentTagOf(content.deployName, computeContentDigest(content));
}

/** The content tag of a deployable's image whose content digest (hex, or `sha256:<hex>`) is known. */
export function contentTagOf(deployName: string, contentDigest: string): string {
  return `${imageRepository(deployName)}:${contentDigest.replace(/^sha256:/, '').slice(0, 12)}`;
}
