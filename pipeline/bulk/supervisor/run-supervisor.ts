import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { listDeployables } from '../../../generator/fleet/find-deployable.js';
import { loadFleet } from '../../../generator/fleet/load-fleet.js';
import type { BulkSettings, Deployable } from '../../../generator/fleet/types.js';
import { findFreePort } from '../../../lib/free-port.js';
import { chunkStreamKey } from '../../../serving/worker/bulk-protocol.js';
import { readBacklog } from '../../../serving/worker/redis-bulk-source.js';
import { describeRedis, type RedisSettings } from '../../../serving/worker/redis-connection.js';
import { localModelDir } from '../../deploy/resolve-deploy-inputs.js';
import { modelfleetArgs, startProcessInstance } from '../../instance-runtime/process-instance.js';
import type { ServerInstance } from '../../instance-runtime/server-instance.js';
import { localDir } from '../../local-target/local-state.js';
import { bulkRedisSettings } from '../bulk-target.js';
import { closeRedis, connectRedis } from '../connect-redis.js';
import { workerEnv } from '../worker-env.js';
import { desiredWorkers, isBusy } from './scale-decision.js';

export interface SupervisorOptions {
  readonly file: string;
  readonly buildDir: string;
  readonly redisFlag: string | undefined;
  readonly pollMs: number;
  readonly print: (line: string) => void;
  /** Resolves the run when aborted (tests); SIGTERM and SIGINT do the same for the command. */
  readonly signal?: AbortSignal;
  /** Where worker logs go; `.modelfleet/local/logs` by default. */
  readonly logDir?: string;
}

interface Pool {
  readonly deployable: Deployable;
  readonly bulk: BulkSettings;
  readonly modelDir: string;
  readonly stream: string;
  readonly workers: ServerInstance[];
  lastBusyAt: number | undefined;
  started: number;
}

/** How long a stopping worker may take to answer its chunks in hand before SIGKILL. */
const WORKER_STOP_GRACE_SECONDS = 30;

/**
 * The local target's stand-in for KEDA: for every model with `bulk: { enabled: true }`, reads its
 * queue's lag every pollMs and starts `modelfleet worker` processes (up to bulk.maxWorkers) while
 * chunks wait, and stops them (SIGTERM: they answer what they hold first) after bulk.cooldownSeconds
 * without work. Runs until SIGTERM / SIGINT, then stops its workers.
 */
export async function runSupervisor(options: SupervisorOptions): Promise<void> {
  const { print } = options;
  const fleet = loadFleet(options.file);
  const pools: Pool[] = [];
  for (const deployable of listDeployables(fleet)) {
    const bulk = deployable.model.bulk;
    if (!bulk?.enabled) continue;
    const modelDir = localModelDir(fleet, deployable, options.buildDir);
    if (!modelDir) {
      print(`${deployable.variant.deployName}: its model files are not on this machine (run \`modelfleet build --model ${deployable.variant.deployName}\`); no workers for it`);
      continue;
    }
    pools.push({ deployable, bulk, modelDir, stream: chunkStreamKey(deployable.variant.deployName), workers: [], lastBusyAt: undefined, started: 0 });
  }
  const settings = await bulkRedisSettings(options.redisFlag);
  const redis = await connectRedis(settings, { waitForever: true, print });
  print(`supervisor: ${pools.length} bulk model(s) (${pools.map((p) => `${p.deployable.variant.deployName} ≤ ${p.bulk.maxWorkers}`).join(', ') || 'none'}), Redis ${describeRedis(settings)}`);

  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  options.signal?.addEventListener('abort', onSignal, { once: true });
  try {
    while (!stop.signal.aborted) {
      for (const pool of pools) await supervise(pool, redis, settings, options).catch((err: unknown) => print(`${pool.deployable.variant.deployName}: ${(err as Error).message}`));
      await new Promise<void>((resolve) => {
        const wake = () => { clearTimeout(timer); resolve(); };
        const timer = setTimeout(() => { stop.signal.removeEventListener('abort', wake); resolve(); }, options.pollMs);
        stop.signal.addEventListener('abort', wake, { once: true });
      });
    }
  } finally {
    process.removeListener('SIGTERM', onSignal);
    process.removeListener('SIGINT', onSignal);
    await Promise.all(pools.flatMap((pool) => pool.workers.map((w) => w.stop(WORKER_STOP_GRACE_SECONDS))));
    await closeRedis(redis);
    print('supervisor: stopped (workers stopped)');
  }
}

async function supervise(pool: Pool, redis: Redis, settings: RedisSettings, options: SupervisorOptions): Promise<void> {
  const name = pool.deployable.variant.deployName;
  // Workers that exited by themselves (a crash) leave the pool; the decision below replaces them.
  for (const worker of [...pool.workers]) {
    const state = await worker.state();
    if (!state.running) {
      pool.workers.splice(pool.workers.indexOf(worker), 1);
      options.print(`${name}: worker ${worker.record.pid ?? '?'} exited (${state.exitCode ?? state.signal ?? 'unknown'}); ${(await worker.logs(3)).split('\n').pop() ?? ''}`);
    }
  }
  const backlog = await readBacklog(redis, pool.stream);
  const now = Date.now();
  if (isBusy(backlog)) pool.lastBusyAt = now;
  const want = desiredWorkers(backlog, { workers: pool.workers.length, lastBusyAt: pool.lastBusyAt }, {
    maxWorkers: pool.bulk.maxWorkers, lagPerWorker: pool.bulk.lagPerWorker, cooldownMs: pool.bulk.cooldownSeconds * 1000,
  }, now);
  while (pool.workers.length < want) {
    pool.started += 1;
    const port = await findFreePort();
    const env = Object.fromEntries(workerEnv(pool.deployable, pool.bulk).map((e) => [e.name, e.value]));
    const worker = await startProcessInstance({
      args: modelfleetArgs('worker', '--model-dir', pool.modelDir),
      env: { ...env, REDIS_URL: settings.url, ...(settings.password ? { REDIS_PASSWORD: settings.password } : {}), MODELFLEET_WORKER_NAME: `${name}-local-${process.pid}-${pool.started}` },
      port,
      logFile: join(options.logDir ?? join(localDir(), 'logs'), `worker-${name}-${pool.started}.log`),
    });
    pool.workers.push(worker);
    options.print(`${name}: lag ${backlog.waiting}, in progress ${backlog.inProgress}: started worker ${pool.workers.length}/${pool.bulk.maxWorkers} (pid ${worker.record.pid ?? '?'}, http://127.0.0.1:${port}/metrics)`);
  }
  if (want < pool.workers.length) {
    const stopping = pool.workers.splice(want);
    options.print(`${name}: no work for ${pool.bulk.cooldownSeconds}s: stopping ${stopping.length} worker(s)`);
    await Promise.all(stopping.map((w) => w.stop(WORKER_STOP_GRACE_SECONDS)));
  }
}
