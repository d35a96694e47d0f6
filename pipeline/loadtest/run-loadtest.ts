import { join, resolve } from 'node:path';
import type { Deployable, FleetSpec } from '../../generator/fleet/types.js';
import { UserError } from '../../lib/errors/user-error.js';
import { shortHash } from '../../lib/names.js';
import { buildBadRequestCorpus, type BadRequest } from '../../serving/model-server/bad-request-corpus.js';
import { CONFIG_DEFAULTS } from '../../serving/model-server/server-config.js';
import { batchingEnv, maxRowsPerRequest } from '../manifests/render-model-manifests.js';
import { prepareImageInputs } from '../build/prepare-image-inputs.js';
import { pullMissingImage } from '../build/pull-missing-image.js';
import { readImageRecord } from '../model-folder/image-record.js';
import { modelFolderPaths } from '../model-folder/model-folder-paths.js';
import { publishSizingRecord } from '../model-folder/sizing-in-registry.js';
import { sizingKeyOf, toSizingRecord, writeSizingRecord, type SizingInputs, type SizingRecord } from '../model-folder/sizing-record.js';
import type { DockerSeam } from '../seams/docker.js';
import { stopSamplingProcesses } from '../seams/process-sampler.js';
import { computeSizing, formatMemoryQuantity, MiB, type Sizing } from '../sizing/sizing-policy.js';
import type { LoadtestReport } from '../report/loadtest-report.js';
import { writeLoadtestOutput, type WrittenOutput } from '../report/write-loadtest-output.js';
import { describeRequestErrors, describeServerFate, evaluateChecks, type LimitProof } from './checks.js';
import { createDockerLauncher } from './docker-target.js';
import { corpusForForeignServer, fireBadRequests, type BadRequestOutcome } from './fire-bad-requests.js';
import { measureRun, type RunRecord } from './measure-run.js';
import { createProcessLauncher } from './process-target.js';
import { loadtestSecretEnv } from './loadtest-secret-env.js';
import { generateRequestBodies } from './random-inputs.js';
import { readModelInputs, type ModelInputs } from './read-model-inputs.js';
import type { ServerTarget, TargetLauncher } from './server-target.js';
import { waitUntilReady } from './wait-ready.js';

/** How many distinct random bodies each connection cycles through. */
export const DISTINCT_BODIES = 64;
/** A server that is not ready within this time fails the job. */
export const READY_TIMEOUT_MS = 90_000;

/** Cap of the measuring run: far above any small model's need, far below a CI runner's memory. */
export const DEFAULT_SAFETY_CAP_BYTES = 4096 * MiB;

export type LoadtestMode = 'docker' | 'process' | 'auto';

export interface LoadtestJob {
  readonly fleet: FleetSpec;
  readonly deployable: Deployable;
  /** The build folder (`build`); output goes to `<outDir>/models/<deployName>/`. */
  readonly outDir: string;
  readonly mode: LoadtestMode;
  /** Overrides of the model's `loadtest:` settings (e.g. a shorter local run). */
  readonly durationSeconds?: number;
  readonly connections?: number;
  readonly seed?: number;
  /**
   * Cap of the first, measuring run (default DEFAULT_SAFETY_CAP_BYTES): a leaking model is stopped
   * there instead of eating the CI runner's memory. The limit proof uses the computed limit instead.
   */
  readonly safetyCapBytes?: number;
  /** Opens the Docker engine (the seam); undefined when none answers. */
  readonly openDocker: () => Promise<DockerSeam | undefined>;
  /** Progress lines for the console. */
  readonly log: (line: string) => void;
  /** Registry settings (MODELFLEET_REGISTRY_IMAGE, CI_REGISTRY…) and the base image; default process.env. */
  readonly env?: NodeJS.ProcessEnv;
  /** Extra labels on every container (tests use them to clean up). */
  readonly containerLabels?: Readonly<Record<string, string>>;
}

export interface LoadtestOutcome {
  readonly report: LoadtestReport;
  readonly written: WrittenOutput;
  /** What the deploy job applies; undefined when the test failed. */
  readonly sizingRecord: SizingRecord | undefined;
}

/**
 * `modelfleet loadtest`: start the model's server, drive random schema-conforming load at it
 * while sampling memory and CPU, fire the bad-request corpus, size it, prove the memory limit
 * in a capped container, write the report and the sizing record (beside the image in the
 * registry too, when one is configured, so a deploy weeks later finds it). Throws LOADTEST_CHECKS_FAILED
 * (after writing the report) when a check fails.
 */
export async function runLoadtest(job: LoadtestJob): Promise<LoadtestOutcome> {
  const { deployable, log } = job;
  const { model, variant } = deployable;
  const name = variant.deployName;
  const modelOutDir = join(job.outDir, 'models', name);
  const settings = {
    durationSeconds: job.durationSeconds ?? model.loadtest.durationSeconds,
    connections: job.connections ?? model.loadtest.connections,
    rowsPerRequest: model.loadtest.rowsPerRequest,
    p99BudgetMs: model.loadtest.p99BudgetMs,
    seed: job.seed ?? Number.parseInt(shortHash(name), 16),
    distinctBodies: DISTINCT_BODIES,
  };
  const inputs = await readModelInputs(job.fleet, deployable, job.outDir);
  const { launcher, imageContent } = await chooseLauncher(job, inputs);
  log(`loadtest ${name}: ${launcher.mode} mode, image ${launcher.image}; ${settings.connections} connections × ${settings.durationSeconds} s, ${settings.rowsPerRequest} rows/request, p99 budget ${settings.p99BudgetMs} ms`);

  const bodies = generateRequestBodies(inputs.signature, {
    rowsPerRequest: settings.rowsPerRequest,
    seed: settings.seed,
    count: DISTINCT_BODIES,
    inputExample: inputs.inputExample,
  }).map((body) => JSON.stringify(body));
  const corpus = badRequestCorpus(deployable, inputs);

  const startedAt = new Date().toISOString();
  const safetyCapBytes = job.safetyCapBytes ?? DEFAULT_SAFETY_CAP_BYTES;
  const first = await runOnce(launcher, { label: 'measure', memoryCapBytes: safetyCapBytes }, job, bodies, settings, '1/2', corpus);
  let sizing: Sizing | undefined;
  let proof: LimitProof | undefined;
  const firstRunUsable = describeServerFate(first.run) === undefined && describeRequestErrors(first.run) === undefined;
  if (firstRunUsable && first.run.samples.length === 0) {
    proof = { enforced: launcher.mode === 'docker', memoryLimitBytes: 0, run: undefined, note: `no memory sample was taken during the first run (${first.run.target}), so no limit could be computed` };
  } else if (firstRunUsable) {
    sizing = computeSizing(first.run.samples);
    log(`loadtest ${name}: peak ${mib(sizing.measured.memoryPeakBytes)}, P90 ${mib(sizing.measured.memoryP90Bytes)} → request ${sizing.resources.requests.memory}, limit ${sizing.resources.limits.memory} (×${sizing.limitToPeakRatio.toFixed(2)} of peak), CPU request ${sizing.resources.requests.cpu}`);
    proof = await proveLimit(launcher, sizing, job, bodies, settings, corpus);
  }

  const checks = evaluateChecks({ measurement: first.run, p99BudgetMs: settings.p99BudgetMs, badRequests: first.badRequests, proof });
  const passed = checks.every((c) => c.status !== 'failed');
  const report: LoadtestReport = {
    schemaVersion: 1,
    model: { name: model.name, deployName: name, variant: variant.id, route: model.route },
    mode: launcher.mode,
    image: launcher.image,
    memoryMetric: launcher.mode === 'docker' ? 'working set (usage - inactive_file)' : 'RSS (process mode)',
    settings,
    startedAt,
    finishedAt: new Date().toISOString(),
    readyAfterMs: first.readyAfterMs,
    measurement: first.run,
    badRequests: first.badRequests,
    sizing,
    limitProof: proof,
    checks,
    passed,
  };
  const sizingRecord = passed && sizing
    ? toSizingRecord({
      deployName: name,
      key: sizingKeyOf(sizingInputsFor(deployable, imageContent, settings)),
      image: launcher.image,
      mode: launcher.mode,
      measuredAt: report.finishedAt,
      summary: {
        requestsPerSecond: first.run.load.requestsPerSecond,
        p99Ms: first.run.load.latencyMs.p99,
        errors: first.run.load.errors,
        memoryPeakBytes: sizing.measured.memoryPeakBytes,
      },
      sizing,
    })
    : undefined;
  const written = await writeLoadtestOutput(modelOutDir, { report });
  if (sizingRecord) await writeSizingRecord(job.outDir, sizingRecord);

  for (const check of checks) log(`  ${check.status === 'passed' ? 'PASS' : check.status === 'failed' ? 'FAIL' : 'SKIP'} ${check.name}: ${check.detail}`);
  log(`loadtest ${name}: report ${join(written.reportDir, 'report.html')}`);
  if (!passed) {
    const failed = checks.filter((c) => c.status === 'failed');
    throw new UserError(
      'LOADTEST_CHECKS_FAILED',
      `model ${name}: ${failed.length} load-test check(s) failed:\n${failed.map((c) => `  - ${c.name}: ${c.detail}`).join('\n')}`,
      `The full report is ${join(written.reportDir, 'report.html')}.`,
    );
  }
  if (sizingRecord) {
    log(`loadtest ${name}: sizing in ${modelFolderPaths(job.outDir, name).sizingJson}`);
    // Only a container's working set sizes a pod; a process's RSS stays on this machine.
    if (launcher.mode === 'docker') await publishSizingRecord(sizingRecord, job.env ?? process.env, log);
  }
  return { report, written, sizingRecord };
}

/** What a measurement depends on, from the deployable and the load that was applied. */
export function sizingInputsFor(deployable: Deployable, imageContent: string, settings: { readonly durationSeconds: number; readonly connections: number }): SizingInputs {
  return {
    image: imageContent,
    serverEnv: loadtestServerEnv(deployable),
    loadtest: { ...deployable.model.loadtest, durationSeconds: settings.durationSeconds, connections: settings.connections },
  };
}

interface Settings {
  readonly durationSeconds: number;
  readonly connections: number;
}

interface OnceResult {
  readonly run: RunRecord;
  readonly readyAfterMs: number;
  readonly badRequests: BadRequestOutcome[];
}

/** Start a server, wait for it, load it (and fire the bad requests), read its fate, stop it. */
async function runOnce(
  launcher: TargetLauncher,
  run: { label: string; memoryCapBytes?: number },
  job: LoadtestJob,
  bodies: readonly string[],
  settings: Settings,
  step: string,
  corpus: readonly BadRequest[],
): Promise<OnceResult> {
  const name = job.deployable.variant.deployName;
  const target: ServerTarget = await launcher.start(run);
  try {
    const readyAfterMs = await waitUntilReady(target, { timeoutMs: READY_TIMEOUT_MS, model: name });
    job.log(`loadtest ${name} [${step}]: ${target.description} ready after ${readyAfterMs} ms`);
    let badRequests: BadRequestOutcome[] = [];
    const record = await measureRun(target, {
      bodies,
      durationSeconds: settings.durationSeconds,
      connections: settings.connections,
      onProgress: (second, latest) =>
        job.log(`loadtest ${name} [${step}] ${String(second.second).padStart(3)}/${settings.durationSeconds} s  ${String(second.requests).padStart(6)} req/s  p99 ${second.p99Ms.toFixed(1)} ms  errors ${second.errors}  mem ${latest ? mib(latest.workingSetBytes) : '?'}  cpu ${latest ? latest.cpuCores.toFixed(2) : '?'}`),
      // Still sampled: a malformed request must not take memory the limit does not cover either.
      afterLoad: async () => {
        if (corpus.length === 0 || !(await target.state()).running) return;
        badRequests = await fireBadRequests(target.baseUrl, corpus);
        const wrong = badRequests.filter((b) => !b.answered4xx).length;
        job.log(`loadtest ${name} [${step}]: ${badRequests.length - wrong} of ${badRequests.length} malformed requests answered 4xx`);
      },
    });
    return { run: record, readyAfterMs, badRequests };
  } finally {
    await target.stop();
    if (launcher.mode === 'process') stopSamplingProcesses();
  }
}

/**
 * The same load again under the computed limit. Docker enforces it with a cgroup cap (Memory =
 * MemorySwap); a plain process cannot be put in a cgroup from here, so process mode arms an RSS watchdog.
 */
async function proveLimit(
  launcher: TargetLauncher,
  sizing: Sizing,
  job: LoadtestJob,
  bodies: readonly string[],
  settings: Settings,
  corpus: readonly BadRequest[],
): Promise<LimitProof> {
  const limit = sizing.memoryLimitBytes;
  const enforced = launcher.mode === 'docker';
  const note = enforced
    ? `Docker memory cap ${formatMemoryQuantity(limit)} (MemorySwap equal, no swap)`
    : 'process mode has no cgroup cap: a watchdog samples RSS every 250 ms and kills the server above the limit, so a short spike can slip past. Docker mode gives the real proof';
  try {
    // The same load and the same malformed requests: everything the first run's memory covered.
    const second = await runOnce(launcher, { label: 'limit-proof', memoryCapBytes: limit }, job, bodies, settings, '2/2', corpus);
    return { enforced, memoryLimitBytes: limit, run: second.run, note };
  } catch (err) {
    // A server that cannot even start under the cap fails the proof, with the reason.
    if (err instanceof UserError && err.code === 'LOADTEST_SERVER_NOT_READY') {
      return { enforced, memoryLimitBytes: limit, run: undefined, note: `the server did not start under the ${formatMemoryQuantity(limit)} limit: ${err.message}` };
    }
    throw err;
  }
}

function badRequestCorpus(deployable: Deployable, inputs: ModelInputs): BadRequest[] {
  const corpus = buildBadRequestCorpus(inputs.signature, {
    modelName: deployable.variant.deployName,
    maxRows: maxRowsPerRequest(deployable),
    maxBodyBytes: CONFIG_DEFAULTS.MAX_BODY_BYTES,
  });
  const source = deployable.variant.source;
  return source.kind === 'image' ? corpusForForeignServer(corpus, source.predictPath) : corpus;
}

/** The server's environment in a load test: the pod's batching and limits, quieter logs. */
export function loadtestServerEnv(deployable: Deployable): Record<string, string> {
  return {
    MODEL_NAME: deployable.variant.deployName,
    ...Object.fromEntries(batchingEnv(deployable).map((e) => [e.name, e.value])),
    LOG_LEVEL: 'warn',
  };
}

/**
 * The model's image, by the content tag recomputed from the commit (never from an earlier
 * job's files): this engine's copy, or the registry's, pulled. Fails naming the build job
 * to re-run when neither has it.
 */
export async function findModelImage(job: LoadtestJob, docker: DockerSeam, log: (line: string) => void = () => undefined): Promise<{ readonly tag: string; readonly contentDigest: string }> {
  const name = job.deployable.variant.deployName;
  const rerun = `Re-run the \`${name}:build\` job (locally: \`modelfleet build --model ${name}\`), then \`${name}:test\`${job.mode === 'auto' ? ', or use `--mode process`' : ''}.`;
  let inputs: { tag: string; contentDigest: string };
  try {
    inputs = await prepareImageInputs({ fleet: job.fleet, deployable: job.deployable, outDir: resolve(job.outDir), ...(job.env ? { env: job.env } : {}), report: log });
  } catch (err) {
    throw new UserError('LOADTEST_IMAGE_MISSING', `model ${name}: the image tag could not be computed (${(err as Error).message.split('\n')[0] ?? ''})`, rerun, { cause: err });
  }
  const found = await pullMissingImage(docker, inputs.tag, name, job.env ?? process.env, log);
  if (found.kind === 'missing') throw new UserError('LOADTEST_IMAGE_MISSING', `model ${name}: ${found.why}`, rerun);
  return { tag: inputs.tag, contentDigest: inputs.contentDigest };
}

/** The launcher, and what identifies the image it runs for the sizing record's key. */
interface ChosenLauncher {
  readonly launcher: TargetLauncher;
  /** The image's content digest, the bring-your-own reference, or the model artifact's digest (process mode). */
  readonly imageContent: string;
}

async function chooseLauncher(job: LoadtestJob, inputs: ModelInputs): Promise<ChosenLauncher> {
  const { deployable, log } = job;
  const name = deployable.variant.deployName;
  const source = deployable.variant.source;
  const wantsDocker = job.mode === 'docker' || source.kind === 'image';
  const docker = job.mode === 'process' && source.kind !== 'image' ? undefined : await job.openDocker();
  if (wantsDocker && !docker) {
    throw new UserError(
      'LOADTEST_DOCKER_UNAVAILABLE',
      source.kind === 'image'
        ? `model ${name} brings its own image (${source.image}); load-testing it needs a Docker engine, and none answers`
        : `model ${name}: --mode docker, but no Docker engine answers`,
      source.kind === 'image' ? 'Start a Docker engine (`scripts/setup-docker.sh`).' : 'Start a Docker engine (`scripts/setup-docker.sh`) or use `--mode process`.',
    );
  }
  // Secret values only reach the server, never the sizing key (sizingInputsFor) or the report.
  const secrets = loadtestSecretEnv(deployable, job.env ?? process.env);
  if (secrets.summary) log(`loadtest ${name}: ${secrets.summary}`);
  const env = { ...loadtestServerEnv(deployable), ...secrets.values };
  if (source.kind === 'image') {
    if (!(await docker?.imageExists(source.image))) {
      log(`loadtest ${name}: ${source.image} is not in this Docker engine; pulling it`);
      await (docker as DockerSeam).pullImage(source.image).catch((err: unknown) => {
        throw new UserError('LOADTEST_IMAGE_MISSING', `model ${name}: its image ${source.image} is not in this Docker engine, and pulling it failed: ${(err as Error).message.split('\n')[0] ?? ''}`,
          `Check that ${source.image} exists and that this runner may pull it (\`docker pull ${source.image}\`), then re-run \`${name}:test\`.`);
      });
    }
    const launcher = createDockerLauncher({
      docker: docker as DockerSeam,
      image: source.image,
      deployName: name,
      env: secrets.values,
      fixedPort: source.port,
      predictPath: source.predictPath,
      readyPath: source.readyPath,
      ...(job.containerLabels ? { labels: job.containerLabels } : {}),
    });
    return { launcher, imageContent: source.image };
  }
  if (docker && job.mode !== 'process') {
    const found = await findModelImage(job, docker, log);
    const launcher = createDockerLauncher({
      docker,
      image: found.tag,
      deployName: name,
      env,
      predictPath: '/invocations',
      readyPath: '/readyz',
      ...(job.containerLabels ? { labels: job.containerLabels } : {}),
    });
    return { launcher, imageContent: found.contentDigest };
  }
  if (!inputs.modelDir) {
    throw new UserError('LOADTEST_MODEL_NOT_LOCAL', `model ${name}: process mode needs the model's files on disk`, `Run \`${name}:build\` first, or use Docker mode.`);
  }
  const recorded = (await readImageRecord(job.outDir, name))?.tag;
  const launcher = createProcessLauncher({ modelDir: inputs.modelDir, env, image: recorded ?? `modelfleet/${name}:unbuilt` });
  return { launcher, imageContent: `process:${inputs.source}` };
}

function mib(bytes: number): string {
  return `${(bytes / MiB).toFixed(1)} MiB`;
}
