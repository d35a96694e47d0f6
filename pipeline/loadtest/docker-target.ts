import { randomBytes } from 'node:crypto';
import type { ContainerHandle, DockerSeam } from '../seams/docker.js';
import { formatMemoryQuantity } from '../sizing/sizing-policy.js';
import { findFreePort } from './free-port.js';
import type { ServerTarget, TargetLauncher, TargetSample } from './server-target.js';

/** Label on every load-test container, so a job (or a test) can remove what it started. */
export const LOADTEST_LABEL = 'modelfleet.loadtest';

export interface DockerLauncherOptions {
  readonly docker: DockerSeam;
  readonly image: string;
  readonly deployName: string;
  /** Environment of the server (batching, MODEL_NAME); HOST and PORT are added for modelfleet images. */
  readonly env: Readonly<Record<string, string>>;
  /** Bring-your-own images listen on their own fixed port; modelfleet images on a free one. */
  readonly fixedPort?: number;
  readonly predictPath: string;
  readonly readyPath: string;
  /** Extra labels (tests use them to clean up). */
  readonly labels?: Readonly<Record<string, string>>;
}

/**
 * Docker mode: runs the model's image with host networking on 127.0.0.1, a read-only root
 * filesystem and a /tmp tmpfs (as the pod will run it), optionally under a memory cap, and
 * samples it through the Docker stats stream.
 */
export function createDockerLauncher(options: DockerLauncherOptions): TargetLauncher {
  return {
    mode: 'docker',
    image: options.image,
    async start(run) {
      const port = options.fixedPort ?? (await findFreePort());
      const env: Record<string, string> = { ...options.env, ORT_DISABLE_TELEMETRY: '1' };
      if (options.fixedPort === undefined) Object.assign(env, { HOST: '127.0.0.1', PORT: String(port) });
      const name = `modelfleet-loadtest-${options.deployName}-${run.label}-${randomBytes(3).toString('hex')}`.slice(0, 120);
      const container = await options.docker.runContainer({
        image: options.image,
        name,
        env,
        labels: { [LOADTEST_LABEL]: options.deployName, ...options.labels },
        readOnlyRootFs: true,
        tmpfs: { '/tmp': 'rw,size=64m' },
        ...(run.memoryCapBytes !== undefined ? { memoryBytes: run.memoryCapBytes } : {}),
      });
      const cap = run.memoryCapBytes !== undefined ? `, memory cap ${formatMemoryQuantity(run.memoryCapBytes)}` : '';
      return containerTarget(container, port, options, `container ${container.id.slice(0, 12)} (${options.image}${cap})`, run.memoryCapBytes);
    },
  };
}

function containerTarget(
  container: ContainerHandle,
  port: number,
  options: DockerLauncherOptions,
  description: string,
  memoryCapBytes: number | undefined,
): ServerTarget {
  let removed = false;
  let lastLogs = '';
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    predictPath: options.predictPath,
    readyPath: options.readyPath,
    kind: 'container',
    description,
    memoryCapBytes,
    memoryMetric: 'working set (usage - inactive_file)',
    /** Docker streams one sample a second; `intervalMs` does not change that. */
    async *samples(signal): AsyncIterable<TargetSample> {
      for await (const sample of container.stats(signal)) {
        yield { atMs: sample.atMs, workingSetBytes: sample.workingSetBytes, cpuCores: sample.cpuPercent / 100 };
      }
    },
    async state() {
      const state = await container.inspect();
      return {
        running: state.running,
        oomKilled: state.oomKilled,
        exitCode: state.running ? undefined : state.exitCode,
        restartCount: state.restartCount,
      };
    },
    async logs(tail = 100) {
      if (removed) return lastLogs.split('\n').slice(-tail).join('\n');
      return container.logs(tail);
    },
    async stop() {
      if (removed) return;
      lastLogs = await container.logs(200).catch(() => '');
      await container.stop(10);
      await container.remove();
      removed = true;
    },
  };
}
