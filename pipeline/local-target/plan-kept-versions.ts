import type { InstanceRecord } from '../instance-runtime/server-instance.js';
import type { LocalModelInstance } from './local-state.js';

export interface KeptVersionsPlan {
  /** Earlier versions that keep running, newest first. */
  readonly kept: readonly LocalModelInstance[];
  /** Instances to stop once the gateway no longer routes to them. */
  readonly stop: readonly LocalModelInstance[];
}

/**
 * Which earlier instances of a deployable keep running once `current` serves its route
 * (models.yaml `keepVersions:`): the replaced instance first, then the ones kept before, at most
 * `keepVersions` of them, one per version and none of the version `current` serves. An instance
 * whose version is unknown cannot be addressed by version, so it stops.
 */
export function planKeptVersions(current: LocalModelInstance, replaced: LocalModelInstance | undefined, keptBefore: readonly LocalModelInstance[], keepVersions: number): KeptVersionsPlan {
  const kept: LocalModelInstance[] = [];
  const stop: LocalModelInstance[] = [];
  const versions = new Set<string>(current.version === undefined ? [] : [current.version]);
  for (const candidate of [...(replaced ? [replaced] : []), ...keptBefore]) {
    if (isSameInstance(candidate, current)) continue;
    const version = candidate.version;
    if (version === undefined || versions.has(version) || kept.length >= keepVersions) stop.push(candidate);
    else {
      versions.add(version);
      kept.push(candidate);
    }
  }
  return { kept, stop };
}

/** One running server: the same port and the same container or process. */
export function isSameInstance(a: InstanceRecord, b: InstanceRecord): boolean {
  return a.port === b.port && a.containerId === b.containerId && a.pid === b.pid;
}
