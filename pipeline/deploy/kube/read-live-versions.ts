import type { KubeClient, KubeObject } from '../../seams/kube.js';
import { DEPLOYABLE_LABEL } from './deploy-labels.js';
import { MODEL_VERSION_ANNOTATION, readServingSlots, slotObjectName, SLOT_LABEL } from './version-slots.js';

/** One deployable's model-server Deployments in a namespace: the one its Service sends traffic to, and the kept versions. */
export interface LiveVersions {
  /** The Deployment whose pods the deployable's Service selects (or, updated in place, the one named after the deployable). */
  readonly serving: KubeObject | undefined;
  /** Earlier versions still running, most recently serving first. */
  readonly kept: readonly KubeObject[];
}

/** Reads them from the deployable's Service and its Deployments. */
export async function readLiveVersions(kube: KubeClient, namespace: string, deployName: string): Promise<LiveVersions> {
  const [service, deployments] = await Promise.all([
    kube.get({ apiVersion: 'v1', kind: 'Service', name: deployName, namespace }),
    kube.list('apps/v1', 'Deployment', namespace, { labelSelector: `${DEPLOYABLE_LABEL}=${deployName}` }),
  ]);
  return liveVersionsOf(deployName, service, deployments);
}

/** Pure: the same from objects already read (the gateway deploy reads a whole namespace at once). */
export function liveVersionsOf(deployName: string, service: KubeObject | undefined, deployments: readonly KubeObject[]): LiveVersions {
  const slots = readServingSlots(service);
  const servingName = slots.serving !== undefined ? slotObjectName(deployName, slots.serving) : deployName;
  const serving = deployments.find((d) => d.metadata.name === servingName);
  const rank = (d: KubeObject) => {
    const at = slots.kept.indexOf(d.metadata.labels?.[SLOT_LABEL] ?? '');
    return at === -1 ? slots.kept.length : at;
  };
  const kept = deployments
    .filter((d) => d !== serving && d.metadata.labels?.[SLOT_LABEL] !== undefined)
    .sort((a, b) => rank(a) - rank(b) || a.metadata.name.localeCompare(b.metadata.name));
  return { serving, kept };
}

/** The model version a Deployment serves, when it was deployed as a version unit. */
export function modelVersionOf(deployment: KubeObject): string | undefined {
  return deployment.metadata.annotations?.[MODEL_VERSION_ANNOTATION];
}
