import { randomBytes } from 'node:crypto';
import { findFreePort } from '../../lib/free-port.js';
import { startContainerInstance } from '../instance-runtime/container-instance.js';
import type { DockerSeam } from '../seams/docker.js';
import type { TargetLauncher } from './server-target.js';

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
 * Docker mode: each run is a fresh container of the model's image, as the pod will run it
 * (host networking, read-only root filesystem), under the run's memory cap, sampled through the
 * Docker stats stream.
 */
export function createDockerLauncher(options: DockerLauncherOptions): TargetLauncher {
  return {
    mode: 'docker',
    image: options.image,
    async start(run) {
      // Under Docker-in-Docker the port is taken on the engine's host, not this one; a fresh
      // per-job engine runs nothing else, so a port free here is free there too.
      const port = options.fixedPort ?? (await findFreePort());
      const instance = await startContainerInstance(options.docker, {
        image: options.image,
        name: `modelfleet-loadtest-${options.deployName}-${run.label}-${randomBytes(3).toString('hex')}`.slice(0, 120),
        port,
        listensOnOwnAddress: options.fixedPort !== undefined,
        env: options.env,
        labels: { [LOADTEST_LABEL]: options.deployName, ...options.labels },
        readyPath: options.readyPath,
        ...(run.memoryCapBytes !== undefined ? { memoryCapBytes: run.memoryCapBytes } : {}),
      });
      return { ...instance, predictPath: options.predictPath };
    },
  };
}
