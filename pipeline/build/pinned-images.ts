import { isDeepStrictEqual } from 'node:util';
import type { Deployable } from '../../generator/fleet/types.js';
import { buildErrors } from '../../lib/errors/codes-build.js';
import { UserError } from '../../lib/errors/user-error.js';

/**
 * The job variable that carries the content digests `modelfleet generate` computed for the
 * images a job builds, measures or deploys: `match-7-moto-baseline=sha256:<64 hex>`. A deploy
 * job deploys exactly that image, and a re-run of it months later (GitLab's Rollback) deploys
 * the same one, whatever the CI image, the base image or the registry's aliases say by then.
 */
export const PINNED_IMAGES_VARIABLE = 'MODELFLEET_IMAGE_CONTENT';

/**
 * Which image of a deployable an entry names. `<deployName>` for the model's own source, and
 * `<deployName>@<version>` / `<deployName>@<alias>` for the registry version or alias an
 * environment pins instead (models.yaml's `environments.<env>.pin`). An MLflow alias never
 * starts with a digit, so the two never collide.
 */
export type ImageKey = string;

/** One image a pipeline pinned: its key and `sha256:<64 hex>` content digest. */
export interface ImagePin {
  readonly key: ImageKey;
  readonly content: string;
}

/** key → content digest. */
export type PinnedImages = ReadonlyMap<ImageKey, string>;

const ENTRY = /^(?<key>[a-z0-9][a-z0-9-]*(?:@[A-Za-z0-9_-]+)?)=(?<content>sha256:[0-9a-f]{64})$/;

/**
 * The key of the image `deployable` runs: its own source, or the registry pin of an environment.
 * `deployableInEnvironment` puts that pin in place of the variant's source but leaves the model's
 * list of variants as models.yaml has it, so the own source is found there. Pure.
 */
export function imageKeyOf(deployable: Deployable): ImageKey {
  const { deployName, source } = deployable.variant;
  const own = deployable.model.variants.find((variant) => variant.deployName === deployName)?.source;
  if (isDeepStrictEqual(source, own) || source.kind !== 'mlflow') return deployName;
  return `${deployName}@${source.version ?? source.alias ?? ''}`;
}

/** Reads the variable's value; refuses anything but whitespace-separated `key=sha256:<hex>` entries, one digest per key. */
export function parsePinnedImages(text: string): PinnedImages {
  const pins = new Map<string, string>();
  for (const entry of text.split(/\s+/).filter((word) => word !== '')) {
    const parts = ENTRY.exec(entry)?.groups;
    if (!parts) throw invalid(`the entry ${JSON.stringify(entry.slice(0, 120))} is not <deployName>[@version]=sha256:<64 lowercase hex>`);
    const key = parts.key ?? '';
    const content = parts.content ?? '';
    const earlier = pins.get(key);
    if (earlier !== undefined && earlier !== content) throw invalid(`pins ${key} to both ${earlier} and ${content}`);
    pins.set(key, content);
  }
  return pins;
}

/** The variable's value: sorted by key, so the same pins always give the same text. */
export function formatPinnedImages(pins: Iterable<ImagePin>): string {
  const byKey = new Map<string, string>();
  for (const pin of pins) byKey.set(pin.key, pin.content);
  return [...byKey.keys()].sort().map((key) => `${key}=${byKey.get(key) ?? ''}`).join(' ');
}

/** The pins of this process's job; none when the variable is unset or empty. */
export function readPinnedImages(env: NodeJS.ProcessEnv): PinnedImages {
  return parsePinnedImages(env[PINNED_IMAGES_VARIABLE] ?? '');
}

/**
 * Refuses an image whose content is not the one the pipeline pinned for it: the same commit
 * gives another image only when something outside the commit moved (the CI image's modelfleet,
 * MODELFLEET_BASE_IMAGE, the files of a registry version), and a content tag must never name
 * other content.
 */
export function requirePinnedContent(pins: PinnedImages, key: ImageKey, content: string, subject: string): void {
  const pinned = pins.get(key);
  if (pinned === undefined || pinned === content) return;
  throw new UserError('IMAGE_CONTENT_CHANGED',
    `${subject}: this job's inputs give the image content ${content.slice(0, 19)}…, but \`generate\` pinned ${pinned.slice(0, 19)}… for ${key} (${PINNED_IMAGES_VARIABLE}); the CI image, MODELFLEET_BASE_IMAGE or the registry version's files changed since the pipeline was generated`,
    buildErrors.IMAGE_CONTENT_CHANGED.fix);
}

function invalid(problem: string): UserError {
  return new UserError('IMAGE_PINS_INVALID', `${PINNED_IMAGES_VARIABLE} ${problem}`, buildErrors.IMAGE_PINS_INVALID.fix);
}
