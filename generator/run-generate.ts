import path from 'node:path';
import { UserError } from '../lib/errors/user-error.js';
import { detectChanges } from './detect-changes.js';
import { findDeployable } from './fleet/find-deployable.js';
import { loadFleet } from './fleet/load-fleet.js';
import { openGit, type GitSeam } from './git/git-seam.js';
import { DEFAULT_MAX_JOBS, MIN_MAX_JOBS } from './pipeline/gitlab-limits.js';
import { planGeneration, type GenerationPlan } from './plan/plan-generation.js';
import { selectOne } from './plan/select-changes.js';
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
  readonly outDir: string;
}

/** A path as the generated jobs name it: relative to the folder the CLI runs in, `/`-separated. */
export function toJobPath(target: string, cwd: string): string {
  const absolute = path.resolve(cwd, target);
  const relative = path.relative(cwd, absolute);
  if (relative === '') return '.';
  return relative.startsWith('..') || path.isAbsolute(relative) ? absolute : relative.split(path.sep).join('/');
}

/** `modelfleet generate`: load, detect changes, plan (pure), then write once. */
export function runGenerate(options: GenerateOptions): GenerateResult {
  const cwd = options.cwd ?? process.cwd();
  const env = options.env ?? process.env;
  const maxJobs = options.maxJobs ?? DEFAULT_MAX_JOBS;
  if (!Number.isInteger(maxJobs) || maxJobs < MIN_MAX_JOBS) {
    throw new UserError('USAGE', `--max-jobs must be a whole number of at least ${MIN_MAX_JOBS}`, `GitLab.com Free allows ${DEFAULT_MAX_JOBS} jobs per pipeline`);
  }
  if (options.all && options.since !== undefined) throw new UserError('USAGE', '--all and --since exclude each other', 'pass one of them');
  if (options.model !== undefined && (options.all || options.since !== undefined)) {
    throw new UserError('USAGE', '--model regenerates one folder; it takes neither --all nor --since', 'drop --all / --since');
  }

  const fleet = loadFleet(path.resolve(cwd, options.file));
  const templates = options.templates ?? readModelTemplates();
  const fleetFile = toJobPath(options.file, cwd);
  const outDir = path.resolve(cwd, options.out);
  const common = { fleet, fleetFile, outDir: toJobPath(options.out, cwd), templates, maxJobs, ...(options.runnerTags ? { runnerTags: options.runnerTags } : {}) };

  let plan: GenerationPlan;
  if (options.model !== undefined) {
    const only = findDeployable(fleet, options.model);
    plan = planGeneration({ ...common, changes: selectOne(only.variant.deployName), only });
  } else {
    const changes = detectChanges(
      fleet,
      { all: options.all ?? false, since: options.since, ciBeforeSha: env.CI_COMMIT_BEFORE_SHA },
      () => (options.openGit ?? openGit)(cwd),
    );
    plan = planGeneration({ ...common, changes });
  }
  if (options.dryRun) return { plan, outDir };
  return { plan, written: writePlan(plan, outDir), outDir };
}
