import type { DockerSeam } from '../seams/docker.js';
import { containerInstance } from './container-instance.js';
import { attachProcessInstance } from './process-instance.js';
import { DEFAULT_STOP_GRACE_SECONDS, type InstanceRecord, type ServerInstance } from './server-instance.js';

/**
 * The instance a record names, found again by a later command (`deploy`, `down`). Undefined for
 * a container when no Docker engine answers: nothing can be asked of it then.
 */
export function attachInstance(record: InstanceRecord, docker: DockerSeam | undefined): ServerInstance | undefined {
  if (record.runtime === 'process') return attachProcessInstance(record);
  if (!docker || !record.containerId) return undefined;
  return containerInstance(docker.container(record.containerId), record);
}

/** Whether a recorded instance still runs (a container that is up, a process that is still ours). */
export async function isInstanceAlive(record: InstanceRecord, docker: DockerSeam | undefined): Promise<boolean> {
  const instance = attachInstance(record, docker);
  return instance !== undefined && (await instance.state()).running;
}

/** Stops (and for a container removes) a recorded instance; see ServerInstance.stop. */
export async function stopInstance(record: InstanceRecord, docker: DockerSeam | undefined, graceSeconds = DEFAULT_STOP_GRACE_SECONDS): Promise<void> {
  await attachInstance(record, docker)?.stop(graceSeconds);
}
