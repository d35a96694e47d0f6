import { shortHash, toDnsLabel } from '../../../lib/names.js';
import { WORKER_SUFFIX } from '../../bulk/render-bulk-manifests.js';
import type { KubeObject } from '../../seams/kube.js';
import { STREAM_SUFFIX } from '../../stream/render-stream-manifests.js';

/**
 * Versions side by side on Kubernetes (models.yaml `keepVersions:`).
 *
 * Each model version runs as its own unit: a Deployment, autoscaler, disruption budget and Service
 * named `<deployable>-<slot>`, whose pods carry the slot label. The deployable's own Service
 * (`<deployable>`, the one the gateway routes to) selects one slot's pods: that version serves.
 * A new version's unit starts beside the serving one and the Service moves to it only once it is
 * ready; the replaced unit stays as a kept version, still running, so going back to it moves the
 * Service's selector and starts nothing: a Service's endpoints are the ready pods its selector
 * matches (https://kubernetes.io/docs/concepts/services-networking/service/#defining-a-service), so a
 * new selector re-points it without touching a pod.
 *
 * A rolling update inside one slot still happens when the same version is deployed with other
 * settings (new limits, a new server image): that is one unit changing, not a version switch.
 */

/** What a model deploy needs to run its version beside the others. */
export interface VersionedDeploy {
  readonly version: string;
  /** Earlier versions that keep running beside it (models.yaml `keepVersions:`). */
  readonly keepVersions: number;
}

/**
 * A model of known version runs as a version unit. One that scales to zero is updated in place: its
 * autoscaler wakes it by the deployable's demand, which a kept unit would answer as well, and a
 * sleeping model starts a pod for any request anyway.
 */
export function versionedDeployOf(version: string | undefined, model: { readonly keepVersions: number; readonly scaleToZero?: unknown }): VersionedDeploy | undefined {
  if (version === undefined || model.scaleToZero !== undefined) return undefined;
  return { version, keepVersions: model.keepVersions };
}

/** Pod, selector and object label naming the version unit an object belongs to. */
export const SLOT_LABEL = 'modelfleet.io/version-slot';
/** The model version a unit's Deployment serves, as the deploy named it (MLflow version or `local-<digest>`). */
export const MODEL_VERSION_ANNOTATION = 'modelfleet.io/model-version';
/** On the deployable's Service: the kept slots, most recently serving first (what keepVersions counts). */
export const KEPT_SLOTS_ANNOTATION = 'modelfleet.io/kept-slots';

/**
 * The label value that names one version's unit: `v4` for MLflow version 4, the version itself when
 * it is a clean label that cannot be mistaken for those or for a worker's suffix, else `h` and a hash of it.
 */
export function slotOf(version: string): string {
  if (/^\d{1,20}$/.test(version)) return `v${version}`;
  const clean = toDnsLabel(version, 40);
  const usable = clean === version && /^[a-z]/.test(clean) && !/^[vh][0-9a-f]*$/.test(clean) && !WORKER_NAMES.has(`-${clean}`);
  return usable ? clean : `h${shortHash(version, 12)}`;
}

/** A bulk or stream worker's Deployment is `<deployable><suffix>`: no version unit may take that name. */
const WORKER_NAMES = new Set([WORKER_SUFFIX, STREAM_SUFFIX]);

/** The name of a version's Deployment, autoscaler, budget and Service. */
export function slotObjectName(deployName: string, slot: string): string {
  return toDnsLabel(`${deployName}-${slot}`);
}

export interface VersionedManifests {
  readonly objects: KubeObject[];
  /** The version's Deployment, whose rollout the deploy waits for before switching. */
  readonly deploymentName: string;
  /** Objects applied only once the version's Deployment is ready: the deployable's Service. */
  readonly switchObjects: readonly KubeObject[];
}

/**
 * Pure: turns one deployable's rendered manifests into its version unit plus the switch. The
 * model server's objects (named exactly `deployName`) are renamed to the slot's name and select
 * the slot's pods; a second Service with the slot's name reaches this version whatever serves; the
 * deployable's Service selects this slot and records the kept slots. Objects of other names (a
 * bulk or stream worker) are left as they are.
 */
export function versionManifests(manifests: readonly KubeObject[], deployName: string, version: string, keptSlots: readonly string[]): VersionedManifests {
  const slot = slotOf(version);
  const unitName = slotObjectName(deployName, slot);
  const objects: KubeObject[] = [];
  const switchObjects: KubeObject[] = [];
  for (const original of manifests) {
    if (original.metadata.name !== deployName) {
      objects.push(original);
      continue;
    }
    const object = structuredClone(original);
    const spec = (object.spec ?? {}) as Record<string, unknown>;
    switch (object.kind) {
      case 'Deployment': {
        inUnit(object, unitName, slot);
        object.metadata.annotations = { ...(object.metadata.annotations ?? {}), [MODEL_VERSION_ANNOTATION]: version };
        const selector = spec.selector as { matchLabels?: Record<string, string> };
        selector.matchLabels = { ...selector.matchLabels, [SLOT_LABEL]: slot };
        const template = spec.template as { metadata?: { labels?: Record<string, string> } };
        template.metadata = { ...template.metadata, labels: { ...template.metadata?.labels, [SLOT_LABEL]: slot } };
        objects.push(object);
        break;
      }
      case 'HorizontalPodAutoscaler':
      case 'ScaledObject':
        inUnit(object, unitName, slot);
        (spec.scaleTargetRef as { name: string }).name = unitName;
        objects.push(object);
        break;
      case 'PodDisruptionBudget': {
        inUnit(object, unitName, slot);
        const selector = spec.selector as { matchLabels?: Record<string, string> };
        selector.matchLabels = { ...selector.matchLabels, [SLOT_LABEL]: slot };
        objects.push(object);
        break;
      }
      case 'Service': {
        const own = structuredClone(object);
        inUnit(own, unitName, slot);
        (own.spec as { selector: Record<string, string> }).selector = { ...(spec.selector as Record<string, string>), [SLOT_LABEL]: slot };
        objects.push(own);
        spec.selector = { ...(spec.selector as Record<string, string>), [SLOT_LABEL]: slot };
        if (keptSlots.length > 0) object.metadata.annotations = { ...(object.metadata.annotations ?? {}), [KEPT_SLOTS_ANNOTATION]: keptSlots.join(',') };
        objects.push(object);
        switchObjects.push(object);
        break;
      }
      default:
        objects.push(object);
    }
  }
  return { objects, deploymentName: unitName, switchObjects };
}

function inUnit(object: KubeObject, name: string, slot: string): void {
  object.metadata.name = name;
  object.metadata.labels = { ...(object.metadata.labels ?? {}), [SLOT_LABEL]: slot };
}

/** What the deployable's Service selects now: a slot, or none (a deployable deployed before versions ran side by side). */
export interface ServingSlots {
  readonly serving: string | undefined;
  /** Kept slots, most recently serving first, as the Service recorded them. */
  readonly kept: readonly string[];
}

export function readServingSlots(service: KubeObject | undefined): ServingSlots {
  const serving = (service?.spec as { selector?: Record<string, string> } | undefined)?.selector?.[SLOT_LABEL];
  const kept = (service?.metadata.annotations?.[KEPT_SLOTS_ANNOTATION] ?? '').split(',').filter((s) => s !== '');
  return { serving, kept };
}

/**
 * Which slots stay beside `next` once it serves: the one it replaces first, then those kept before,
 * at most `keepVersions`, none twice and never `next` itself; only slots whose Deployment exists.
 */
export function planKeptSlots(next: string, now: ServingSlots, live: ReadonlySet<string>, keepVersions: number): string[] {
  const kept: string[] = [];
  for (const slot of [...(now.serving !== undefined ? [now.serving] : []), ...now.kept]) {
    if (kept.length >= keepVersions) break;
    if (slot !== next && !kept.includes(slot) && live.has(slot)) kept.push(slot);
  }
  return kept;
}
