import type { z } from 'zod';
import { isPlainObject } from './deep-merge.js';
import { DEFAULT_BRANCH_ENTRY, parseDeployBranch } from './deploy-branch.js';
import type { FleetProblem } from './fleet-problem.js';
import { ciSchema, type RawCi, type RawCiJob } from './fleet-schema.js';
import type { CiJobKind, CiRunnerSettings, CiService, CiSettings } from './types.js';
import type { KeyPath } from './yaml-positions.js';
import { problemsFromZod, valueAt } from './zod-problems.js';

/** The jobs' image unless `ci.image` names one: the variable the parent .gitlab-ci.yml sets (and a pipeline run may override). */
export const DEFAULT_CI_IMAGE_REFERENCE = '$MODELFLEET_CI_IMAGE';

export const CI_JOB_KINDS: readonly CiJobKind[] = ['build', 'test', 'deploy'];

/**
 * Variables `ci.variables` must not set, and why: modelfleet sets them itself, or GitLab does.
 * Job variables also lose to variables a pipeline run or the parent's trigger job passes down
 * (https://docs.gitlab.com/ci/variables/#cicd-variable-precedence), so setting these here would not work anyway.
 */
const RESERVED_VARIABLES: ReadonlyMap<string, string> = new Map([
  ['MODELFLEET_DEPLOY_TARGET', 'set `ci.deployTarget: kubernetes | local` instead; a pipeline run can still override it with this variable'],
  ['MODELFLEET_PARENT_PIPELINE_SOURCE', 'the parent pipeline\'s trigger job sets it for the branch rules'],
  ['MODELFLEET_ENV', 'set it in .gitlab-ci.yml or when starting a pipeline; the parent passes it to every job'],
  ['MODELFLEET_CI_IMAGE', 'set `ci.image` instead'],
  ['MODELFLEET_MLFLOW_VERSIONS', '`generate` writes it on every job that reads an MLflow alias; name a version in `mlflow:` to serve a particular one'],
  ['MODELFLEET_IMAGE_CONTENT', '`generate` writes it on every build, test and deploy job: the content of the images the job builds or deploys'],
  ['__proto__', 'pick another name'],
]);
const PREDEFINED_PREFIXES = ['CI_', 'GITLAB_'];
/** Job variables that give a load test the value of a model's `secretEnv` variable (pipeline/loadtest/loadtest-secret-env.ts). */
const SECRET_VARIABLE_PREFIX = 'MODELFLEET_SECRET_';

export interface ResolvedCi {
  readonly ci: CiSettings;
  readonly problems: FleetProblem[];
}

const EMPTY_RUNNER: CiRunnerSettings = { tags: [], image: DEFAULT_CI_IMAGE_REFERENCE, services: [], variables: {} };

/** What a fleet without a `ci:` block gets: today's shared runners, Kubernetes, deploys from the default branch only. */
export const DEFAULT_CI_SETTINGS: CiSettings = {
  runner: EMPTY_RUNNER,
  jobs: { build: EMPTY_RUNNER, test: EMPTY_RUNNER, deploy: EMPTY_RUNNER },
  deployTarget: 'kubernetes',
  deploy: { branches: [{ kind: 'default' }], mergeRequests: false },
};

/**
 * Validates models.yaml's `ci:` block and fills in its defaults. Pure: problems come back as
 * data. An invalid block resolves to the defaults (the problems stop generation anyway).
 */
export function resolveCi(raw: unknown): ResolvedCi {
  if (raw === undefined) return { ci: DEFAULT_CI_SETTINGS, problems: [] };
  // Reserved names are checked on what was written, so they are reported next to any schema problem.
  const problems = [
    ...reservedVariableProblems(valueAt(raw, ['variables']), ['ci', 'variables']),
    ...CI_JOB_KINDS.flatMap((kind) => reservedVariableProblems(valueAt(raw, ['jobs', kind, 'variables']), ['ci', 'jobs', kind, 'variables'])),
  ];
  const parsed = ciSchema.safeParse(raw);
  if (!parsed.success) problems.push(...problemsFromZod(parsed.error, ciSchema as z.ZodType, raw, ['ci']));
  if (!parsed.success || problems.length > 0) return { ci: DEFAULT_CI_SETTINGS, problems };
  const block = parsed.data;

  const runner = mergeRunner(EMPTY_RUNNER, block);
  return {
    ci: {
      runner,
      jobs: { build: mergeRunner(runner, block.jobs?.build), test: mergeRunner(runner, block.jobs?.test), deploy: mergeRunner(runner, block.jobs?.deploy) },
      deployTarget: block.deployTarget ?? 'kubernetes',
      deploy: { branches: (block.deploy?.branches ?? [DEFAULT_BRANCH_ENTRY]).map(parseDeployBranch), mergeRequests: false },
    },
    problems: [],
  };
}

function reservedVariableProblems(variables: unknown, base: KeyPath): FleetProblem[] {
  if (!isPlainObject(variables)) return [];
  return Object.keys(variables).flatMap((name): FleetProblem[] => {
    const reserved = RESERVED_VARIABLES.get(name);
    if (reserved !== undefined) return [{ path: [...base, name], message: `${name} cannot be set here`, hint: reserved }];
    if (name.startsWith(SECRET_VARIABLE_PREFIX)) {
      return [{ path: [...base, name], message: `${name} would put a secret value into models.yaml and the generated pipeline`, hint: 'set it as a masked CI/CD variable in GitLab\'s project settings instead; the load test reads it from there' }];
    }
    if (PREDEFINED_PREFIXES.some((p) => name.startsWith(p))) {
      return [{ path: [...base, name], message: `${name} is one of GitLab's predefined variables`, hint: 'GitLab sets CI_* and GITLAB_* itself; use a name of your own' }];
    }
    return [];
  });
}

/** `over` on top of `base`: tags, image and services replace; variables merge key by key. */
function mergeRunner(base: CiRunnerSettings, over: RawCiJob | RawCi | undefined): CiRunnerSettings {
  if (over === undefined) return base;
  return {
    tags: over.tags ?? base.tags,
    image: over.image ?? base.image,
    services: over.services?.map(toService) ?? base.services,
    variables: { ...base.variables, ...over.variables },
  };
}

function toService(raw: NonNullable<RawCi['services']>[number]): CiService {
  if (typeof raw === 'string') return { name: raw };
  return { name: raw.name, ...(raw.alias !== undefined ? { alias: raw.alias } : {}), ...(raw.command !== undefined ? { command: raw.command } : {}) };
}
