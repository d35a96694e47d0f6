/**
 * `modelfleet up` (what `npm start` runs): the whole pipeline for a fleet on this machine,
 * step by step as the CI jobs would run it (generate → build → loadtest → deploy → gateway),
 * each step the same CLI command its job runs. Leaves the models and the gateway running in
 * the background; `modelfleet down` stops them.
 */
import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { baseImageFrom, OFFLINE_BASE_IMAGE } from '../../lib/base-image.js';
import { UserError } from '../../lib/errors/user-error.js';
import { listDeployables } from '../../generator/fleet/find-deployable.js';
import { loadFleet } from '../../generator/fleet/load-fleet.js';
import { runCliStep } from '../deploy/run-cli-step.js';
import { modelFolderPaths } from '../model-folder/model-folder-paths.js';
import { readSizingRecord } from '../model-folder/sizing-record.js';
import { openDocker, type DockerSeam } from '../seams/docker.js';
import { isInstanceAlive, stopInstance } from '../instance-runtime/recorded-instance.js';
import { NOT_DEPLOYED_UPSTREAM, routesFile } from '../local-target/local-gateway.js';
import { allInstances, environmentStateRoots, readLocalState, updateLocalState, EMPTY_STATE, type LocalModelInstance } from '../local-target/local-state.js';
import { startLocalBulk, stopLocalBulk } from '../bulk/local-bulk.js';
import { startLocalStreams, stopLocalStreams } from '../stream/local-stream.js';


export interface UpOptions {
  readonly file: string;
  readonly out: string;
  readonly runtime: 'docker' | 'process' | 'auto';
  /** Run the load test even when a current sizing.json exists. */
  readonly remeasure: boolean;
  readonly print: (line: string) => void;
}

export interface UpResult {
  /** Models whose build, load test or deploy failed (the others run). */
  readonly failed: readonly string[];
  readonly gatewayUrl: string;
  readonly mode: 'docker' | 'process';
  readonly seconds: number;
}

export async function runUp(options: UpOptions): Promise<UpResult> {
  const { print } = options;
  const started = Date.now();
  const fleet = loadFleet(options.file);
  const deployables = listDeployables(fleet).map((d) => d.variant.deployName);
  const mode = await chooseMode(options.runtime, print);
  const env: NodeJS.ProcessEnv = mode.kind === 'docker' ? { MODELFLEET_BASE_IMAGE: mode.baseImage } : {};
  const total = 1 + deployables.length * (mode.kind === 'docker' ? 3 : 2) + 1;
  let n = 0;
  /** Runs one step; false when it failed (its output is already printed). */
  const step = async (label: string, args: readonly string[]): Promise<boolean> => {
    n += 1;
    print(`==> [${n}/${total}] ${label}`);
    const t0 = Date.now();
    const result = await runCliStep(args, { prefix: '    ', print, env });
    if (result.code !== 0) {
      print(`    FAILED (exit ${result.code}) after ${((Date.now() - t0) / 1000).toFixed(1)}s; re-run just this step with \`npx modelfleet ${args.join(' ')}\``);
      return false;
    }
    print(`    done in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
    return true;
  };
  const common = ['--file', options.file, '--out', options.out];
  // `up` serves the first environment (the start of promotion), whatever MODELFLEET_ENV says.
  const first = ['--env', fleet.environments[0]?.name ?? 'staging'];

  print(`modelfleet up: ${deployables.length} model deployable(s) from ${options.file}, ${mode.kind === 'docker' ? `Docker (base image ${mode.baseImage})` : 'plain processes'}`);
  if (!(await step('generate', ['generate', ...common, '--all']))) {
    throw new UserError('UP_STEP_FAILED', `modelfleet up: "generate" failed for ${options.file}`, 'Its output is above (usually a problem in models.yaml, with its line and column). Fix it and run `npm start` again.');
  }
  // Like the child pipeline: one independent chain per model (build → loadtest → deploy). A
  // model whose chain fails is left out; the others still deploy and the gateway still starts.
  const failed = new Map<string, string>();
  for (const name of deployables) {
    const steps: Array<[string, readonly string[]]> = [];
    if (mode.kind === 'docker') steps.push([`build ${name}`, ['build', '--model', name, ...common]]);
    steps.push([`loadtest ${name}`, ['loadtest', '--model', name, ...common, '--mode', mode.kind]]);
    steps.push([`deploy ${name}`, ['deploy', '--model', name, ...first, ...common, '--target', 'local', '--runtime', mode.kind]]);
    for (const [label, args] of steps) {
      if (failed.has(name)) {
        n += 1;
        print(`==> [${n}/${total}] ${label}: skipped (an earlier step of this model failed)`);
        continue;
      }
      if (label.startsWith('loadtest') && !options.remeasure && (await isSizingCurrent(options.out, name, mode.kind))) {
        n += 1;
        print(`==> [${n}/${total}] ${label}: sizing.json is newer than what it measured; skipped (--remeasure runs it again)`);
        continue;
      }
      if (!(await step(label, args))) failed.set(name, label.split(' ')[0] ?? label);
    }
  }
  if (failed.size === deployables.length) {
    throw new UserError('UP_STEP_FAILED', `modelfleet up: no model could be deployed (${[...failed].map(([m, s]) => `${m}: ${s}`).join(', ')})`,
      'The output of each failed step is above. Fix the cause and run `npm start` again (finished steps are quick to repeat).');
  }
  if (!(await step('gateway', ['deploy', '--gateway', ...first, ...common, '--target', 'local']))) {
    throw new UserError('DEPLOY_GATEWAY_FAILED', 'modelfleet up: the local gateway did not start', 'Its output is above; the log is .modelfleet/local/logs/gateway.log. Fix the cause and run `npm start` again.');
  }

  // Models with `bulk:`: a local Redis and the supervisor that scales their workers from zero.
  await startLocalBulk(fleet, { file: options.file, out: options.out, print });
  // Models with `stream:`: one stream worker each (Redis streams on that same local Redis).
  await startLocalStreams(fleet, { out: options.out, print });
  const state = await readLocalState();
  const gatewayUrl = `http://127.0.0.1:${state.gateway?.port ?? 0}`;
  await printRoutesAndCurl(gatewayUrl, new Set(Object.keys(state.models)), print);
  const seconds = (Date.now() - started) / 1000;
  print(`modelfleet up: done in ${seconds.toFixed(0)}s. The gateway and ${Object.keys(state.models).length} model server(s) keep running in the background (state: .modelfleet/local/state.json).`);
  if (failed.size > 0) {
    print(`WARNING: ${failed.size} model(s) were not deployed; their routes answer 503 until they are:`);
    for (const [name, stage] of failed) print(`  ${name}: its ${stage} step failed (output above); after fixing, \`npx modelfleet ${stage === 'build' ? 'build' : stage === 'loadtest' ? 'loadtest' : 'deploy'} --model ${name}\`, then \`npx modelfleet up\` again`);
  }
  print('Stop them with `node bin/modelfleet.js down`.');
  return { gatewayUrl, mode: mode.kind, seconds, failed: [...failed.keys()] };
}

/** `modelfleet down`: stops every model instance and the gateway the local target started, in every environment. */
export async function runDown(print: (line: string) => void): Promise<number> {
  await stopLocalStreams(print);
  await stopLocalBulk(print);
  const docker = await openDocker();
  let stopped = 0;
  let kept = 0;
  for (const root of await environmentStateRoots()) {
    const result = await stopEnvironment(root, docker, print);
    stopped += result.stopped;
    kept += result.kept;
  }
  if (stopped === 0 && kept === 0) print('nothing runs on the local target');
  return stopped;
}

async function stopEnvironment(root: string, docker: DockerSeam | undefined, print: (line: string) => void): Promise<{ stopped: number; kept: number }> {
  const state = await readLocalState(root);
  let stopped = 0;
  if (state.gateway) {
    await stopInstance(state.gateway, docker);
    print(`stopped the gateway (127.0.0.1:${state.gateway.port})`);
    stopped += 1;
  }
  const kept: Record<string, LocalModelInstance> = {};
  const keptVersions: Record<string, LocalModelInstance[]> = {};
  const current = new Set(Object.values(state.models));
  for (const instance of allInstances(state)) {
    const what = current.has(instance) ? instance.deployName : `${instance.deployName} (kept version ${instance.version ?? '?'})`;
    if (instance.runtime === 'docker' && !docker) {
      // Without an engine the container cannot be stopped; keep it recorded for the next `down`.
      print(`could not stop ${what} (container ${instance.containerName ?? instance.containerId ?? '?'}): no Docker engine answers; run \`modelfleet down\` again once it does`);
      if (current.has(instance)) kept[instance.deployName] = instance;
      else (keptVersions[instance.deployName] ??= []).push(instance);
      continue;
    }
    const alive = await isInstanceAlive(instance, docker);
    await stopInstance(instance, docker);
    print(`${alive ? 'stopped' : 'forgot (already stopped)'} ${what} (127.0.0.1:${instance.port})`);
    stopped += 1;
  }
  const left = Object.keys(kept).length + Object.values(keptVersions).flat().length;
  // The deployment records stay: `history` and `rollback` read them after the next `up`.
  if (state.gateway || allInstances(state).length > 0) {
    await updateLocalState((now) => ({ ...EMPTY_STATE, models: kept, ...(Object.keys(keptVersions).length > 0 ? { kept: keptVersions } : {}), ...(now.history ? { history: now.history } : {}) }), root);
  }
  return { stopped, kept: left };
}

type Mode = { kind: 'docker'; baseImage: string; docker: DockerSeam } | { kind: 'process' };

async function chooseMode(runtime: UpOptions['runtime'], print: (line: string) => void): Promise<Mode> {
  if (runtime === 'process') return { kind: 'process' };
  const docker = await openDocker();
  const baseImage = baseImageFrom(process.env, OFFLINE_BASE_IMAGE);
  if (!docker) {
    if (runtime === 'docker') throw new UserError('DEPLOY_LOCAL_NO_RUNTIME', 'modelfleet up --runtime docker: no Docker engine answers', 'Start one with `bash scripts/setup-docker.sh`, or drop --runtime docker to use plain processes.');
    print('No Docker engine answers: the models run as plain processes (no memory cap). `bash scripts/setup-docker.sh` starts one.');
    return { kind: 'process' };
  }
  if (!(await docker.imageExists(baseImage))) {
    const hint = `The base image ${baseImage} does not exist; build it offline with \`bash scripts/build-base-image.sh\` (about a minute).`;
    if (runtime === 'docker') throw new UserError('DEPLOY_LOCAL_NO_RUNTIME', `modelfleet up --runtime docker: ${hint}`, 'Build the base image, then run `npm start` again.');
    print(`Docker answers, but ${hint} Using plain processes this time.`);
    return { kind: 'process' };
  }
  return { kind: 'docker', baseImage, docker };
}

/**
 * sizing.json newer than what it measured (image.json in Docker mode, model.json otherwise), and
 * measured in this mode: a process's RSS is no proof for a container. Deploy checks the record's
 * key against the image itself; this only spares `npm start` a second load test.
 */
async function isSizingCurrent(out: string, name: string, mode: 'docker' | 'process'): Promise<boolean> {
  const paths = modelFolderPaths(out, name);
  const measured = mode === 'docker' ? paths.imageJson : paths.modelJson;
  const record = await readSizingRecord(out, name);
  if (record?.mode !== mode || !existsSync(measured)) return false;
  return statSync(paths.sizingJson).mtimeMs >= statSync(measured).mtimeMs;
}

interface RouteFileEntry {
  route: string;
  model: string;
  stickyHeader: string;
  variants: Array<{ id: string; deployName: string; weight: number; shadow: boolean; upstream: string; inputExample?: unknown }>;
}

async function printRoutesAndCurl(gatewayUrl: string, deployed: ReadonlySet<string>, print: (line: string) => void): Promise<void> {
  const table = JSON.parse(await readFile(routesFile(), 'utf8')) as { routes: RouteFileEntry[] };
  print('');
  print(`Gateway: ${gatewayUrl}  (OpenAPI: ${gatewayUrl}/openapi.json, docs: ${gatewayUrl}/docs, metrics: ${gatewayUrl}/metrics)`);
  print('Routes:');
  for (const route of table.routes) {
    const variants = route.variants.map((v) => `${v.deployName}${v.shadow ? ' (shadow)' : ` ${v.weight}%`} → ${v.upstream === NOT_DEPLOYED_UPSTREAM ? 'not deployed (503)' : v.upstream}`).join(', ');
    print(`  ${route.route}  [${route.model}]  ${variants}`);
  }
  // Show the A/B-tested route when there is one: the answer then names the variant that served it.
  const withExample = [...table.routes]
    .filter((r) => r.variants.some((v) => v.inputExample !== undefined) && r.variants.every((v) => v.shadow || deployed.has(v.deployName)))
    .sort((a, b) => b.variants.length - a.variants.length)[0] ?? table.routes[0];
  if (!withExample) return;
  const body = JSON.stringify(withExample.variants.find((v) => v.inputExample !== undefined)?.inputExample ?? {});
  const url = `${gatewayUrl}${withExample.route}`;
  print('');
  print('Try it:');
  print(`  curl -s -X POST ${url} -H 'content-type: application/json' -H '${withExample.stickyHeader}: alice' -d '${body.replaceAll("'", "'\\''")}'`);
  try {
    const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', [withExample.stickyHeader]: 'alice' }, body, signal: AbortSignal.timeout(10_000) });
    const text = await response.text();
    const variant = response.headers.get('x-modelfleet-variant');
    print(`  → ${response.status}${variant ? ` from variant ${variant}` : ''}: ${text.slice(0, 300).trim()}`);
  } catch (err) {
    print(`  (the request failed: ${err instanceof Error ? err.message : String(err)})`);
  }
}
