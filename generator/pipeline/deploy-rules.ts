import type { CiSettings, DeployBranch } from '../fleet/types.js';
import type { CiObject } from './ci-object.js';

/**
 * Which pipelines deploy. Child pipelines always run with CI_PIPELINE_SOURCE=parent_pipeline,
 * so the parent's trigger job passes its own source down as MODELFLEET_PARENT_PIPELINE_SOURCE
 * (.gitlab-ci.yml; trigger job variables reach the child:
 * https://docs.gitlab.com/ci/pipelines/downstream_pipelines/#pass-a-predefined-variable).
 */
export const PARENT_SOURCE_VARIABLE = 'MODELFLEET_PARENT_PIPELINE_SOURCE';

/** The deploy target of every deploy job; its default comes from `ci.deployTarget`, a pipeline run may override it. */
export const DEPLOY_TARGET_VARIABLE = 'MODELFLEET_DEPLOY_TARGET';

/** `ci.deployTarget` as `modelfleet deploy --target` spells it. */
export function deployTargetFlag(ci: CiSettings): 'kube' | 'local' {
  return ci.deployTarget === 'kubernetes' ? 'kube' : 'local';
}

/**
 * One side of the `||` in the branch rule. Names and patterns were validated by the fleet
 * loader (no quotes, spaces or unescaped `/`), so they cannot end their literal early.
 */
function branchCondition(branch: DeployBranch): string {
  switch (branch.kind) {
    case 'default':
      return '$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH';
    case 'name':
      return `$CI_COMMIT_BRANCH == "${branch.name}"`;
    case 'pattern':
      return `$CI_COMMIT_BRANCH =~ /${branch.pattern}/`;
  }
}

/**
 * `rules:` for every job that changes an environment (model and gateway deploys, removals):
 * never in a merge-request pipeline, else only on the deploy branches (by default the default
 * branch). CI_COMMIT_BRANCH is unset in merge-request and tag pipelines, so those never match
 * the branch rule either. A job no rule matches is left out of the pipeline
 * (https://docs.gitlab.com/ci/yaml/#rules). `when` is `always` for the gateway deploys, which run
 * whatever became of the model deploys, and `manual` for an environment with `gate: manual`.
 */
export function deployRules(ci: CiSettings, when?: 'always' | 'manual'): CiObject[] {
  return [
    { if: `$${PARENT_SOURCE_VARIABLE} == "merge_request_event"`, when: 'never' },
    { if: ci.deploy.branches.map(branchCondition).join(' || '), ...(when ? { when } : {}) },
  ];
}
