/**
 * GitLab's rule for jobs whose artifact dependencies are gone, as a pure function over a
 * pipeline object (a parsed .gitlab-ci.yml or generated child pipeline). gitlab-ci-local does
 * not apply it, so tests do before they run a job on its own.
 *
 * A job downloads, and therefore depends on, the artifacts of
 *   1. the jobs in its `dependencies:` list, when it has one (`dependencies: []`: none);
 *   2. else its `needs:` entries, except those with `artifacts: false` (a plain string entry
 *      means `artifacts: true`; `needs: []`: none);
 *   3. else every job of the earlier stages.
 * (https://docs.gitlab.com/ci/yaml/#dependencies, https://docs.gitlab.com/ci/yaml/#needsartifacts)
 * When any of those jobs' artifacts expired or were erased, GitLab does not start the job: it
 * fails with "This job depends on other jobs with expired/erased artifacts"
 * (failure reason `missing_dependency_failure`; gitlab-org/gitlab#18134, #293554).
 *
 * Only jobs that declare `artifacts:` (or inherit them from `default:`) count: a job without
 * any has nothing to expire. Needs on another pipeline (`needs: [{pipeline: ..., job: ...}]`,
 * `needs: [{project: ..., job: ...}]`) download that pipeline's artifacts, which this file
 * cannot see, so they always count, named `<pipeline or project>/<job>`. `extends:`, `!reference`
 * and `include:` are not resolved: pass the pipeline as GitLab would see it after merging.
 */

export type PipelineObject = Readonly<Record<string, unknown>>;

/** Top-level keys that are not jobs (https://docs.gitlab.com/ci/yaml/#global-keywords, plus the deprecated globals). */
const GLOBAL_KEYWORDS = new Set(['default', 'include', 'stages', 'variables', 'workflow', 'spec', 'image', 'services', 'cache', 'before_script', 'after_script', 'types', 'pages:deploy']);

/** GitLab's stages when a pipeline declares none; `.pre` and `.post` always exist. */
const DEFAULT_STAGES = ['build', 'test', 'deploy'];

/** The message GitLab shows on a job it refused to start for this reason. */
export const EXPIRED_ARTIFACTS_MESSAGE = 'This job depends on other jobs with expired/erased artifacts';

export class ExpiredArtifactsError extends Error {
  constructor(
    readonly job: string,
    /** The jobs whose artifacts `job` would need. */
    readonly dependencies: readonly string[],
  ) {
    super(`${job}: ${EXPIRED_ARTIFACTS_MESSAGE}: ${dependencies.join(', ')}`);
    this.name = 'ExpiredArtifactsError';
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Job names in the order the file lists them (hidden `.jobs` and global keywords left out). */
export function jobNamesOf(pipeline: PipelineObject): string[] {
  return Object.keys(pipeline).filter((key) => !GLOBAL_KEYWORDS.has(key) && !key.startsWith('.') && isObject(pipeline[key]));
}

function jobOf(pipeline: PipelineObject, jobName: string): Record<string, unknown> {
  const job = pipeline[jobName];
  if (GLOBAL_KEYWORDS.has(jobName) || jobName.startsWith('.') || !isObject(job)) throw new Error(`the pipeline has no job named ${JSON.stringify(jobName)}`);
  return job;
}

/** Stages in pipeline order, `.pre` first and `.post` last. */
export function stagesOf(pipeline: PipelineObject): string[] {
  const declared = Array.isArray(pipeline.stages) ? pipeline.stages.filter((s): s is string => typeof s === 'string') : DEFAULT_STAGES;
  return ['.pre', ...declared.filter((s) => s !== '.pre' && s !== '.post'), '.post'];
}

function stageIndex(pipeline: PipelineObject, jobName: string): number {
  const stage = jobOf(pipeline, jobName).stage;
  const name = typeof stage === 'string' ? stage : 'test';
  const index = stagesOf(pipeline).indexOf(name);
  if (index < 0) throw new Error(`job ${jobName} is in stage ${JSON.stringify(name)}, which the pipeline does not declare`);
  return index;
}

/** Whether the job keeps artifacts another job could download: its own `artifacts:`, or `default:`'s unless it opts out. */
export function declaresArtifacts(pipeline: PipelineObject, jobName: string): boolean {
  const job = jobOf(pipeline, jobName);
  if (job.artifacts !== undefined && job.artifacts !== null) return true;
  const inherit = isObject(job.inherit) ? job.inherit.default : undefined;
  const inheritsArtifacts = inherit === undefined || inherit === true || (Array.isArray(inherit) && inherit.includes('artifacts'));
  return inheritsArtifacts && isObject(pipeline.default) && pipeline.default.artifacts !== undefined && pipeline.default.artifacts !== null;
}

/** The jobs (of this pipeline, or `<pipeline>/<job>` of another) whose artifacts `jobName` would download. */
export function artifactDependenciesOf(pipeline: PipelineObject, jobName: string): string[] {
  const job = jobOf(pipeline, jobName);
  const withArtifacts = (name: string): boolean => isObject(pipeline[name]) && declaresArtifacts(pipeline, name);

  if (Array.isArray(job.dependencies)) {
    return job.dependencies.filter((d): d is string => typeof d === 'string').filter(withArtifacts);
  }
  if (Array.isArray(job.needs)) {
    const out: string[] = [];
    for (const entry of job.needs as unknown[]) {
      if (typeof entry === 'string') {
        if (withArtifacts(entry)) out.push(entry);
        continue;
      }
      if (!isObject(entry) || typeof entry.job !== 'string' || entry.artifacts === false) continue;
      const elsewhere = entry.pipeline ?? entry.project;
      if (elsewhere !== undefined) out.push(`${String(elsewhere)}/${entry.job}`);
      else if (withArtifacts(entry.job)) out.push(entry.job);
    }
    return out;
  }
  const own = stageIndex(pipeline, jobName);
  return jobNamesOf(pipeline).filter((other) => other !== jobName && stageIndex(pipeline, other) < own && declaresArtifacts(pipeline, other));
}

/**
 * Throws what GitLab reports when `jobName` is started after every artifact expired (a retry
 * days later, an environment's rollback), if the job would need any; returns otherwise.
 */
export function refuseIfArtifactsExpired(pipeline: PipelineObject, jobName: string): void {
  const dependencies = artifactDependenciesOf(pipeline, jobName);
  if (dependencies.length > 0) throw new ExpiredArtifactsError(jobName, dependencies);
}
