import type { ContainerHandle, DockerSeam } from '../seams/docker.js';
import { formatMemoryQuantity } from '../sizing/sizing-policy.js';
import { resolveContainerHosts, type ContainerHosts } from './resolve-container-hosts.js';
import { commonInstanceFields, DEFAULT_STOP_GRACE_SECONDS, type InstanceRecord, type InstanceState, type ServerInstance } from './server-instance.js';

export interface ContainerInstanceSpec {
  readonly image: string;
  /** A container of the same name is replaced. */
  readonly name: string;
  /** The port the server listens on (host networking: on the engine's host). */
  readonly port: number;
  /**
   * modelfleet images read HOST and PORT from the environment; an image that brings its own
   * server (`image:` in models.yaml) listens where it was built to, so it gets neither.
   */
  readonly listensOnOwnAddress?: boolean;
  readonly env: Readonly<Record<string, string>>;
  readonly labels: Readonly<Record<string, string>>;
  /** Hard cap (Memory = MemorySwap): the engine OOM-kills the container above it. */
  readonly memoryCapBytes?: number;
  readonly readyPath?: string;
  /** Default: derived from DOCKER_HOST and MODELFLEET_CONTAINER_HOST (resolveContainerHosts). */
  readonly hosts?: ContainerHosts;
}

/**
 * Runs a server image as the pod will run it: host networking, a read-only root filesystem, a
 * /tmp tmpfs, optionally under a memory cap. The container stays until `stop()`.
 */
export async function startContainerInstance(docker: DockerSeam, spec: ContainerInstanceSpec): Promise<ServerInstance> {
  const hosts = spec.hosts ?? resolveContainerHosts(process.env);
  const listen: Record<string, string> = spec.listensOnOwnAddress ? {} : { HOST: hosts.bindHost, PORT: String(spec.port) };
  const handle = await docker.runContainer({
    image: spec.image,
    name: spec.name,
    env: { ...spec.env, ...listen, ORT_DISABLE_TELEMETRY: '1' },
    labels: spec.labels,
    readOnlyRootFs: true,
    tmpfs: { '/tmp': 'rw,size=64m' },
    ...(spec.memoryCapBytes !== undefined ? { memoryBytes: spec.memoryCapBytes } : {}),
  });
  const record: InstanceRecord = { runtime: 'docker', host: hosts.connectHost, port: spec.port, containerId: handle.id, containerName: spec.name, startedAt: new Date().toISOString() };
  return containerInstance(handle, record, { image: spec.image, memoryCapBytes: spec.memoryCapBytes, readyPath: spec.readyPath });
}

/** A container as a server instance, whether started just now or found again from its record. */
export function containerInstance(
  handle: ContainerHandle,
  record: InstanceRecord,
  details: { readonly image?: string; readonly memoryCapBytes?: number | undefined; readonly readyPath?: string | undefined } = {},
): ServerInstance {
  let removed = false;
  let lastLogs = '';
  const cap = details.memoryCapBytes !== undefined ? `, memory cap ${formatMemoryQuantity(details.memoryCapBytes)}` : '';
  return {
    ...commonInstanceFields(record, details),
    description: `container ${handle.id.slice(0, 12)}${details.image !== undefined ? ` (${details.image}${cap})` : ''}`,
    memoryMetric: 'working set (usage - inactive_file)',
    /** The engine streams one sample a second; `intervalMs` does not change that. */
    async *samples(signal) {
      for await (const sample of handle.stats(signal)) {
        yield { atMs: sample.atMs, workingSetBytes: sample.workingSetBytes, cpuCores: sample.cpuPercent / 100 };
      }
    },
    async state(): Promise<InstanceState> {
      // A container removed behind our back (or by stop()) is gone, with no exit code to tell.
      const state = await handle.inspect().catch(() => undefined);
      if (!state) return { running: false, oomKilled: false, exitCode: undefined, restartCount: 0 };
      return { running: state.running, oomKilled: state.oomKilled, exitCode: state.running ? undefined : state.exitCode, restartCount: state.restartCount };
    },
    async logs(tail = 100) {
      if (removed) return lastLogs.split('\n').slice(-tail).join('\n');
      return handle.logs(tail).catch(() => '');
    },
    async stop(graceSeconds = DEFAULT_STOP_GRACE_SECONDS) {
      if (removed) return;
      // Kept for failure messages: the engine forgets a removed container's output.
      lastLogs = await handle.logs(200).catch(() => '');
      await handle.stop(graceSeconds);
      await handle.remove();
      removed = true;
    },
  };
}
