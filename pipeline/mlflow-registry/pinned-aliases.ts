import { MLFLOW_ALIAS, MLFLOW_NAME, MLFLOW_VERSION } from '../../generator/fleet/fleet-schema.js';
import { buildErrors } from '../../lib/errors/codes-build.js';
import { UserError } from '../../lib/errors/user-error.js';

/**
 * The job variable that carries the registry versions `modelfleet generate` resolved for MLflow
 * aliases: `match_taxi@champion=4 match_moto@champion=7`. Every job of one pipeline reads the
 * same version for an alias, and a job re-run later (GitLab's Rollback re-runs an old deploy
 * job with its old variables) deploys what it deployed the first time, wherever the alias
 * points by then.
 */
export const PINNED_VERSIONS_VARIABLE = 'MODELFLEET_MLFLOW_VERSIONS';

/** A registered model's alias and the version it pointed at when the pipeline was generated. */
export interface AliasPin {
  readonly name: string;
  readonly alias: string;
  readonly version: string;
}

/** `name@alias` → version. */
export type PinnedVersions = ReadonlyMap<string, string>;

const ENTRY = /^(?<name>[^@=\s]+)@(?<alias>[^@=\s]+)=(?<version>[^@=\s]+)$/;

function keyOf(name: string, alias: string): string {
  return `${name}@${alias}`;
}

/**
 * Reads the variable's value: whitespace-separated `name@alias=version` entries, each part as
 * models.yaml and MLflow allow it. Refuses anything else, and one alias pinned to two versions,
 * rather than guess which version a job should serve.
 */
export function parsePinnedVersions(text: string): PinnedVersions {
  const pins = new Map<string, string>();
  for (const entry of text.split(/\s+/).filter((word) => word !== '')) {
    const parts = ENTRY.exec(entry)?.groups;
    const name = parts?.name ?? '';
    const alias = parts?.alias ?? '';
    const version = parts?.version ?? '';
    const wrong = !parts ? 'is not name@alias=version'
      : !MLFLOW_NAME.test(name) ? `has "${name}", which is not an MLflow registered model name (letters, digits and "_.-")`
        : !MLFLOW_ALIAS.test(alias) ? `has "${alias}", which is not an MLflow alias (letters, digits, "_" and "-")`
          : !MLFLOW_VERSION.test(version) ? `has "${version}", which is not a registry version number`
            : undefined;
    if (wrong !== undefined) throw invalid(`the entry ${JSON.stringify(entry)} ${wrong}`);
    const key = keyOf(name, alias);
    const earlier = pins.get(key);
    if (earlier !== undefined && earlier !== version) throw invalid(`pins ${key} to both version ${earlier} and version ${version}`);
    pins.set(key, version);
  }
  return pins;
}

/** The variable's value for these pins: sorted, one entry per alias, so the same resolutions give the same text. */
export function formatPinnedVersions(pins: Iterable<AliasPin>): string {
  const entries = new Map<string, string>();
  for (const pin of pins) entries.set(keyOf(pin.name, pin.alias), `${keyOf(pin.name, pin.alias)}=${pin.version}`);
  return [...entries.keys()].sort().map((key) => entries.get(key)).join(' ');
}

export function toPinnedVersions(pins: Iterable<AliasPin>): PinnedVersions {
  return new Map([...pins].map((pin) => [keyOf(pin.name, pin.alias), pin.version]));
}

/** The pins of this process's job; none when the variable is unset or empty. */
export function readPinnedVersions(env: NodeJS.ProcessEnv): PinnedVersions {
  return parsePinnedVersions(env[PINNED_VERSIONS_VARIABLE] ?? '');
}

/** The version the pipeline pinned for this alias, or undefined when it is not listed. */
export function pinnedVersionOf(pins: PinnedVersions, name: string, alias: string): string | undefined {
  return pins.get(keyOf(name, alias));
}

/** The one line a command prints when a pin stands in for asking the registry. */
export function pinnedAliasNotice(subject: string, alias: string, version: string): string {
  return `${subject}: alias ${alias} pinned to version ${version} by the pipeline (${PINNED_VERSIONS_VARIABLE})`;
}

function invalid(problem: string): UserError {
  return new UserError('MLFLOW_PINNED_VERSIONS_INVALID', `${PINNED_VERSIONS_VARIABLE} ${problem}`, buildErrors.MLFLOW_PINNED_VERSIONS_INVALID.fix);
}
