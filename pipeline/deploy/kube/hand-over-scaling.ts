import { KubeApiError, type KubeClient, type KubeObject } from '../../seams/kube.js';
import { DEPLOYABLE_LABEL } from './deploy-labels.js';

const HPA = { apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler' } as const;
const SCALED_OBJECT = { apiVersion: 'keda.sh/v1alpha1', kind: 'ScaledObject' } as const;

/**
 * Runs before a deployable's manifests are applied: when they scale the Deployment with a KEDA
 * ScaledObject (scale to zero), its own HorizontalPodAutoscaler goes first, and when they bring an
 * HPA back, its ScaledObject goes first. Two autoscalers on one Deployment fight over `replicas`,
 * and KEDA's admission webhook refuses a ScaledObject for a Deployment an HPA already scales
 * (https://keda.sh/docs/latest/concepts/scaling-deployments/). The ScaledObject direction is only
 * looked at where the deploy manages ScaledObjects (`managesScaledObjects`), so a fleet without
 * them needs no permission on keda.sh and no KEDA in the cluster.
 */
export async function handOverScaling(
  kube: KubeClient,
  namespace: string,
  deployName: string,
  objects: readonly KubeObject[],
  managesScaledObjects: boolean,
  report: (line: string) => void,
): Promise<void> {
  await removeAutoscalers(kube, namespace, deployName, await findOutgoingAutoscalers(kube, namespace, deployName, objects, managesScaledObjects), report);
}

/** The deployable's live autoscalers of the other kind than the one `objects` bring (see handOverScaling). */
export async function findOutgoingAutoscalers(
  kube: KubeClient,
  namespace: string,
  deployName: string,
  objects: readonly KubeObject[],
  managesScaledObjects: boolean,
): Promise<KubeObject[]> {
  const kinds = new Set(objects.map((o) => o.kind));
  const outgoing = kinds.has(SCALED_OBJECT.kind) ? HPA : kinds.has(HPA.kind) && managesScaledObjects ? SCALED_OBJECT : undefined;
  if (outgoing === undefined) return [];
  try {
    return await kube.list(outgoing.apiVersion, outgoing.kind, namespace, { labelSelector: `${DEPLOYABLE_LABEL}=${deployName}` });
  } catch (err) {
    // No KEDA in the cluster: there is no ScaledObject to hand over from.
    if (err instanceof KubeApiError && err.status === 404 && outgoing === SCALED_OBJECT) return [];
    throw err;
  }
}

export async function removeAutoscalers(kube: KubeClient, namespace: string, deployName: string, outgoing: readonly KubeObject[], report: (line: string) => void): Promise<void> {
  for (const object of outgoing) {
    await kube.remove({ apiVersion: object.apiVersion, kind: object.kind, name: object.metadata.name, namespace });
    report(`${deployName}: deleted ${object.kind} ${namespace}/${object.metadata.name} before applying, so one autoscaler owns the Deployment's replicas`);
  }
}
