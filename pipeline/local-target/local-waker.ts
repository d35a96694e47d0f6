/**
 * Scale to zero on the local target: the gateway process stops a model's instance once it had no
 * request for idleSeconds, and starts it again, on the port the route table names and with its
 * memory cap, when a request arrives (the gateway holds the request meanwhile). The instances
 * are the ones `modelfleet deploy` recorded in the local state; a wake-up replaces the record's
 * container or process, never its port, so the route table stays as it is.
 */
import type { Waker, WakeTarget } from '../../serving/gateway/cold-start-gate.js';
import { containerInstance } from '../instance-runtime/container-instance.js';
import { isInstanceAlive, stopInstance } from '../instance-runtime/recorded-instance.js';
import { describeEnd, instanceUrl, type ServerInstance } from '../instance-runtime/server-instance.js';
import { waitForReady } from '../instance-runtime/wait-for-ready.js';
import type { DockerSeam } from '../seams/docker.js';
import { startInstance } from './deploy-local.js';
import { readLocalState, updateLocalState, withModel, type LocalModelInstance } from './local-state.js';

export interface LocalWakerOptions {
  /** The `.modelfleet` folder whose local state names the instances. */
  readonly root: string;
  /** The Docker engine, opened on first need (undefined when none answers: containers cannot be woken). */
  readonly docker: () => Promise<DockerSeam | undefined>;
}

/** Ready polls while a woken instance starts: a model server is ready about 0.4 s after start. */
const POLL_MS = 15;
const LOG_LINES = 8;
/** A sleeping instance gets this long to finish what it was doing (nothing: it was idle). */
const SLEEP_GRACE_SECONDS = 2;

/** The recorded container, stopped by a sleep, started again as it was created (image, port, memory cap); undefined when it is gone. */
async function restartStoppedContainer(docker: DockerSeam, record: LocalModelInstance, readyPath: string): Promise<ServerInstance | undefined> {
  if (!record.containerId) return undefined;
  const handle = docker.container(record.containerId);
  const state = await handle.inspect().catch(() => undefined);
  if (!state || !handle.start) return undefined;
  await handle.start();
  return containerInstance(handle, record, { memoryCapBytes: record.memoryLimitBytes, readyPath });
}

export function createLocalWaker(options: LocalWakerOptions): Waker {
  const recorded = async (deployName: string): Promise<LocalModelInstance> => {
    const instance = (await readLocalState(options.root)).models[deployName];
    if (!instance) throw new Error(`no local instance of ${deployName} is recorded in ${options.root}; run \`modelfleet deploy --model ${deployName}\``);
    return instance;
  };
  return {
    async wake(target: WakeTarget): Promise<void> {
      const record = await recorded(target.deployName);
      const start = record.start;
      if (!start) throw new Error(`the local instance of ${target.deployName} was deployed without its start settings; run \`modelfleet deploy --model ${target.deployName}\` once more`);
      const docker = start.runtime.kind === 'docker' ? await options.docker() : undefined;
      if (start.runtime.kind === 'docker' && !docker) throw new Error(`no Docker engine answers, so the container of ${target.deployName} cannot start`);
      const timeoutMs = Math.max(0, target.deadline - performance.now());
      if (await isInstanceAlive(record, docker)) {
        // Started by someone else meanwhile (a deploy): wait for it like for our own.
        const ready = await waitForReady({ baseUrl: target.upstream, readyPath: target.readyPath }, { timeoutMs, intervalMs: POLL_MS });
        if (ready.ready) return;
      }
      const running = (docker && (await restartStoppedContainer(docker, record, target.readyPath)))
        ?? (await startInstance({ deployName: target.deployName, runtime: start.runtime, docker, env: start.env }, record.port, options.root));
      const ready = await waitForReady(running, { timeoutMs, intervalMs: POLL_MS });
      if (!ready.ready) {
        const reason = ready.ended ? `the ${start.runtime.kind === 'docker' ? 'container' : 'process'} ${describeEnd(ready.ended, running.memoryCapBytes)}` : `not ready: ${ready.lastProblem}`;
        const logs = (await running.logs(LOG_LINES).catch(() => '')).trim();
        await running.stop(SLEEP_GRACE_SECONDS).catch(() => undefined);
        throw new Error(logs === '' ? reason : `${reason}; last log lines: ${logs.split('\n').slice(-3).join(' | ')}`);
      }
      // The same container started again: its record holds already.
      if (running.record.containerId !== undefined && running.record.containerId === record.containerId) return;
      // Recorded while the held requests already go out: the next sleep, idleSeconds later, reads it.
      void updateLocalState((state) => {
        const current = state.models[target.deployName];
        // A deploy that replaced the instance meanwhile wins; only our own record is refreshed.
        if (!current || current.hash !== record.hash) return state;
        return withModel(state, { ...current, ...running.record, deployName: current.deployName });
      }, options.root).catch(() => undefined);
    },

    async sleep(target: WakeTarget): Promise<void> {
      const record = await recorded(target.deployName);
      // A deploy moved the model meanwhile: the instance the gateway saw idle is gone already.
      if (instanceUrl(record) !== target.upstream) return;
      const docker = record.runtime === 'docker' ? await options.docker() : undefined;
      // A container is stopped, not removed: starting it again skips creating it (its memory goes
      // with its processes either way). A process simply ends.
      if (docker && record.containerId) await docker.container(record.containerId).stop(SLEEP_GRACE_SECONDS);
      else await stopInstance(record, docker, SLEEP_GRACE_SECONDS);
    },
  };
}
