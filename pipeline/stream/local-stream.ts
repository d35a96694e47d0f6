import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Deployable, FleetSpec, StreamSettings } from '../../generator/fleet/types.js';
import { findFreePort } from '../../lib/free-port.js';
import { stopProcess } from '../bulk/local-bulk.js';
import { isAlive, localRedisUrl, readLocalBulkState, writeLocalBulkState } from '../bulk/local-bulk-state.js';
import { LocalRedisServer } from '../bulk/local-redis.js';
import { localModelDir } from '../deploy/resolve-deploy-inputs.js';
import { modelfleetArgs } from '../instance-runtime/process-instance.js';
import { localDir, stateRoot } from '../local-target/local-state.js';
import { streamWorkerEnv } from './render-stream-manifests.js';

/** How long `down` gives a stream worker to publish and commit the batches in hand. */
const WORKER_STOP_MS = 40_000;

/** The stream workers the local target runs, in `.modelfleet/local/stream.json`, so `modelfleet down` stops them. */
export interface LocalStreamState {
  readonly workers?: ReadonlyArray<{ readonly model: string; readonly pid: number; readonly url: string; readonly logFile: string }>;
}

function streamStateFile(root = stateRoot()): string {
  return join(localDir(root), 'stream.json');
}

async function readLocalStreamState(root = stateRoot()): Promise<LocalStreamState> {
  try {
    return JSON.parse(await readFile(streamStateFile(root), 'utf8')) as LocalStreamState;
  } catch {
    return {};
  }
}

async function writeLocalStreamState(state: LocalStreamState, root = stateRoot()): Promise<void> {
  const file = streamStateFile(root);
  await mkdir(localDir(root), { recursive: true });
  const staging = `${file}.tmp-${process.pid}`;
  await writeFile(staging, `${JSON.stringify(state, null, 2)}\n`);
  await rename(staging, file);
}

/** Each model with `stream:`, as its main (non-shadow) deployable. */
export function streamDeployables(fleet: FleetSpec): Array<{ deployable: Deployable; stream: StreamSettings }> {
  return fleet.models.flatMap((model) => {
    const variant = model.variants.find((v) => !v.shadow);
    return model.stream && variant ? [{ deployable: { model, variant }, stream: model.stream }] : [];
  });
}

/**
 * The local target's streaming part: one `modelfleet worker --stream` per model with `stream:`
 * (locally there is no KEDA: the worker runs while the target runs), restarted on every run so it
 * follows the current models.yaml. Redis streams use the local target's redis-server (started here
 * when no bulk model started it); Kafka streams need KAFKA_BOOTSTRAP, and are skipped with a note
 * without it. The workers outlive this command; `stopLocalStreams` ends them.
 */
export async function startLocalStreams(fleet: FleetSpec, options: { readonly out: string; readonly print: (line: string) => void }): Promise<void> {
  const { print } = options;
  await stopLocalStreams(() => undefined);
  const targets = streamDeployables(fleet);
  if (targets.length === 0) return;
  let redisUrl: string | undefined;
  if (targets.some((t) => t.stream.transport === 'redis')) {
    redisUrl = await localRedisUrl();
    if (redisUrl === undefined) {
      const server = await LocalRedisServer.start({ dir: join(localDir(), 'redis'), detached: true, ...(process.env.MODELFLEET_REDIS_PORT ? { port: Number(process.env.MODELFLEET_REDIS_PORT) } : {}) });
      await writeLocalBulkState({ ...(await readLocalBulkState()), redis: { port: server.port, pid: server.pid ?? -1, dir: server.dir } });
      redisUrl = server.url;
      print(`stream: started redis-server on 127.0.0.1:${server.port} (data in ${server.dir})`);
    }
  }
  const workers: Array<{ model: string; pid: number; url: string; logFile: string }> = [];
  await mkdir(join(localDir(), 'logs'), { recursive: true });
  for (const { deployable, stream } of targets) {
    const name = deployable.variant.deployName;
    const modelDir = localModelDir(fleet, deployable, options.out);
    if (!modelDir) {
      print(`stream: ${name} has no local model files (build it first); its stream worker was not started`);
      continue;
    }
    const bootstrap = process.env.KAFKA_BOOTSTRAP?.trim();
    if (stream.transport === 'kafka' && !bootstrap) {
      print(`stream: ${name} streams from Kafka; set KAFKA_BOOTSTRAP=HOST:PORT and run \`modelfleet up\` again to start its worker`);
      continue;
    }
    const port = await findFreePort();
    const logFile = join(localDir(), 'logs', `stream-${name}.log`);
    const connection = stream.transport === 'kafka' ? { KAFKA_BOOTSTRAP: bootstrap ?? '' } : { REDIS_URL: redisUrl ?? '' };
    const env = {
      ...process.env,
      ...Object.fromEntries(streamWorkerEnv(deployable, stream).map((e) => [e.name, e.value])),
      ...connection,
      HOST: '127.0.0.1',
      PORT: String(port),
      MODELFLEET_WORKER_NAME: `local-${name}`,
    };
    const out = openSync(logFile, 'a');
    const child = spawn(process.execPath, modelfleetArgs('worker', '--stream', '--model-dir', modelDir), { detached: true, stdio: ['ignore', out, out], env });
    closeSync(out);
    child.unref();
    const url = `http://127.0.0.1:${port}`;
    workers.push({ model: name, pid: child.pid ?? -1, url, logFile });
    print(`stream: ${name} consumes ${stream.input} (${stream.transport}) into ${stream.output}; worker pid ${child.pid ?? '?'}, ${url}/metrics, log ${logFile}`);
  }
  await writeLocalStreamState({ workers });
}

/** Stops the stream workers (each publishes and commits the batches in hand first). */
export async function stopLocalStreams(print: (line: string) => void): Promise<void> {
  const state = await readLocalStreamState();
  const running = (state.workers ?? []).filter((w) => isAlive(w.pid));
  await Promise.all(running.map((w) => stopProcess(w.pid, WORKER_STOP_MS)));
  for (const w of running) print(`stopped the stream worker of ${w.model} (pid ${w.pid})`);
  if (state.workers !== undefined) await writeLocalStreamState({});
}
