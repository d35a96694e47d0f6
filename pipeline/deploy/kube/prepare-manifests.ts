import { createHash } from 'node:crypto';
import { toLabelValue } from '../../../lib/names.js';
import type { KubeObject } from '../../seams/kube.js';
import {
  APPLIED_MANIFESTS_ANNOTATION,
  DEPLOYABLE_LABEL,
  ENVIRONMENT_LABEL,
  MANAGED_BY,
  MANAGED_BY_LABEL,
  MANIFEST_HASH_ANNOTATION,
} from './deploy-labels.js';

/** Kinds that live outside namespaces; everything else gets the environment's namespace. */
const CLUSTER_SCOPED = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'PriorityClass', 'StorageClass']);

/** Apply order: what others refer to first, the Deployment (which starts the rollout) after its config, the rest last. */
const APPLY_ORDER = ['Namespace', 'ServiceAccount', 'ConfigMap', 'Secret', 'Service', 'Deployment', 'HorizontalPodAutoscaler', 'PodDisruptionBudget'];

export interface PreparedManifests {
  readonly namespace: string;
  readonly deployName: string;
  /** The objects as applied: namespace set, labels added, hash and (on the Deployment) the record. */
  readonly objects: readonly KubeObject[];
  /** The objects before the hash and record were added: what the record holds and a rollback re-applies. */
  readonly plain: readonly KubeObject[];
  /** sha256 (first 16 hex) of the plain objects: equal hashes mean nothing to do. */
  readonly hash: string;
}

export interface PrepareOptions {
  readonly namespace: string;
  readonly deployName: string;
  readonly environment: string;
}

/**
 * Pure: turns the rendered manifests of one deployable into what is applied to the
 * environment's namespace. Adds the labels modelfleet selects by, the manifest hash, and on the
 * Deployment the record a rollback restores. Throws (a bug, not user input) when the set has
 * no Deployment.
 */
export function prepareManifests(manifests: readonly KubeObject[], options: PrepareOptions): PreparedManifests {
  const plain = sortForApply(manifests.map((object) => labelObject(object, options)));
  return recordManifests(plain, options.namespace, options.deployName);
}

/** Adds the hash and the record to an already-labelled set (also used to re-apply a recorded set). */
export function recordManifests(plain: readonly KubeObject[], namespace: string, deployName: string): PreparedManifests {
  const hash = hashManifests(plain);
  const record = JSON.stringify(plain);
  const objects = plain.map((object) => {
    const copy = structuredClone(object);
    copy.metadata.annotations = { ...(copy.metadata.annotations ?? {}), [MANIFEST_HASH_ANNOTATION]: hash };
    if (copy.kind === 'Deployment') copy.metadata.annotations[APPLIED_MANIFESTS_ANNOTATION] = record;
    return copy;
  });
  return { namespace, deployName, objects, plain, hash };
}

/** The set recorded on a live Deployment by its last deploy, or undefined when it has none (or it is unreadable). */
export function readRecordedManifests(deployment: KubeObject | undefined): KubeObject[] | undefined {
  const text = deployment?.metadata.annotations?.[APPLIED_MANIFESTS_ANNOTATION];
  if (text === undefined) return undefined;
  try {
    const parsed: unknown = JSON.parse(text);
    if (!Array.isArray(parsed) || !parsed.every(isKubeObject)) return undefined;
    return parsed;
  } catch {
    return undefined;
  }
}

export function hashManifests(objects: readonly KubeObject[]): string {
  return createHash('sha256').update(canonicalJson(objects)).digest('hex').slice(0, 16);
}

/** The Deployment of that name, else the first (a set's model server sorts before its workers). */
export function findDeployment(objects: readonly KubeObject[], name?: string): KubeObject {
  const deployment = objects.find((o) => o.kind === 'Deployment' && (name === undefined || o.metadata.name === name));
  if (!deployment) throw new Error(`the manifests have no Deployment${name === undefined ? '' : ` named ${name}`}`);
  return deployment;
}

export function isNamespaced(kind: string): boolean {
  return !CLUSTER_SCOPED.has(kind);
}

export function describeObject(object: { kind: string; metadata: { name: string; namespace?: string } }): string {
  return `${object.kind} ${object.metadata.namespace ? `${object.metadata.namespace}/` : ''}${object.metadata.name}`;
}

function labelObject(object: KubeObject, options: PrepareOptions): KubeObject {
  const copy = structuredClone(object);
  if (isNamespaced(copy.kind)) copy.metadata.namespace = options.namespace;
  else delete copy.metadata.namespace;
  copy.metadata.labels = {
    ...(copy.metadata.labels ?? {}),
    [MANAGED_BY_LABEL]: MANAGED_BY,
    [DEPLOYABLE_LABEL]: options.deployName,
    [ENVIRONMENT_LABEL]: toLabelValue(options.environment),
  };
  // The annotations this module owns are recomputed; a stale copy in the input must not survive.
  if (copy.metadata.annotations) {
    delete copy.metadata.annotations[MANIFEST_HASH_ANNOTATION];
    delete copy.metadata.annotations[APPLIED_MANIFESTS_ANNOTATION];
    if (Object.keys(copy.metadata.annotations).length === 0) delete copy.metadata.annotations;
  }
  if (copy.kind === 'Deployment') enforceSafeRollout(copy);
  return copy;
}

/**
 * A bad new version must never take the serving one down: surge one new pod and keep every old
 * pod until the new ones are ready (https://kubernetes.io/docs/concepts/workloads/controllers/deployment/#rolling-update-deployment).
 */
function enforceSafeRollout(deployment: KubeObject): void {
  const spec = asRecord(deployment.spec);
  const strategy = asRecord(spec.strategy);
  const rolling = asRecord(strategy.rollingUpdate);
  spec.strategy = { ...strategy, type: 'RollingUpdate', rollingUpdate: { maxSurge: rolling.maxSurge ?? 1, maxUnavailable: 0 } };
  deployment.spec = spec;
}

function sortForApply(objects: readonly KubeObject[]): KubeObject[] {
  const rank = (kind: string) => {
    const index = APPLY_ORDER.indexOf(kind);
    return index === -1 ? APPLY_ORDER.length : index;
  };
  return [...objects].sort((a, b) => rank(a.kind) - rank(b.kind) || a.metadata.name.localeCompare(b.metadata.name));
}

function asRecord(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? { ...(value as Record<string, unknown>) } : {};
}

function isKubeObject(value: unknown): value is KubeObject {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Partial<KubeObject>;
  return typeof candidate.apiVersion === 'string' && typeof candidate.kind === 'string' && typeof candidate.metadata?.name === 'string';
}

/** JSON with sorted keys: the hash must not depend on the order a template wrote keys in. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
