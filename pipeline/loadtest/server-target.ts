import type { ServerInstance } from '../instance-runtime/server-instance.js';

/**
 * A model server under load: a server instance (pipeline/instance-runtime: a Docker container or
 * a local process) plus the path the load is sent to.
 */
export interface ServerTarget extends ServerInstance {
  /** Where predictions are asked for: `/invocations`, or a bring-your-own image's path. */
  readonly predictPath: string;
}

/** How to start a server for one run (the first measurement, then the capped limit proof). */
export interface TargetLauncher {
  readonly mode: 'docker' | 'process';
  /** The image the manifests will name. */
  readonly image: string;
  /** `memoryCapBytes` caps the container (cgroup), or arms the process's RSS watchdog. */
  start(run: { readonly label: string; readonly memoryCapBytes?: number }): Promise<ServerTarget>;
}
