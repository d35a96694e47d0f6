/**
 * GitLab limits the generated pipelines respect.
 *
 * - `needs`: at most 50 jobs per job (https://docs.gitlab.com/ci/yaml/#needs, `ci_max_needs`).
 * - Jobs per pipeline: GitLab.com Free caps active jobs at 500
 *   (https://docs.gitlab.com/user/gitlab_com/#cicd); `--max-jobs` makes it configurable.
 * - YAML size: `max_yaml_size_bytes` (2 MB by default) counts the parsed, in-memory size, which
 *   is several times the text size (https://docs.gitlab.com/administration/instance_limits/#maximum-size-and-depth-of-cicd-configuration-yaml-files),
 *   so each generated file stays under 1 MB of text.
 * - Child pipelines nest at most two levels deep (https://docs.gitlab.com/ci/pipelines/downstream_pipelines/#nested-child-pipelines):
 *   parent → child (dispatcher) → grandchild (one part of the fleet) is the deepest layout used.
 */
export const MAX_NEEDS = 50;
/**
 * A merge request links at most 10 exposed artifacts (`artifacts:expose_as`), the first 10 jobs
 * GitLab finds (https://docs.gitlab.com/ci/yaml/#artifactsexpose_as).
 */
export const MAX_EXPOSED_ARTIFACTS = 10;
export const DEFAULT_MAX_JOBS = 500;
export const MIN_MAX_JOBS = 10;
export const MAX_CHILD_YAML_BYTES = 1_000_000;

/**
 * Retry only what is not the job's fault (https://docs.gitlab.com/ci/yaml/#retrywhen): a failed
 * load test or a rejected deploy must not silently run again.
 */
export const RETRY_ON_INFRASTRUCTURE = {
  max: 2,
  when: ['runner_system_failure', 'stuck_or_timeout_failure', 'scheduler_failure', 'api_failure'],
} as const;
