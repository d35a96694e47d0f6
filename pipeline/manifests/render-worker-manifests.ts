import type { Deployable } from '../../generator/fleet/types.js';
import { toLabelValue } from '../../lib/names.js';
import type { Sizing } from '../sizing/sizing-policy.js';
import { renderK8sTemplate } from './render-k8s-template.js';
import {
  buildManifestValues,
  dumpManifest,
  MODEL_SERVER_PORT,
  secretEnvVars,
  type ContainerEnvVar,
  type ManifestOptions,
  type RenderedManifest,
} from './render-model-manifests.js';
import { validateManifest } from './validate-manifest.js';
import { validateScaledObject } from './validate-scaled-object.js';

/** What the model image runs in worker mode (its CMD is `serve`). */
export const WORKER_ARGS = ['node', '/app/bin/modelfleet.js', 'worker', '--model-dir', '/model'] as const;

/** A SIGTERMed worker answers the work in hand (milliseconds each) well within this. */
const TERMINATION_GRACE_SECONDS = 60;

/** What sets one kind of queue worker (bulk or stream) apart; the pod around it is the same. */
export interface WorkerKind {
  /** `models.yaml` block the worker comes from; also the folder of its ScaledObject template. */
  readonly block: 'bulk' | 'stream';
  /** Appended to the deploy name: the worker's Deployment and ScaledObject name. */
  readonly suffix: string;
  readonly component: string;
  readonly args: readonly string[];
  /** The worker's own settings, between its listening address and its connection. */
  readonly settingsEnv: readonly ContainerEnvVar[];
  /** Secret holding the connection, and its variables: `[variable, key, optional]`. */
  readonly connectionSecret: string;
  readonly connection: readonly (readonly [string, string, boolean])[];
  readonly maxReplicas: number;
  readonly cooldownSeconds: number;
  /** Values the ScaledObject template reads for its trigger. */
  readonly trigger: Readonly<Record<string, string | boolean>>;
  /** File names of the Deployment and the ScaledObject. */
  readonly files: readonly [string, string];
}

/**
 * A queue worker's Deployment (the model's image in worker mode, the connection from a Secret) and
 * its KEDA ScaledObject (0 → maxReplicas on the queue's lag). The Deployment is validated against
 * Kubernetes' schema, the ScaledObject against KEDA's.
 */
export function renderWorkerManifests(deployable: Deployable, sizing: Pick<Sizing, 'resources'>, options: ManifestOptions, kind: WorkerKind): RenderedManifest[] {
  const base = buildManifestValues(deployable, sizing, options);
  const name = `${deployable.variant.deployName}${kind.suffix}`;
  // Different selector labels from the model server's (and the other worker's): no Service or budget picks these pods.
  const selectorLabels = { 'app.kubernetes.io/name': toLabelValue(deployable.variant.deployName), 'app.kubernetes.io/instance': toLabelValue(name) };
  const labels = { ...base.labels, ...selectorLabels, 'app.kubernetes.io/component': kind.component };
  const env: ContainerEnvVar[] = [
    { name: 'HOST', value: '0.0.0.0' },
    { name: 'PORT', value: String(MODEL_SERVER_PORT) },
    ...kind.settingsEnv,
    ...kind.connection.map(([variable, key, optional]) => ({ name: variable, valueFrom: { secretKeyRef: { name: kind.connectionSecret, key, ...(optional ? { optional: true } : {}) } } })),
    ...secretEnvVars(deployable),
  ];
  const values = {
    ...base,
    name,
    labels,
    selectorLabels,
    env,
    args: kind.args,
    port: MODEL_SERVER_PORT,
    terminationGracePeriodSeconds: TERMINATION_GRACE_SECONDS,
    maxReplicas: kind.maxReplicas,
    cooldownSeconds: kind.cooldownSeconds,
    ...kind.trigger,
  };
  const where = (file: string) => `model ${JSON.stringify(deployable.variant.deployName)} ${file}`;
  const [deploymentFile, scaledObjectFile] = kind.files;
  // One Deployment template for both workers: the same pod, another command line and environment.
  const deployment = renderK8sTemplate('bulk', 'worker-deployment.yaml.hbs', values);
  validateManifest(deployment, where(deploymentFile));
  const scaledObject = renderK8sTemplate(kind.block, 'scaled-object.yaml.hbs', values);
  validateScaledObject(scaledObject, where(scaledObjectFile), kind.block);
  return [
    { file: deploymentFile, kind: 'Deployment', object: deployment, yaml: dumpManifest(deployment) },
    { file: scaledObjectFile, kind: 'ScaledObject', object: scaledObject, yaml: dumpManifest(scaledObject) },
  ];
}
