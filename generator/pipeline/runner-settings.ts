import { DEFAULT_CI_IMAGE_REFERENCE } from '../fleet/resolve-ci.js';
import type { CiJobKind, CiRunnerSettings, CiService, CiSettings } from '../fleet/types.js';
import { toCanonicalJson } from '../plan/canonical-json.js';
import type { CiObject } from './ci-object.js';

/**
 * How models.yaml's `ci:` block reaches the jobs. The top-level values go into the pipeline's
 * `default:` (image, tags, services); a job kind whose `ci.jobs.<kind>` differs gets its own
 * keys, which replace the default ones (https://docs.gitlab.com/ci/yaml/#default). Variables
 * cannot go into `default:`, and global `variables:` would be passed on by the dispatcher's
 * trigger jobs to the parts, where they outrank job variables; so each job carries its kind's
 * merged variables itself.
 */

function serviceEntry(service: CiService): CiObject | string {
  if (service.alias === undefined && service.command === undefined) return service.name;
  return { name: service.name, ...(service.alias !== undefined ? { alias: service.alias } : {}), ...(service.command ? { command: [...service.command] } : {}) };
}

/** The `default:` keys for the top-level `ci:` values. */
export function runnerDefaults(runner: CiRunnerSettings): CiObject {
  return {
    image: runner.image,
    ...(runner.tags.length > 0 ? { tags: [...runner.tags] } : {}),
    ...(runner.services.length > 0 ? { services: runner.services.map(serviceEntry) } : {}),
  };
}

const same = (a: unknown, b: unknown): boolean => toCanonicalJson(a) === toCanonicalJson(b);

/** Which keys a kind of job must set itself, worked out once per fleet (a fleet of 1,000 models has 3,000 jobs). */
const differences = new WeakMap<CiSettings, Record<CiJobKind, { image: boolean; tags: boolean; services: boolean }>>();

function differencesOf(ci: CiSettings): Record<CiJobKind, { image: boolean; tags: boolean; services: boolean }> {
  let known = differences.get(ci);
  if (!known) {
    const of = (kind: CiJobKind) => ({
      image: ci.jobs[kind].image !== ci.runner.image,
      tags: !same(ci.jobs[kind].tags, ci.runner.tags),
      services: !same(ci.jobs[kind].services, ci.runner.services),
    });
    known = { build: of('build'), test: of('test'), deploy: of('deploy') };
    differences.set(ci, known);
  }
  return known;
}

/** The job keys of one kind of job: what differs from `default:`, and its variables. */
export function runnerKeys(ci: CiSettings, kind: CiJobKind): CiObject {
  const settings = ci.jobs[kind];
  const differ = differencesOf(ci)[kind];
  return {
    ...(differ.image ? { image: settings.image } : {}),
    ...(differ.tags ? { tags: [...settings.tags] } : {}),
    ...(differ.services ? { services: settings.services.map(serviceEntry) } : {}),
    ...(Object.keys(settings.variables).length > 0 ? { variables: { ...settings.variables } } : {}),
  };
}

/**
 * The settings with `tags` filled in wherever they name none: the runner tags a pipeline was
 * generated for (`generate --runner-tags`), below anything models.yaml's `ci:` block says.
 */
export function withDefaultRunnerTags(ci: CiSettings, tags: readonly string[]): CiSettings {
  if (tags.length === 0) return ci;
  const fill = (runner: CiRunnerSettings): CiRunnerSettings => (runner.tags.length > 0 ? runner : { ...runner, tags: [...tags] });
  return { ...ci, runner: fill(ci.runner), jobs: { build: fill(ci.jobs.build), test: fill(ci.jobs.test), deploy: fill(ci.jobs.deploy) } };
}

/** Whether an image reference names `$MODELFLEET_CI_IMAGE`, so the pipeline must define its default. */
export function namesDefaultImageVariable(image: string): boolean {
  return image.includes(DEFAULT_CI_IMAGE_REFERENCE.slice(1));
}

/** Whether any job's image (or `default:`'s) names `$MODELFLEET_CI_IMAGE`. */
export function usesDefaultImageVariable(ci: CiSettings): boolean {
  return [ci.runner, ci.jobs.build, ci.jobs.test, ci.jobs.deploy].some((r) => namesDefaultImageVariable(r.image));
}
