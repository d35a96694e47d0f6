import type { JsonObject } from './json.js';
import type { ObjectStore } from './object-store.js';
import type { ResourceType } from './resource-types.js';

/**
 * KEDA's validating admission webhook (vscaledobject.keda.sh), for the one rule a deploy can
 * trip: a ScaledObject may not target a workload that a HorizontalPodAutoscaler of someone else
 * already scales (https://keda.sh/docs/latest/concepts/scaling-deployments/#caveats). KEDA's own
 * HPA is named `keda-hpa-<scaledobject>`; every other one counts. Returns the denial message.
 */
export function kedaAdmission(type: ResourceType, object: JsonObject, store: ObjectStore): string | undefined {
  if (type.kind !== 'ScaledObject') return undefined;
  const meta = object.metadata as JsonObject;
  const target = ((object.spec as JsonObject | undefined)?.scaleTargetRef as JsonObject | undefined) ?? {};
  const targetKind = String(target.kind ?? 'Deployment');
  const targetName = String(target.name ?? '');
  for (const hpa of store.list('HorizontalPodAutoscaler', String(meta.namespace))) {
    const hpaName = String((hpa.metadata as JsonObject).name);
    if (hpaName === `keda-hpa-${String(meta.name)}`) continue;
    const ref = ((hpa.spec as JsonObject | undefined)?.scaleTargetRef as JsonObject | undefined) ?? {};
    if (String(ref.kind) === targetKind && String(ref.name) === targetName) {
      return `admission webhook "vscaledobject.keda.sh" denied the request: the workload '${targetName}' of type 'apps/v1.${targetKind}' is already managed by the hpa '${hpaName}'`;
    }
  }
  return undefined;
}
