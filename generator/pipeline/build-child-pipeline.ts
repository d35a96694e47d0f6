import { dump } from 'js-yaml';
import { UserError } from '../../lib/errors/user-error.js';
import type { CiSettings, EnvironmentSpec } from '../fleet/types.js';
import type { CiObject } from './ci-object.js';
import { DEPLOY_TARGET_VARIABLE, deployRules, deployTargetFlag } from './deploy-rules.js';
import { defaultCiImage } from '../../lib/ci-image.js';
import { MAX_CHILD_YAML_BYTES, MAX_EXPOSED_ARTIFACTS, MAX_NEEDS, RETRY_ON_INFRASTRUCTURE } from './gitlab-limits.js';
import { namesDefaultImageVariable, runnerDefaults, runnerKeys, usesDefaultImageVariable } from './runner-settings.js';
import { shellCommand, shellVariable, type ShellWord } from './shell-quote.js';
import { PINNED_VERSIONS_VARIABLE, formatPinnedVersions, type AliasPin } from '../../pipeline/mlflow-registry/pinned-aliases.js';
import type { DeployableAliasPins } from '../plan/alias-uses.js';
import type { DeployableImagePins } from '../plan/image-pins.js';
import { PINNED_IMAGES_VARIABLE, formatPinnedImages, type ImagePin } from '../../pipeline/build/pinned-images.js';

export type { CiObject } from './ci-object.js';

export interface PipelineOptions {
  /** models.yaml as the jobs name it (relative to the repository root). */
  readonly fleetFile: string;
  /** The output folder as the jobs name it, `build` by default. */
  readonly outDir: string;
  readonly maxJobs: number;
  /** What the dispatcher passes to `generate` to recreate the part files: `['--all']` or `['--since', sha]`. */
  readonly regenerateArgs: readonly string[];
  /** models.yaml's `ci:` block: runners, images, services, variables, deploy target and branch rules. */
  readonly ci: CiSettings;
  /** models.yaml's `environments:` in promotion order: each gets its own deploy, gateway and removal jobs. */
  readonly environments: readonly EnvironmentSpec[];
}

export interface PipelineRequest {
  /** Deploy names that get build → test → deploy jobs, in models.yaml order. */
  readonly deployNames: readonly string[];
  /** Deploy names that left models.yaml: each gets a `<name>:remove` job. */
  readonly removed: readonly string[];
  readonly gatewayChanged: boolean;
  /** One line for the job log of the no-op pipeline. */
  readonly summary: string;
  /**
   * Per deploy name, environments that pin another registry version of it (one per distinct
   * pin): its build and test jobs build and measure those versions too, so their deploys find
   * image and sizing in the registry.
   */
  readonly pinnedEnvironments?: ReadonlyMap<string, readonly string[]>;
  /** Per deploy name whose jobs read MLflow aliases, the versions `generate` resolved for them. */
  readonly aliasPins?: ReadonlyMap<string, DeployableAliasPins>;
  /** Per deploy name, the image contents `generate` pinned for its jobs. */
  readonly imagePins?: ReadonlyMap<string, DeployableImagePins>;
}

/** What `generate` pinned, per deploy name: environments with their own registry version, alias versions, image contents. */
interface Pins {
  readonly pinned: ReadonlyMap<string, readonly string[]> | undefined;
  readonly aliasPins: ReadonlyMap<string, DeployableAliasPins> | undefined;
  readonly imagePins: ReadonlyMap<string, DeployableImagePins> | undefined;
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
export const GENERATE_PARTS_JOB = 'generate-parts';
/** The jobs call the CLI by name: the CI image has it on PATH (see `cliFallback`). */
const CLI = ['modelfleet'];

/**
 * For an image without the CLI (`ci.image: node:20` with modelfleet in the repository's
 * devDependencies): install the repository's dependencies and run the CLI through npx. In the
 * CI image the first test succeeds and nothing is installed.
 */
export const CLI_FALLBACK = 'command -v modelfleet >/dev/null 2>&1 || { npm ci --no-audit --no-fund && modelfleet() { npx --no-install modelfleet "$@"; }; }';

/** `<model>:deploy:<env>`: one deploy job per deployable and environment. */
export function deployJob(deployName: string, environment: string): string {
  return `${deployName}:deploy:${environment}`;
}

/** `gateway:deploy:<env>`: the gateway of one environment, after that environment's model deploys. */
export function gatewayDeployJob(environment: string): string {
  return `gateway:deploy:${environment}`;
}

/** `<model>:remove:<env>`: a deployable that left models.yaml, removed from one environment. */
export function removeJob(deployName: string, environment: string): string {
  return `${deployName}:remove:${environment}`;
}

/** `<model>:canary:<env>`: whether the previous environment's traffic lets `deployName` into `environment` (its `gate: canary`). */
export function canaryJob(deployName: string, environment: string): string {
  return `${deployName}:canary:${environment}`;
}

/** Build and test, then one deploy per environment and one canary check per canary gate. */
function jobsPerDeployable(options: PipelineOptions): number {
  return 2 + options.environments.length + options.environments.filter((env) => env.gate === 'canary').length;
}

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
    return [toFile(CHILD_PIPELINE_FILE, noopPipeline(request.summary, options.ci))];
  }
  const envs = options.environments.length;
  const total = deployNames.length * jobsPerDeployable(options) + removed.length * envs + 1 + envs;
  if (total <= options.maxJobs) {
    return [toFile(CHILD_PIPELINE_FILE, modelPipeline(deployNames, { removed, gateway: true, ...pinsOf(request) }, options))];
  }
  return splitPipelines(request, options);
}

function pinsOf(request: PipelineRequest): Pins {
  return { pinned: request.pinnedEnvironments, aliasPins: request.aliasPins, imagePins: request.imagePins };
}

function splitPipelines(request: PipelineRequest, options: PipelineOptions): ChildPipelineFile[] {
  let perPart = Math.max(1, Math.floor(options.maxJobs / jobsPerDeployable(options)));
  for (;;) {
    const parts: string[][] = [];
    for (let i = 0; i < request.deployNames.length; i += perPart) parts.push(request.deployNames.slice(i, i + perPart));
    const envs = options.environments.length;
    const dispatcherJobs = 1 + parts.length + 1 + envs + request.removed.length * envs;
    if (dispatcherJobs > options.maxJobs) {
      throw new UserError(
        'FLEET_INVALID',
        `the fleet needs ${parts.length} child pipelines plus ${request.removed.length} removals in ${envs} environment(s), more than --max-jobs ${options.maxJobs} allows in the dispatcher`,
        'raise --max-jobs (GitLab.com Free allows 500 jobs per pipeline), or remove fewer models per push',
      );
    }
    const files = parts.map((names, i) => toFile(partFile(i + 1), modelPipeline(names, { removed: [], gateway: false, ...pinsOf(request) }, options)));
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
function header(stages: readonly string[], ci: CiSettings): CiObject {
  return {
    stages,
    variables: {
      // Pipeline variables forwarded by the parent's trigger job win over these defaults.
      ...(usesDefaultImageVariable(ci) ? { MODELFLEET_CI_IMAGE: defaultCiImage() } : {}),
      // `modelfleet deploy --target`: from ci.deployTarget; a pipeline run may set kube, local or auto.
      [DEPLOY_TARGET_VARIABLE]: deployTargetFlag(ci),
    },
    default: {
      // The top-level `ci:` settings; job kinds with their own (ci.jobs.<kind>) replace them per job.
      ...runnerDefaults(ci.runner),
      // A newer pipeline may cancel build and test jobs; deploy jobs opt out below.
      interruptible: true,
      retry: { max: RETRY_ON_INFRASTRUCTURE.max, when: [...RETRY_ON_INFRASTRUCTURE.when] },
      before_script: [CLI_FALLBACK],
    },
  };
}

function noopPipeline(summary: string, ci: CiSettings): CiObject {
  // GitLab refuses a pipeline without jobs, so "nothing to do" is one quick job that says so.
  // It runs where build jobs run (tags, image), without their services: it only echoes.
  const build = ci.jobs.build;
  return {
    stages: ['build'],
    ...(namesDefaultImageVariable(build.image) ? { variables: { MODELFLEET_CI_IMAGE: defaultCiImage() } } : {}),
    [NOOP_JOB]: {
      stage: 'build',
      image: build.image,
      ...(build.tags.length > 0 ? { tags: [...build.tags] } : {}),
      dependencies: [],
      script: [`echo ${shellCommand([`modelfleet: no model changed (${summary}); nothing to build or deploy.`])}`],
    },
  };
}

/**
 * `needs` that wait for a job without downloading its artifacts. GitLab refuses to start a
 * job whose `needs` ask for artifacts that expired or were erased, and a plain `needs: [job]`
 * asks for them (https://docs.gitlab.com/ci/yaml/#needsartifacts); nothing crosses jobs
 * through artifacts here (docs/generator.md, "No job needs another job's artifacts").
 * `optional` for jobs the branch rules may leave out of the pipeline
 * (https://docs.gitlab.com/ci/yaml/#needsoptional).
 */
function need(job: string, optional = false): CiObject {
  return { job, artifacts: false, ...(optional ? { optional: true } : {}) };
}

/**
 * A job without `needs` downloads the artifacts of every job of the earlier stages unless it
 * says `dependencies: []` (https://docs.gitlab.com/ci/yaml/#dependencies).
 */
function noDependencies(): CiObject {
  return { dependencies: [] };
}

/** `--target "$MODELFLEET_DEPLOY_TARGET"`: every deploy names its target; none falls back to guessing. */
const TARGET_ARGS: readonly ShellWord[] = ['--target', shellVariable(DEPLOY_TARGET_VARIABLE)];

/**
 * Which environment a job changes. The command line names it (`--env`): variables the parent's
 * trigger job forwards (its own MODELFLEET_ENV among them) would win over job variables
 * (https://docs.gitlab.com/ci/variables/#cicd-variable-precedence); the job variable is for
 * scripts and people reading the job.
 */
function environmentArgs(env: EnvironmentSpec): ShellWord[] {
  return ['--env', env.name];
}

/**
 * GitLab's `environment:` of a job that deploys `deployName` (a model or `gateway`) to `env`:
 * `<env>/<name>` groups a fleet's environments by tier in GitLab's Environments page
 * (https://docs.gitlab.com/ci/yaml/#environment).
 */
function environmentKeyword(env: EnvironmentSpec, deployName: string, action: 'start' | 'stop'): CiObject {
  return {
    name: `${env.name}/${deployName}`,
    deployment_tier: env.tier,
    ...(env.url !== undefined ? { url: env.url } : {}),
    ...(env.autoStopIn !== undefined && action === 'start' ? { auto_stop_in: env.autoStopIn } : {}),
    action,
  };
}

/** One deploy at a time per model and environment (https://docs.gitlab.com/ci/resource_groups/). */
function resourceGroup(env: EnvironmentSpec, deployName: string): string {
  return `modelfleet-${env.name}-${deployName}`;
}

/**
 * What every job that changes an environment carries, in two parts around its script: `head`
 * (the deploy runner settings, the environment's variable, the rules with its gate) and `tail`
 * (GitLab environment, lock, not interruptible).
 */
function environmentJob(env: EnvironmentSpec, deployName: string, options: PipelineOptions, rules: { when?: 'always'; gated: boolean }, action: 'start' | 'stop' = 'start'): { head: CiObject; tail: CiObject } {
  const manual = rules.gated && env.gate === 'manual';
  const runner = runnerKeys(options.ci, 'deploy');
  return {
    head: {
      ...runner,
      variables: { ...(runner.variables as Record<string, string> | undefined), MODELFLEET_ENV: env.name },
      // A manual gate is GitLab's blocking manual job: the pipeline waits for someone to start it
      // (https://docs.gitlab.com/ci/jobs/job_control/#types-of-manual-jobs).
      rules: deployRules(options.ci, manual ? 'manual' : rules.when),
    },
    tail: {
      ...(manual ? { allow_failure: false } : {}),
      environment: environmentKeyword(env, deployName, action),
      resource_group: resourceGroup(env, deployName),
      interruptible: false,
    },
  };
}

function canaryStage(env: EnvironmentSpec): string {
  return `canary-${env.name}`;
}

function deployStage(env: EnvironmentSpec): string {
  return `deploy-${env.name}`;
}

function gatewayStage(env: EnvironmentSpec): string {
  return `gateway-${env.name}`;
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

/** A path GitLab can link in a merge request: `expose_as` takes no globs and no variables. */
const EXPOSABLE_PATH = /^[A-Za-z0-9_./@+-]+$/;

/**
 * A job's keys with MODELFLEET_MLFLOW_VERSIONS among its variables when it reads MLflow aliases:
 * the versions `generate` resolved, which the job (and any re-run of it) serves instead of
 * asking where the alias points now. Shown on the job in GitLab's UI.
 */
function withAliasPins(keys: CiObject, pins: readonly AliasPin[] | undefined): CiObject {
  if (!pins || pins.length === 0) return keys;
  return withVariable(keys, PINNED_VERSIONS_VARIABLE, formatPinnedVersions(pins));
}

/**
 * A job's keys with MODELFLEET_IMAGE_CONTENT among its variables: the content of each image it
 * builds, measures or deploys, computed by `generate`. A deploy (and any re-run of it) deploys
 * that image from the registry and builds nothing; a build refuses to give other content.
 */
function withImagePins(keys: CiObject, pins: readonly ImagePin[] | undefined): CiObject {
  if (!pins || pins.length === 0) return keys;
  return withVariable(keys, PINNED_IMAGES_VARIABLE, formatPinnedImages(pins));
}

function withVariable(keys: CiObject, name: string, value: string): CiObject {
  return { ...keys, variables: { ...(keys.variables as Record<string, string> | undefined), [name]: value } };
}

function modelJobs(deployName: string, options: PipelineOptions, exposeReport: boolean, pins: Pins): [string, CiObject][] {
  const pinned = pins.pinned?.get(deployName) ?? [];
  const aliasPins = pins.aliasPins?.get(deployName);
  const imagePins = pins.imagePins?.get(deployName);
  const folder = `${options.outDir}/models/${deployName}/`;
  // Pinned versions first: the model's own version runs last, so its report and sizing are the job's artifacts.
  const forPins = (command: string) => pinned.map((env) => shellCommand([...CLI, command, '--model', deployName, '--env', env, ...fleetArgs(options)]));
  return [
    [
      `${deployName}:build`,
      {
        stage: 'build',
        needs: [],
        ...withImagePins(withAliasPins(runnerKeys(options.ci, 'build'), aliasPins?.buildAndTest), imagePins?.buildAndTest),
        // The image goes to the registry under its content tag; nothing here is kept for later jobs.
        script: [regenerate(deployName, options), ...forPins('build'), shellCommand([...CLI, 'build', '--model', deployName, ...fleetArgs(options)])],
      },
    ],
    [
      `${deployName}:test`,
      {
        stage: 'test',
        needs: [need(`${deployName}:build`)],
        ...withImagePins(withAliasPins(runnerKeys(options.ci, 'test'), aliasPins?.buildAndTest), imagePins?.buildAndTest),
        script: [regenerate(deployName, options), ...forPins('loadtest'), shellCommand([...CLI, 'loadtest', '--model', deployName, ...fleetArgs(options)])],
        // For people: the report folder (report.html, report.json, junit.xml; linked from the
        // merge request while few models change), the measured sizing, and JUnit for the
        // pipeline's Tests tab. No later job reads them: the sizing travels in the registry.
        artifacts: {
          when: 'always',
          ...(exposeReport && EXPOSABLE_PATH.test(folder) ? { expose_as: 'load test report' } : {}),
          paths: [`${folder}report/`, `${folder}sizing.json`],
          reports: { junit: `${folder}report/junit.xml` },
          expire_in: '30 days',
        },
      },
    ],
    // Promotion order: each environment's deploy waits for the one before it (the first for the load test).
    ...options.environments.flatMap((env, i): [string, CiObject][] => {
      const previous = options.environments[i - 1];
      const { head, tail } = environmentJob(env, deployName, options, { gated: true });
      const before = previous ? deployJob(deployName, previous.name) : `${deployName}:test`;
      const canary = env.gate === 'canary' && previous ? canaryCheckJob(deployName, env, before, options) : undefined;
      return [
        ...(canary ? [canary] : []),
        [
          deployJob(deployName, env.name),
          {
            stage: deployStage(env),
            needs: [need(canary ? canary[0] : before)],
            ...withImagePins(withAliasPins(head, aliasPins?.deploys.get(env.name)), imagePins?.deploys.get(env.name)),
            script: [regenerate(deployName, options), shellCommand([...CLI, 'deploy', '--model', deployName, ...environmentArgs(env), ...fleetArgs(options), ...TARGET_ARGS])],
            ...tail,
            // For people: the manifests as applied.
            artifacts: { when: 'always', paths: [`${folder}k8s/`], expire_in: '30 days' },
          },
        ],
      ];
    }),
  ];
}

/**
 * The canary gate of `env`: reads the previous environment's gateway metrics for the model over
 * the configured window, after the model's deploy there, and fails when they miss the targets,
 * so `env`'s deploy runs only on a pass. Read-only: no environment, no lock, and a re-run of the
 * deploy job (GitLab's Rollback) does not repeat it.
 */
function canaryCheckJob(deployName: string, env: EnvironmentSpec, after: string, options: PipelineOptions): [string, CiObject] {
  const runner = runnerKeys(options.ci, 'deploy');
  return [
    canaryJob(deployName, env.name),
    {
      stage: canaryStage(env),
      needs: [need(after)],
      ...runner,
      variables: { ...(runner.variables as Record<string, string> | undefined), MODELFLEET_ENV: env.name },
      rules: deployRules(options.ci, undefined),
      script: [shellCommand([...CLI, 'canary', '--model', deployName, ...environmentArgs(env), ...fleetArgs(options), ...TARGET_ARGS])],
    },
  ];
}

/**
 * `needs` when they fit GitLab's limit, else plain stage order (a later stage waits for all
 * earlier ones) with `dependencies: []`, so stage order does not pull in every earlier job's artifacts.
 */
function needsOrStageOrder(needs: readonly CiObject[]): CiObject {
  return needs.length <= MAX_NEEDS ? { needs: [...needs] } : noDependencies();
}

/**
 * `upstream(env)`: that environment's model deploys (optional: the branch rules leave them out
 * exactly when they leave out the gateway deploy) or, in the dispatcher, the part trigger jobs.
 * A gateway deploy with no model deploy before it in this file (only routes changed) waits for
 * the previous environment's gateway and carries its environment's gate itself.
 */
function gatewayJobs(upstream: (env: EnvironmentSpec) => readonly CiObject[], options: PipelineOptions): [string, CiObject][] {
  return [
    [
      GATEWAY_BUILD_JOB,
      {
        stage: 'build',
        needs: [],
        ...runnerKeys(options.ci, 'build'),
        script: [shellCommand([...CLI, 'build', '--gateway', ...fleetArgs(options)])],
      },
    ],
    ...options.environments.map((env, i): [string, CiObject] => {
      const models = upstream(env);
      const previous = options.environments[i - 1];
      const gated = models.length === 0;
      // `when: always`: one model's failed deploy must not hold back the routes of all the
      // others; the gateway keeps a failed model's previous route, and the pipeline still fails.
      const { head, tail } = environmentJob(env, 'gateway', options, { when: 'always', gated });
      return [
        gatewayDeployJob(env.name),
        {
          stage: gatewayStage(env),
          ...needsOrStageOrder([need(GATEWAY_BUILD_JOB), ...(gated && previous ? [need(gatewayDeployJob(previous.name))] : []), ...models]),
          ...head,
          script: [shellCommand([...CLI, 'deploy', '--gateway', ...environmentArgs(env), ...fleetArgs(options), ...TARGET_ARGS])],
          ...tail,
          artifacts: { when: 'always', paths: [`${options.outDir}/gateway/k8s/`], expire_in: '30 days' },
        },
      ];
    }),
  ];
}

function removalJobs(removed: readonly string[], afterGateway: boolean, options: PipelineOptions): [string, CiObject][] {
  // Remove a deployment only after the gateway stopped routing to it. Not optional: the same
  // rules include or leave out both jobs, and a removal must never run without that gateway deploy.
  return removed.flatMap((name) =>
    options.environments.map((env): [string, CiObject] => {
      const { head, tail } = environmentJob(env, name, options, { gated: false }, 'stop');
      return [
        removeJob(name, env.name),
        {
          stage: 'cleanup',
          ...(afterGateway ? { needs: [need(gatewayDeployJob(env.name))] } : noDependencies()),
          ...head,
          script: [shellCommand([...CLI, 'deploy', '--remove', name, ...environmentArgs(env), ...fleetArgs(options), ...TARGET_ARGS])],
          ...tail,
        },
      ];
    }),
  );
}

function modelPipeline(
  deployNames: readonly string[],
  extra: { removed: readonly string[]; gateway: boolean } & Pins,
  options: PipelineOptions,
): CiObject {
  const hasModels = deployNames.length > 0;
  const stages = ['build', ...(hasModels ? ['test'] : [])];
  for (const env of options.environments) {
    if (hasModels && env.gate === 'canary' && env !== options.environments[0]) stages.push(canaryStage(env));
    if (hasModels) stages.push(deployStage(env));
    if (extra.gateway) stages.push(gatewayStage(env));
  }
  if (extra.removed.length > 0) stages.push('cleanup');
  const pipeline: CiObject = header(stages, options.ci);
  // GitLab links at most 10 exposed artifacts per merge request, so reports are linked only
  // when this pipeline has at most that many test jobs (https://docs.gitlab.com/ci/yaml/#artifactsexpose_as).
  const exposeReports = deployNames.length <= MAX_EXPOSED_ARTIFACTS;
  for (const name of deployNames) for (const [job, body] of modelJobs(name, options, exposeReports, extra)) pipeline[job] = body;
  if (extra.gateway) {
    for (const [job, body] of gatewayJobs((env) => deployNames.map((n) => need(deployJob(n, env.name), true)), options)) pipeline[job] = body;
  }
  for (const [job, body] of removalJobs(extra.removed, extra.gateway, options)) pipeline[job] = body;
  return pipeline;
}

function partTriggerJob(n: number, count: number): string {
  return `models-${n}-of-${count}`;
}

function dispatcherPipeline(parts: number, removed: readonly string[], options: PipelineOptions): CiObject {
  const stages = ['build', 'models', ...options.environments.map(gatewayStage), ...(removed.length > 0 ? ['cleanup'] : [])];
  const pipeline: CiObject = header(stages, options.ci);
  const partPaths = Array.from({ length: parts }, (_, i) => `${options.outDir}/${partFile(i + 1)}`);
  pipeline[GENERATE_PARTS_JOB] = {
    stage: 'build',
    needs: [],
    ...runnerKeys(options.ci, 'build'),
    // The part files are a pure function of the commit and these arguments, so they are
    // recreated here instead of being passed down from the parent pipeline.
    script: [
      shellCommand([...CLI, 'generate', '--file', options.fleetFile, '--out', options.outDir, '--max-jobs', String(options.maxJobs), ...options.regenerateArgs]),
    ],
    artifacts: { paths: partPaths, expire_in: '1 week' },
  };
  const triggers: CiObject[] = [];
  for (let n = 1; n <= parts; n++) {
    const job = partTriggerJob(n, parts);
    triggers.push(need(job));
    pipeline[job] = {
      stage: 'models',
      // The part file comes in through `trigger: include: artifact`, GitLab's mechanism for a
      // generated child pipeline, not through a job dependency (trigger jobs take no artifacts).
      needs: [need(GENERATE_PARTS_JOB)],
      // pipeline_variables: a MODELFLEET_ENV or MODELFLEET_DEPLOY_TARGET given when the parent
      // pipeline was started, and the parent's MODELFLEET_PARENT_PIPELINE_SOURCE, reach every part.
      trigger: { include: [{ artifact: partPaths[n - 1], job: GENERATE_PARTS_JOB }], strategy: 'depend', forward: { pipeline_variables: true } },
    };
  }
  for (const [job, body] of gatewayJobs(() => triggers, options)) pipeline[job] = body;
  for (const [job, body] of removalJobs(removed, true, options)) pipeline[job] = body;
  return pipeline;
}
