import { dump } from 'js-yaml';
import { UserError } from '../../lib/errors/user-error.js';
import { DEFAULT_CI_IMAGE, MAX_CHILD_YAML_BYTES, MAX_NEEDS, RETRY_ON_INFRASTRUCTURE } from './gitlab-limits.js';
import { shellCommand } from './shell-quote.js';

/** A GitLab CI job or pipeline as plain data; js-yaml turns it into text. */
export type CiObject = Record<string, unknown>;

export interface PipelineOptions {
  /** models.yaml as the jobs name it (relative to the repository root). */
  readonly fleetFile: string;
  /** The output folder as the jobs name it, `build` by default. */
  readonly outDir: string;
  readonly maxJobs: number;
  /** What the dispatcher passes to `generate` to recreate the part files: `['--all']` or `['--since', sha]`. */
  readonly regenerateArgs: readonly string[];
}

export interface PipelineRequest {
  /** Deploy names that get build → test → deploy jobs, in models.yaml order. */
  readonly deployNames: readonly string[];
  /** Deploy names that left models.yaml: each gets a `<name>:remove` job. */
  readonly removed: readonly string[];
  readonly gatewayChanged: boolean;
  /** One line for the job log of the no-op pipeline. */
  readonly summary: string;
}

export interface ChildPipelineFile {
  /** File name inside the output folder: `child-pipeline.yml`, `child-pipeline-<n>.yml`. */
  readonly file: string;
  readonly pipeline: CiObject;
  readonly yaml: string;
}

export const CHILD_PIPELINE_FILE = 'child-pipeline.yml';
export const NOOP_JOB = 'nothing-changed';
export const GATEWAY_BUILD_JOB = 'gateway:build';
export const GATEWAY_DEPLOY_JOB = 'gateway:deploy';
export const GENERATE_PARTS_JOB = 'generate-parts';
const JOBS_PER_DEPLOYABLE = 3;
const CLI = ['node', 'bin/modelfleet.js'];

/** Stable YAML: insertion order is decided by the builder, no anchors, no folding. */
export function dumpPipeline(pipeline: CiObject): string {
  return dump(pipeline, { noRefs: true, lineWidth: -1, quoteStyle: 'double' });
}

/**
 * Builds the child pipeline(s) as data. One file when the jobs fit `maxJobs`; otherwise
 * `child-pipeline.yml` becomes a dispatcher that regenerates the part files from the commit
 * and triggers each part as its own child pipeline (see docs/generator.md, "Large fleets").
 */
export function buildChildPipelines(request: PipelineRequest, options: PipelineOptions): ChildPipelineFile[] {
  const { deployNames, removed, gatewayChanged } = request;
  if (deployNames.length === 0 && removed.length === 0 && !gatewayChanged) {
    return [toFile(CHILD_PIPELINE_FILE, noopPipeline(request.summary))];
  }
  const total = deployNames.length * JOBS_PER_DEPLOYABLE + removed.length + 2;
  if (total <= options.maxJobs) {
    return [toFile(CHILD_PIPELINE_FILE, modelPipeline(deployNames, { removed, gateway: true }, options))];
  }
  return splitPipelines(request, options);
}

function splitPipelines(request: PipelineRequest, options: PipelineOptions): ChildPipelineFile[] {
  let perPart = Math.floor(options.maxJobs / JOBS_PER_DEPLOYABLE);
  for (;;) {
    const parts: string[][] = [];
    for (let i = 0; i < request.deployNames.length; i += perPart) parts.push(request.deployNames.slice(i, i + perPart));
    const dispatcherJobs = 1 + parts.length + 2 + request.removed.length;
    if (dispatcherJobs > options.maxJobs) {
      throw new UserError(
        'FLEET_INVALID',
        `the fleet needs ${parts.length} child pipelines plus ${request.removed.length} removals, more than --max-jobs ${options.maxJobs} allows in the dispatcher`,
        'raise --max-jobs (GitLab.com Free allows 500 jobs per pipeline), or remove fewer models per push',
      );
    }
    const files = parts.map((names, i) => toFile(partFile(i + 1), modelPipeline(names, { removed: [], gateway: false }, options)));
    if (files.every((f) => Buffer.byteLength(f.yaml) <= MAX_CHILD_YAML_BYTES) || perPart === 1) {
      return [toFile(CHILD_PIPELINE_FILE, dispatcherPipeline(parts.length, request.removed, options)), ...files];
    }
    perPart = Math.max(1, Math.floor(perPart / 2));
  }
}

export function partFile(n: number): string {
  return `child-pipeline-${n}.yml`;
}

function toFile(file: string, pipeline: CiObject): ChildPipelineFile {
  return { file, pipeline, yaml: dumpPipeline(pipeline) };
}

/** Variables and defaults every generated pipeline starts with. */
function header(stages: readonly string[]): CiObject {
  return {
    stages,
    variables: {
      // Pipeline variables forwarded by the parent's trigger job win over these defaults.
      MODELFLEET_ENV: 'production',
      MODELFLEET_CI_IMAGE: DEFAULT_CI_IMAGE,
    },
    default: {
      image: '$MODELFLEET_CI_IMAGE',
      // A newer pipeline may cancel build and test jobs; deploy jobs opt out below.
      interruptible: true,
      retry: { max: RETRY_ON_INFRASTRUCTURE.max, when: [...RETRY_ON_INFRASTRUCTURE.when] },
      before_script: [
        // A plain checkout: install and build the CLI once (skipped when a cache or the runner already did).
        'test -d node_modules || npm ci --no-audit --no-fund',
        'test -f dist/cli/entry.js || npm run build',
      ],
    },
  };
}

function noopPipeline(summary: string): CiObject {
  // GitLab refuses a pipeline without jobs, so "nothing to do" is one quick job that says so.
  return {
    stages: ['build'],
    [NOOP_JOB]: {
      stage: 'build',
      image: DEFAULT_CI_IMAGE,
      script: [`echo ${shellCommand([`modelfleet: no model changed (${summary}); nothing to build or deploy.`])}`],
    },
  };
}

function environmentName(deployName: string): string {
  return `$MODELFLEET_ENV/${deployName}`;
}

/** One deploy at a time per model and environment (https://docs.gitlab.com/ci/resource_groups/). */
function resourceGroup(deployName: string): string {
  return `modelfleet-$MODELFLEET_ENV-${deployName}`;
}

/** `--file` / `--out` for the other commands only when they differ from the defaults (models.yaml, build). */
function fleetArgs(options: PipelineOptions): string[] {
  return [...(options.fleetFile === 'models.yaml' ? [] : ['--file', options.fleetFile]), ...(options.outDir === 'build' ? [] : ['--out', options.outDir])];
}

function regenerate(deployName: string, options: PipelineOptions): string {
  // Rebuild this model's folder from the commit itself, so a retried job never depends on
  // artifacts of the parent pipeline, which expire.
  return shellCommand([...CLI, 'generate', '--file', options.fleetFile, '--out', options.outDir, '--model', deployName]);
}

function modelJobs(deployName: string, options: PipelineOptions): [string, CiObject][] {
  const folder = `${options.outDir}/models/${deployName}/`;
  return [
    [
      `${deployName}:build`,
      {
        stage: 'build',
        needs: [],
        script: [regenerate(deployName, options), shellCommand([...CLI, 'build', '--model', deployName, ...fleetArgs(options)])],
        artifacts: { paths: [folder], expire_in: '1 week' },
      },
    ],
    [
      `${deployName}:test`,
      {
        stage: 'test',
        needs: [{ job: `${deployName}:build`, artifacts: true }],
        script: [regenerate(deployName, options), shellCommand([...CLI, 'loadtest', '--model', deployName, ...fleetArgs(options)])],
        artifacts: {
          when: 'always',
          paths: [folder],
          reports: { junit: `${folder}report/junit.xml` },
          expire_in: '30 days',
        },
      },
    ],
    [
      `${deployName}:deploy`,
      {
        stage: 'deploy',
        needs: [{ job: `${deployName}:test`, artifacts: true }],
        script: [regenerate(deployName, options), shellCommand([...CLI, 'deploy', '--model', deployName, ...fleetArgs(options)])],
        environment: { name: environmentName(deployName), action: 'start' },
        resource_group: resourceGroup(deployName),
        interruptible: false,
        artifacts: { when: 'always', paths: [folder], expire_in: '30 days' },
      },
    ],
  ];
}

/** `needs` when they fit GitLab's limit, else plain stage order (a later stage waits for all earlier ones). */
function needsOrStageOrder(jobs: readonly string[]): CiObject {
  return jobs.length <= MAX_NEEDS ? { needs: [...jobs] } : {};
}

function gatewayJobs(upstreamJobs: readonly string[], options: PipelineOptions): [string, CiObject][] {
  return [
    [
      GATEWAY_BUILD_JOB,
      {
        stage: 'build',
        needs: [],
        script: [shellCommand([...CLI, 'build', '--gateway', ...fleetArgs(options)])],
        artifacts: { paths: [`${options.outDir}/gateway/`], expire_in: '1 week' },
      },
    ],
    [
      GATEWAY_DEPLOY_JOB,
      {
        stage: 'gateway',
        ...needsOrStageOrder([GATEWAY_BUILD_JOB, ...upstreamJobs]),
        script: [shellCommand([...CLI, 'deploy', '--gateway', ...fleetArgs(options)])],
        environment: { name: environmentName('gateway'), action: 'start' },
        resource_group: resourceGroup('gateway'),
        interruptible: false,
      },
    ],
  ];
}

function removalJobs(removed: readonly string[], afterGateway: boolean, options: PipelineOptions): [string, CiObject][] {
  // Remove a deployment only after the gateway stopped routing to it.
  return removed.map((name) => [
    `${name}:remove`,
    {
      stage: 'cleanup',
      ...(afterGateway ? { needs: [GATEWAY_DEPLOY_JOB] } : {}),
      script: [shellCommand([...CLI, 'deploy', '--remove', name, ...fleetArgs(options)])],
      environment: { name: environmentName(name), action: 'stop' },
      resource_group: resourceGroup(name),
      interruptible: false,
    },
  ]);
}

function modelPipeline(
  deployNames: readonly string[],
  extra: { removed: readonly string[]; gateway: boolean },
  options: PipelineOptions,
): CiObject {
  const stages = ['build', 'test', 'deploy'];
  if (extra.gateway) stages.push('gateway');
  if (extra.removed.length > 0) stages.push('cleanup');
  const pipeline: CiObject = header(deployNames.length === 0 ? stages.filter((s) => s !== 'test' && s !== 'deploy') : stages);
  for (const name of deployNames) for (const [job, body] of modelJobs(name, options)) pipeline[job] = body;
  if (extra.gateway) {
    for (const [job, body] of gatewayJobs(deployNames.map((n) => `${n}:deploy`), options)) pipeline[job] = body;
  }
  for (const [job, body] of removalJobs(extra.removed, extra.gateway, options)) pipeline[job] = body;
  return pipeline;
}

function partTriggerJob(n: number, count: number): string {
  return `models-${n}-of-${count}`;
}

function dispatcherPipeline(parts: number, removed: readonly string[], options: PipelineOptions): CiObject {
  const stages = ['build', 'models', 'gateway', ...(removed.length > 0 ? ['cleanup'] : [])];
  const pipeline: CiObject = header(stages);
  const partPaths = Array.from({ length: parts }, (_, i) => `${options.outDir}/${partFile(i + 1)}`);
  pipeline[GENERATE_PARTS_JOB] = {
    stage: 'build',
    needs: [],
    // The part files are a pure function of the commit and these arguments, so they are
    // recreated here instead of being passed down from the parent pipeline.
    script: [
      shellCommand([...CLI, 'generate', '--file', options.fleetFile, '--out', options.outDir, '--max-jobs', String(options.maxJobs), ...options.regenerateArgs]),
    ],
    artifacts: { paths: partPaths, expire_in: '1 week' },
  };
  const triggers: string[] = [];
  for (let n = 1; n <= parts; n++) {
    const job = partTriggerJob(n, parts);
    triggers.push(job);
    pipeline[job] = {
      stage: 'models',
      needs: [GENERATE_PARTS_JOB],
      // pipeline_variables: a MODELFLEET_ENV given when the parent pipeline was started reaches every part.
      trigger: { include: [{ artifact: partPaths[n - 1], job: GENERATE_PARTS_JOB }], strategy: 'depend', forward: { pipeline_variables: true } },
    };
  }
  for (const [job, body] of gatewayJobs(triggers, options)) pipeline[job] = body;
  for (const [job, body] of removalJobs(removed, true, options)) pipeline[job] = body;
  return pipeline;
}
