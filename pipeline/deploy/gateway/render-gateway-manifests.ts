import { createHash } from 'node:crypto';
import { renderK8sTemplate } from '../../manifests/render-k8s-template.js';
import { validateManifest } from '../../manifests/validate-manifest.js';
import type { KubeObject } from '../../seams/kube.js';

export const GATEWAY_NAME = 'modelfleet-gateway';
const TEMPLATES = ['configmap.yaml.hbs', 'service.yaml.hbs', 'deployment.yaml.hbs', 'pod-disruption-budget.yaml.hbs'] as const;

export interface GatewayManifestOptions {
  readonly namespace: string;
  readonly image: string;
  /** routes.json text (formatRouteTable output). */
  readonly routesJson: string;
  readonly replicas?: number;
  /** Secrets the kubelet pulls the gateway image with (models.yaml `kubernetes.imagePullSecrets`); none by default. */
  readonly imagePullSecrets?: readonly string[];
}

/** The gateway's ConfigMap (route table), Service, Deployment and PodDisruptionBudget, from k8s-templates/gateway/. Pure apart from reading the templates. */
export function renderGatewayManifests(options: GatewayManifestOptions): KubeObject[] {
  const selectorLabels = { 'app.kubernetes.io/name': GATEWAY_NAME, 'app.kubernetes.io/instance': GATEWAY_NAME };
  const values = {
    name: GATEWAY_NAME,
    configMapName: `${GATEWAY_NAME}-routes`,
    namespace: options.namespace,
    image: options.image,
    replicas: options.replicas ?? 2,
    routesJson: options.routesJson,
    routesHash: createHash('sha256').update(options.routesJson).digest('hex').slice(0, 16),
    selectorLabels,
    imagePullSecrets: (options.imagePullSecrets ?? []).map((name) => ({ name })),
    labels: { ...selectorLabels, 'app.kubernetes.io/component': 'gateway', 'app.kubernetes.io/part-of': 'modelfleet', 'app.kubernetes.io/managed-by': 'modelfleet' },
  };
  return TEMPLATES.map((file) => {
    const object = renderK8sTemplate('gateway', file, values);
    validateManifest(object, `gateway ${file.replace(/\.hbs$/, '')}`);
    return object as KubeObject;
  });
}
