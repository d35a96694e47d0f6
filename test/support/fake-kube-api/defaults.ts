import type { JsonObject } from './json.js';
import type { ResourceType } from './resource-types.js';

/** The defaults kube-apiserver fills in before validation, for the kinds whose defaults deploys read back. */
export function applyDefaults(type: ResourceType, object: JsonObject): void {
  if (type.kind === 'Deployment') {
    const spec = (object.spec as JsonObject | undefined) ?? {};
    object.spec = spec;
    spec.replicas ??= 1;
    spec.revisionHistoryLimit ??= 10;
    spec.progressDeadlineSeconds ??= 600;
    spec.strategy ??= { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' } };
  }
  if (type.kind === 'Service') {
    const spec = (object.spec as JsonObject | undefined) ?? {};
    object.spec = spec;
    spec.type ??= 'ClusterIP';
  }
}
