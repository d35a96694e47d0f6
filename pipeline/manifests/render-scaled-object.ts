import { dump } from 'js-yaml';
import type { ScaleToZeroSettings } from '../../generator/fleet/types.js';
import { validateScaledObject } from './validate-scaled-object.js';
import { GATEWAY_NAME } from '../deploy/gateway/render-gateway-manifests.js';
import type { ManifestValues, RenderedManifest } from './render-model-manifests.js';
import { renderK8sTemplate } from './render-k8s-template.js';

/** Where the ScaledObject sits among the model's manifests (in place of horizontal-pod-autoscaler.yaml). */
export const SCALED_OBJECT_FILE = 'scaled-object.yaml';
/** Demand (held + in-flight requests) one replica takes before KEDA adds another; the CPU trigger usually acts first. */
const DEMAND_PER_REPLICA = 10;

/** The path on the gateway that reports one variant's demand as JSON (`{"demand": n, ...}`). */
export function demandPath(deployName: string): string {
  return `/-/demand/${deployName}`;
}

/**
 * The KEDA ScaledObject of a model that scales to zero: a metrics-api trigger on the gateway's
 * demand for it (wakes it from zero, lets it go after idleSeconds) and a CPU trigger (scales out
 * as the HPA would have). Validated against KEDA's CRD schema (@kubernetes-models/keda).
 */
export function renderScaledObject(values: ManifestValues, settings: ScaleToZeroSettings, namespace: string): RenderedManifest {
  const object = renderK8sTemplate('model', 'scaled-object.yaml.hbs', {
    ...values,
    idleSeconds: settings.idleSeconds,
    demandUrl: `http://${GATEWAY_NAME}.${namespace}.svc${demandPath(values.name)}`,
    demandPerReplica: String(DEMAND_PER_REPLICA),
    targetCpuUtilization: String(values.targetCpuUtilization),
  });
  validateScaledObject(object, `model ${JSON.stringify(values.name)} ${SCALED_OBJECT_FILE}`);
  return { file: SCALED_OBJECT_FILE, kind: 'ScaledObject', object, yaml: dump(object, { noRefs: true, lineWidth: -1, sortKeys: false }) };
}
