import { dump } from 'js-yaml';
import type { Deployable } from '../../generator/fleet/types.js';
import { toLabelValue } from '../../lib/names.js';
import { CONFIG_DEFAULTS } from '../../serving/model-server/server-config.js';
import type { Sizing } from '../sizing/sizing-policy.js';
import { renderK8sTemplate } from './render-k8s-template.js';
import { renderScaledObject } from './render-scaled-object.js';
import { validateManifest } from './validate-manifest.js';

/** The manifests every model gets, in the order they are written and applied. */
export const MANIFEST_TEMPLATES = [
  { file: 'deployment.yaml', template: 'deployment.yaml.hbs' },
  { file: 'service.yaml', template: 'service.yaml.hbs' },
  { file: 'horizontal-pod-autoscaler.yaml', template: 'horizontal-pod-autoscaler.yaml.hbs' },
  { file: 'pod-disruption-budget.yaml', template: 'pod-disruption-budget.yaml.hbs' },
] as const;

/** Port the modelfleet model server listens on inside a pod (HOST=0.0.0.0 PORT=8080). */
export const MODEL_SERVER_PORT = 8080;
export const SERVICE_PORT = 80;
/** Non-root user the pods run as (the restricted standard needs a numeric, non-zero UID to verify). */
export const RUN_AS_USER = 10001;

export interface ManifestOptions {
  readonly namespace: string;
  /** Full image reference, e.g. `modelfleet/match-logreg-v1:0123456789ab`. */
  readonly image: string;
  /** Secrets the kubelet pulls the image with (models.yaml `kubernetes.imagePullSecrets`); none by default. */
  readonly imagePullSecrets?: readonly string[];
}

/** A container variable: a plain value the server needs, or one key of a Secret (the value stays in the cluster). */
export type ContainerEnvVar =
  | { readonly name: string; readonly value: string }
  | { readonly name: string; readonly valueFrom: { readonly secretKeyRef: { readonly name: string; readonly key: string } } };

export interface RenderedManifest {
  /** File name under build/models/<name>/k8s/. */
  readonly file: string;
  readonly kind: string;
  readonly object: Readonly<Record<string, unknown>>;
  /** Canonical YAML (js-yaml dump of the parsed object): byte-identical for the same input. */
  readonly yaml: string;
}

export interface ManifestValues {
  readonly name: string;
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly selectorLabels: Readonly<Record<string, string>>;
  readonly image: string;
  readonly port: number;
  readonly servicePort: number;
  readonly readinessPath: string;
  readonly livenessPath: string;
  readonly env: readonly ContainerEnvVar[];
  /** `envFrom` entries: whole Secrets as variables; the template leaves the key out when empty. */
  readonly envFrom: readonly { readonly secretRef: { readonly name: string } }[];
  /** `imagePullSecrets` entries; the template leaves the key out when empty. */
  readonly imagePullSecrets: readonly { readonly name: string }[];
  readonly cpuRequest: string;
  readonly memoryRequest: string;
  readonly memoryLimit: string;
  readonly nodeSelector: Readonly<Record<string, string>>;
  readonly tolerations: readonly unknown[];
  readonly runAsUser: number;
  readonly minReplicas: number;
  readonly maxReplicas: number;
  readonly targetCpuUtilization: number;
  readonly progressDeadlineSeconds: number;
}

/** The tag part of an image reference (`repo/name:tag@sha256:...` → `tag`), or `latest`. */
export function imageVersion(image: string): string {
  const withoutDigest = image.split('@')[0] ?? image;
  const lastSlash = withoutDigest.lastIndexOf('/');
  const colon = withoutDigest.lastIndexOf(':');
  return colon > lastSlash ? withoutDigest.slice(colon + 1) : 'latest';
}

/** Environment of the modelfleet model server in a pod (names fixed by the server's contract). */
export function modelServerEnv(deployable: Deployable): { name: string; value: string }[] {
  return [
    { name: 'HOST', value: '0.0.0.0' },
    { name: 'PORT', value: String(MODEL_SERVER_PORT) },
    { name: 'MODEL_NAME', value: deployable.variant.deployName },
    ...batchingEnv(deployable),
    { name: 'LOG_LEVEL', value: 'info' },
    { name: 'ORT_DISABLE_TELEMETRY', value: '1' },
  ];
}

/**
 * BATCHING_ENABLED, MAX_BATCH_SIZE, MAX_BATCH_WAIT_MS from the model's `batching:` block, and
 * MAX_ROWS_PER_REQUEST when the model's load test sends more rows than the server's default.
 * The load test starts the server with exactly this environment, so it measures what is deployed.
 */
export function batchingEnv(deployable: Deployable): { name: string; value: string }[] {
  const { batching, loadtest } = deployable.model;
  return [
    { name: 'BATCHING_ENABLED', value: String(batching.enabled) },
    { name: 'MAX_BATCH_SIZE', value: String(batching.maxBatchSize) },
    { name: 'MAX_BATCH_WAIT_MS', value: String(batching.maxLatencyMs) },
    ...(loadtest.rowsPerRequest > CONFIG_DEFAULTS.MAX_ROWS_PER_REQUEST
      ? [{ name: 'MAX_ROWS_PER_REQUEST', value: String(loadtest.rowsPerRequest) }]
      : []),
  ];
}

/** The most rows one request may carry on the deployed server. */
export function maxRowsPerRequest(deployable: Deployable): number {
  return Math.max(CONFIG_DEFAULTS.MAX_ROWS_PER_REQUEST, deployable.model.loadtest.rowsPerRequest);
}

/** Everything the templates need, computed from the deployable and its sizing. Pure. */
export function buildManifestValues(deployable: Deployable, sizing: Pick<Sizing, 'resources'>, options: ManifestOptions): ManifestValues {
  const { model, variant } = deployable;
  const source = variant.source;
  const selectorLabels = {
    'app.kubernetes.io/name': toLabelValue(variant.deployName),
    'app.kubernetes.io/instance': toLabelValue(variant.deployName),
  };
  // Recommended labels: https://kubernetes.io/docs/concepts/overview/working-with-objects/common-labels/
  const labels = {
    ...selectorLabels,
    'app.kubernetes.io/version': toLabelValue(imageVersion(options.image)) || 'latest',
    'app.kubernetes.io/component': 'model-server',
    'app.kubernetes.io/part-of': 'modelfleet',
    'app.kubernetes.io/managed-by': 'modelfleet',
    'modelfleet.io/model': toLabelValue(model.name),
    'modelfleet.io/variant': toLabelValue(variant.id),
  };
  const ownImage = source.kind !== 'image';
  return {
    name: variant.deployName,
    namespace: options.namespace,
    labels,
    selectorLabels,
    image: options.image,
    port: ownImage ? MODEL_SERVER_PORT : source.port,
    servicePort: SERVICE_PORT,
    readinessPath: ownImage ? '/readyz' : source.readyPath,
    // A bring-your-own server promises only its ready path; it doubles as the liveness path.
    livenessPath: ownImage ? '/healthz' : source.readyPath,
    // Secret variables come after the server's own (models.yaml cannot name those), and
    // `env` wins over `envFrom` in Kubernetes, so a whole Secret cannot override them either.
    env: [...(ownImage ? modelServerEnv(deployable) : []), ...secretEnvVars(deployable)],
    envFrom: model.envFromSecrets.map((name) => ({ secretRef: { name } })),
    imagePullSecrets: (options.imagePullSecrets ?? []).map((name) => ({ name })),
    cpuRequest: sizing.resources.requests.cpu,
    memoryRequest: sizing.resources.requests.memory,
    memoryLimit: sizing.resources.limits.memory,
    nodeSelector: model.scheduling.nodeSelector,
    tolerations: model.scheduling.tolerations,
    runAsUser: RUN_AS_USER,
    minReplicas: model.scaling.minReplicas,
    maxReplicas: model.scaling.maxReplicas,
    targetCpuUtilization: model.scaling.targetCpuUtilization,
    progressDeadlineSeconds: 300,
  };
}

/**
 * The model's `secretEnv` as container variables that name a Secret and a key
 * (https://kubernetes.io/docs/concepts/configuration/secret/#using-a-secret-as-environment-variables).
 * No value is ever read or written here: the kubelet fills them in inside the pod.
 */
export function secretEnvVars(deployable: Deployable): ContainerEnvVar[] {
  return deployable.model.secretEnv.map(({ name, secret, key }) => ({ name, valueFrom: { secretKeyRef: { name: secret, key } } }));
}

/** Canonical YAML: one fixed dump style so the same object always gives the same bytes. */
export function dumpManifest(object: unknown): string {
  return dump(object, { noRefs: true, lineWidth: -1, sortKeys: false });
}

/**
 * The model's Kubernetes manifests (Deployment, Service, HorizontalPodAutoscaler,
 * PodDisruptionBudget), rendered from k8s-templates/model/, parsed back, validated against the
 * official API schemas and dumped canonically. Same input, same bytes; throws a
 * MANIFEST_INVALID UserError when a manifest does not pass its schema.
 */
export function renderModelManifests(deployable: Deployable, sizing: Pick<Sizing, 'resources'>, options: ManifestOptions): RenderedManifest[] {
  const values = buildManifestValues(deployable, sizing, options);
  const scaleToZero = deployable.model.scaleToZero;
  const rendered = MANIFEST_TEMPLATES.map(({ file, template }) => {
    // A model that scales to zero gets KEDA's ScaledObject in place of the HPA (render-scaled-object.ts).
    if (scaleToZero !== undefined && template === 'horizontal-pod-autoscaler.yaml.hbs') return renderScaledObject(values, scaleToZero, options.namespace);
    const object = renderK8sTemplate('model', template, values);
    validateManifest(object, `model ${JSON.stringify(deployable.variant.deployName)} ${file}`);
    return { file, kind: String(object.kind), object, yaml: dumpManifest(object) };
  });
  return rendered;
}

/** All manifests as one multi-document YAML stream (what `kubectl apply -f` takes). */
export function joinManifests(manifests: readonly RenderedManifest[]): string {
  return manifests.map((m) => `---\n${m.yaml}`).join('');
}
