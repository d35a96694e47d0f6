import path from 'node:path';
import { UserError } from '../lib/errors/user-error.js';
import { detectChanges } from './detect-changes.js';
import { findDeployable, listDeployables } from './fleet/find-deployable.js';
import { loadFleet } from './fleet/load-fleet.js';
import { openGit, type GitSeam } from './git/git-seam.js';
import { DEFAULT_MAX_JOBS, MIN_MAX_JOBS } from './pipeline/gitlab-limits.js';
import { aliasUsesOf } from './plan/alias-uses.js';
import { planGeneration, type GenerationPlan } from './plan/plan-generation.js';
import { resolveAliasVersions } from './resolve-alias-versions.js';
import { PINNED_VERSIONS_VARIABLE, parsePinnedVersions, toPinnedVersions, type AliasPin } from '../pipeline/mlflow-registry/pinned-aliases.js';
import { selectOne } from './plan/select-changes.js';
import { pinImageContents } from './pin-image-contents.js';
import { PINNED_IMAGES_VARIABLE, parsePinnedImages, type ImagePin } from '../pipeline/build/pinned-images.js';
import { readModelTemplates, type ModelTemplate } from './render/model-templates.js';
import { writePlan, type WriteResult } from './write/write-plan.js';

export interface GenerateOptions {
  readonly file: string;
  readonly out: string;
  readonly all?: boolean;
  readonly since?: string;
  readonly model?: string;
  readonly dryRun?: boolean;
  readonly maxJobs?: number;
  /** Tags for every job whose `ci:` settings name none. */
  readonly runnerTags?: readonly string[];
  /** `--mlflow-versions`: alias versions resolved by an earlier `generate` (a dispatcher passes them); `name@alias=version ...`. */
  readonly mlflowVersions?: string;
  /**
   * Compute the content of every image the jobs build and pin it on them (MODELFLEET_IMAGE_CONTENT).
   * Downloads each registry model the jobs build; needs the compiled serving code (`dist/`).
   */
  readonly pinImages?: boolean;
  /** `--image-contents`: image contents computed by an earlier `generate` (a dispatcher passes them); `key=sha256:… ...`. */
  readonly imageContents?: string;
  /** For the MLflow registry requests that resolve aliases and download models; tests pass their own. */
  readonly fetchImpl?: typeof fetch;
  /** Defaults to the process's; tests pass their own. */
  readonly cwd?: string;
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly templates?: readonly ModelTemplate[];
  readonly openGit?: (cwd: string) => GitSeam;
}

export interface GenerateResult {
  readonly plan: GenerationPlan;
  /** Undefined for --dry-run. */
  readonly written?: WriteResult;
  /** The MLflow aliases the jobs read, with the registry version each is pinned to. */
  readonly aliasPins: readonly AliasPin[];
  /** The image contents pinned on the jobs (none unless `pinImages`). */
  readonly imagePins: readonly ImagePin[];
  readonly outDir: string;
}

/** A path as the generated jobs name it: relative to the folder the CLI runs in, `/`-separated. */
export function toJobPath(target: string, cwd: string): string {
  const absolute = path.resolve(cwd, target);
  const relative = path.relative(cwd, absolute);
  if (relative === '') return '.';
  return relative.startsWith('..') || path.isAbsolute(relative) ? absolute : relative.split(path.sep).join('/');
}

/**
 * `modelfleet generate`: load, detect changes, resolve the MLflow aliases the jobs read (the
 * only I/O besides git, and none without an alias), plan (pure), then write once.
 */
export async function runGenerate(options: GenerateOptions): Promise<GenerateResult> {
  const cwd = options.cwd ?? process.cwd();
  const env = options.env ?? process.env;
  const maxJobs = options.maxJobs ?? DEFAULT_MAX_JOBS;
  if (!Number.isInteger(maxJobs) || maxJobs < MIN_MAX_JOBS) {
    throw new UserError('USAGE', `--max-jobs must be a whole number of at least ${MIN_MAX_JOBS}`, `GitLab.com Free allows ${DEFAULT_MAX_JOBS} jobs per pipeline`);
  }
  if (options.all && options.since !== undefined) throw new UserError('USAGE', '--all and --since exclude each other', 'pass one of them');
  if (options.model !== undefined && (options.all || options.since !== undefined || options.mlflowVersions !== undefined || options.imageContents !== undefined)) {
    throw new UserError('USAGE', '--model regenerates one folder; it takes neither --all, --since, --mlflow-versions nor --image-contents', 'drop --all / --since / --mlflow-versions / --image-contents');
  }

  const fleet = loadFleet(path.resolve(cwd, options.file));
  const templates = options.templates ?? readModelTemplates();
  const fleetFile = toJobPath(options.file, cwd);
  const outDir = path.resolve(cwd, options.out);
  const common = { fleet, fleetFile, outDir: toJobPath(options.out, cwd), templates, maxJobs, ...(options.runnerTags ? { runnerTags: options.runnerTags } : {}) };

  let plan: GenerationPlan;
  let aliasPins: AliasPin[] = [];
  let imagePins: ImagePin[] = [];
  if (options.model !== undefined) {
    // A child job's own folder: its job variables already hold the pinned versions, so nothing is resolved or rewritten here.
    const only = findDeployable(fleet, options.model);
    plan = planGeneration({ ...common, changes: selectOne(only.variant.deployName), only });
  } else {
    refusePresetPins(env);
    const changes = detectChanges(
      fleet,
      { all: options.all ?? false, since: options.since, ciBeforeSha: env.CI_COMMIT_BEFORE_SHA },
      () => (options.openGit ?? openGit)(cwd),
    );
    const withJobs = listDeployables(fleet).filter((d) => changes.changed.has(d.variant.deployName));
    aliasPins = await resolveAliasVersions({
      fleet,
      uses: aliasUsesOf(fleet, withJobs),
      given: parsePinnedVersions(options.mlflowVersions ?? ''),
      env,
      ...(options.fetchImpl ? { fetchImpl: options.fetchImpl } : {}),
    });
    const given = parsePinnedImages(options.imageContents ?? '');
    const aliasVersions = toPinnedVersions(aliasPins);
    plan = planGeneration({ ...common, changes, aliasVersions });
    // A dispatcher passes the parent's contents (`--image-contents`): its parts are pinned as the parent's were.
    if (options.pinImages || options.imageContents !== undefined) {
      // The images are computed from the planned folders (their Dockerfiles), then pinned on the jobs of a second, otherwise equal plan.
      imagePins = await pinImageContents({
        fleet, deployables: withJobs, files: plan.files, aliasPins, given, env,
        ...(options.fetchImpl ? { fetchImpl: options.fetchImpl } : {}),
      });
      plan = planGeneration({ ...common, changes, aliasVersions, imageContents: new Map(imagePins.map((pin) => [pin.key, pin.content])) });
    }
  }
  if (options.dryRun) return { plan, outDir, aliasPins, imagePins };
  return { plan, written: writePlan(plan, outDir), outDir, aliasPins, imagePins };
}

/**
 * A project or pipeline variable outranks the job variable `generate` writes
 * (https://docs.gitlab.com/ci/variables/#cicd-variable-precedence), and the parent's trigger job
 * forwards pipeline variables to the child: set there, it would replace every job's pins.
 */
function refusePresetPins(env: NodeJS.ProcessEnv): void {
  for (const variable of [PINNED_VERSIONS_VARIABLE, PINNED_IMAGES_VARIABLE]) {
    const preset = env[variable];
    if (preset === undefined || preset.trim() === '') continue;
    throw new UserError('GENERATE_PINS_PRESET',
      `${variable} is set for \`generate\` (${JSON.stringify(preset.slice(0, 120))}); as a project or pipeline variable it would replace what generate pins on each job`,
      `Remove ${variable} from the project's CI/CD variables and from the pipeline run; to serve a particular version, name it in models.yaml (\`mlflow: { name, version }\`).`);
  }
}
