/**
 * What every successful model deploy leaves behind, kept with the deployment itself (the local
 * target's state, or a ConfigMap beside the model in its namespace): which image and registry
 * version it deployed, under which limits, from which commit and CI job. `modelfleet status`
 * and `modelfleet history` read these records.
 */
export interface DeploymentRecord {
  /** 1 for a model's first deploy in an environment, then one more per deploy. */
  readonly revision: number;
  readonly deployName: string;
  readonly environment: string;
  /** ISO time the deploy finished. */
  readonly deployedAt: string;
  /** The image reference deployed (what the cluster pulls, or the local tag). */
  readonly image: string;
  /** The image's content digest: equal digests, equal images. */
  readonly content: string;
  /** The MLflow registry version it serves; the model folder's own version otherwise. */
  readonly version?: string;
  readonly memoryLimitBytes?: number;
  readonly memoryRequestBytes?: number;
  readonly cpuRequest?: string;
  readonly minReplicas?: number;
  readonly maxReplicas?: number;
  /** `deployed`: something changed; `unchanged`: the same manifests were already running. */
  readonly outcome: 'deployed' | 'unchanged';
  /** The deploy-inputs mark its Deployment carried (Kubernetes; deployed-config.ts), restored with it by a rollback. */
  readonly deployedConfig?: string;
  /** How it got there when not by its own deploy job: `promoted from staging revision 4`, `rolled back to revision 2`. */
  readonly via?: string;
  /** From GitLab's predefined variables when the deploy ran in a job. */
  readonly commit?: string;
  readonly jobUrl?: string;
  readonly pipelineUrl?: string;
  readonly user?: string;
}

/** How many records a model keeps per environment; older ones are dropped. */
export const KEPT_RECORDS = 30;

export type RecordFields = Omit<DeploymentRecord, 'revision' | 'deployedAt' | 'commit' | 'jobUrl' | 'pipelineUrl' | 'user'>;

/** The next record after `earlier` (oldest first), with the CI job's provenance from `env`. */
export function nextRecord(earlier: readonly DeploymentRecord[], fields: RecordFields, env: NodeJS.ProcessEnv, now: Date = new Date()): DeploymentRecord {
  const revision = (earlier.at(-1)?.revision ?? 0) + 1;
  return {
    revision,
    ...fields,
    deployedAt: now.toISOString(),
    ...(env.CI_COMMIT_SHA ? { commit: env.CI_COMMIT_SHA } : {}),
    ...(env.CI_JOB_URL ? { jobUrl: env.CI_JOB_URL } : {}),
    ...(env.CI_PIPELINE_URL ? { pipelineUrl: env.CI_PIPELINE_URL } : {}),
    ...(env.GITLAB_USER_LOGIN ? { user: env.GITLAB_USER_LOGIN } : {}),
  };
}

/** `earlier` with `record` appended, keeping the newest KEPT_RECORDS. */
export function appendRecord(earlier: readonly DeploymentRecord[], record: DeploymentRecord): DeploymentRecord[] {
  return [...earlier, record].slice(-KEPT_RECORDS);
}

/** Records read back from storage: anything that is not a record list gives none, never an exception. */
export function parseRecords(text: string | undefined): DeploymentRecord[] {
  if (text === undefined) return [];
  try {
    const parsed = JSON.parse(text) as unknown;
    return Array.isArray(parsed) ? parsed.filter(isRecord) : [];
  } catch {
    return [];
  }
}

function isRecord(value: unknown): value is DeploymentRecord {
  const r = value as Partial<DeploymentRecord> | null;
  return r !== null && typeof r === 'object' && typeof r.revision === 'number' && typeof r.deployName === 'string' && typeof r.image === 'string' && typeof r.deployedAt === 'string';
}
