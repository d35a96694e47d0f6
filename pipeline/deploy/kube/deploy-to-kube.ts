import { UserError } from '../../../lib/errors/user-error.js';
import { toLabelValue } from '../../../lib/names.js';
import { systemClock, type Clock } from '../../seams/clock.js';
import type { KubeClient, KubeObject, ObjectRef } from '../../seams/kube.js';
import { DEPLOYABLE_LABEL, ENVIRONMENT_LABEL, MANAGED_BY, MANAGED_BY_LABEL, MANIFEST_HASH_ANNOTATION } from './deploy-labels.js';
import { describeRolloutFailure, summarizeCause } from './describe-rollout-failure.js';
import { canonicalJson, describeObject, findDeployment, prepareManifests, readRecordedManifests, recordManifests, type PreparedManifests } from './prepare-manifests.js';
import { planKeptSlots, readServingSlots, slotObjectName, slotOf, SLOT_LABEL, versionManifests, type VersionedDeploy } from './version-slots.js';
import { findOutgoingAutoscalers, handOverScaling, removeAutoscalers } from './hand-over-scaling.js';
import { hopelessPodReason, isSpecObserved, readRolloutStatus, type RolloutStatus } from './read-rollout-status.js';
import { toDeployError } from './to-deploy-error.js';

/** Kinds a deployable may own; `--remove` and pruning look through these by label. */
export const MANAGED_KINDS: ReadonlyArray<{ readonly apiVersion: string; readonly kind: string }> = [
  { apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler' },
  { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget' },
  { apiVersion: 'apps/v1', kind: 'Deployment' },
  { apiVersion: 'v1', kind: 'Service' },
  { apiVersion: 'v1', kind: 'ConfigMap' },
  { apiVersion: 'v1', kind: 'ServiceAccount' },
];

/** With bulk predictions (models.yaml `bulk:`), a deployable may also own a KEDA ScaledObject. */
export const BULK_MANAGED_KINDS: typeof MANAGED_KINDS = [...MANAGED_KINDS, { apiVersion: 'keda.sh/v1alpha1', kind: 'ScaledObject' }];

export const DEFAULT_ROLLOUT_TIMEOUT_MS = 5 * 60_000;

export interface KubeDeployOptions {
  readonly kube: KubeClient;
  readonly deployName: string;
  readonly environment: string;
  readonly namespace: string;
  /** The rendered manifests (build/models/<name>/k8s/*.yaml, or the gateway's). */
  readonly manifests: readonly KubeObject[];
  /**
   * Whether to create the namespace when it is missing (models.yaml `kubernetes: {
   * createNamespace: true }`): a cluster-scoped read and, when missing, apply of the Namespace.
   * Off by default, so a deploy needs nothing outside its namespace; a missing namespace then
   * fails with DEPLOY_NAMESPACE_MISSING before anything is applied.
   */
  readonly createNamespace?: boolean;
  /** How long the rollout may take before it is rolled back (default 5 minutes). */
  readonly timeoutMs?: number;
  readonly pollMs?: number;
  readonly clock?: Clock;
  readonly report?: (line: string) => void;
  /** Kinds pruning looks through (MANAGED_KINDS; BULK_MANAGED_KINDS for a fleet with bulk models). */
  readonly managedKinds?: typeof MANAGED_KINDS;
  /**
   * The model version the manifests serve: it then runs as its own unit beside the serving one and
   * the deployable's Service switches to it once ready, keeping `keepVersions` earlier ones running
   * (version-slots.ts). Without it (the gateway, a model whose version is unknown or that scales to
   * zero) the deployable's Deployment is updated in place.
   */
  readonly versions?: VersionedDeploy;
}

export interface KubeDeployResult {
  readonly outcome: 'deployed' | 'unchanged';
  readonly namespace: string;
  readonly hash: string;
}

/**
 * Deploys one deployable to Kubernetes: server-side apply of its manifests into the
 * environment's namespace, then waits for the rollout. Same manifests as deployed → nothing is
 * applied ("unchanged"). A rollout that does not converge is explained (pods, events, logs),
 * rolled back to the recorded previous manifests, and fails with DEPLOY_ROLLOUT_FAILED; a
 * manifest the server rejects fails before anything is changed (server-side dry run first).
 */
export async function deployToKube(options: KubeDeployOptions): Promise<KubeDeployResult> {
  const { kube, deployName, namespace } = options;
  const report = options.report ?? (() => undefined);
  const clock = options.clock ?? systemClock;
  if (options.createNamespace === true) await ensureNamespace(kube, namespace, options.environment, deployName, report);
  const layout = options.versions ? await versionedLayout(options, options.versions) : inPlaceLayout(options.manifests);
  const prepared = prepareManifests(layout.manifests, { namespace, deployName, environment: options.environment });
  const deploymentRef = refOf(findDeployment(prepared.objects, layout.deploymentName));
  const isSwitch = (object: KubeObject) => layout.switchNames.has(`${object.kind}/${object.metadata.name}`);

  const live = await call(deployName, () => kube.get(deploymentRef));
  if (live && (await isUnchanged(kube, prepared, live))) {
    report(`${deployName}: unchanged (manifest hash ${prepared.hash} already deployed to ${namespace}); nothing to do`);
    return { outcome: 'unchanged', namespace, hash: prepared.hash };
  }
  const servingRef = layout.servingName === undefined ? deploymentRef : { ...deploymentRef, name: layout.servingName };
  const serving = servingRef.name === deploymentRef.name ? live : await call(deployName, () => kube.get(servingRef));
  const previous = serving ? (readRecordedManifests(serving) ?? [toApplyable(serving)]) : undefined;

  // A server-side dry run of every object first: a manifest the server rejects (422) must fail
  // the job before anything is changed (https://kubernetes.io/docs/reference/using-api/api-concepts/#dry-run).
  // It is also the first write, so a namespace that does not exist fails here (404 `namespaces
  // "x" not found`, DEPLOY_NAMESPACE_MISSING), without asking the cluster-scoped Namespace API.
  const outgoing = await call(deployName, () => findOutgoingAutoscalers(kube, namespace, deployName, prepared.objects, managesScaledObjects(options)));
  for (const object of prepared.objects) {
    // KEDA's webhook refuses a ScaledObject while the model's HPA still scales the Deployment; it is checked when applied, right after the hand-over.
    if (outgoing.length > 0 && object.kind === 'ScaledObject') continue;
    await call(deployName, () => kube.apply(object, { dryRun: true }), object);
  }
  if (layout.switchNames.size > 0 && live && servingRef.name !== deploymentRef.name && readRolloutStatus(live).state === 'done' && sameTemplate(live, findDeployment(prepared.objects, layout.deploymentName))) {
    report(`${deployName}: version ${options.versions?.version} is kept and running (Deployment ${namespace}/${deploymentRef.name} ready): switching to it starts no pod`);
  }
  const switched = prepared.objects.filter(isSwitch);
  report(`${deployName}: applying ${prepared.objects.filter((o) => !isSwitch(o)).map(describeObject).join(', ')}${switched.length > 0 ? `, then once ready ${switched.map(describeObject).join(', ')}` : ''} (server-side apply, manifest hash ${prepared.hash})`);
  let outcome: RolloutStatus;
  try {
    await call(deployName, () => removeAutoscalers(kube, namespace, deployName, outgoing, report));
    for (const object of prepared.objects) if (!isSwitch(object)) await call(deployName, () => kube.apply(object), object);
    outcome = await waitForRollout(options, deploymentRef, clock, report);
    // The deployable's Service moves to the new version only once its pods are ready.
    if (outcome.state === 'done') {
      for (const object of switched) await call(deployName, () => kube.apply(object), object);
      if (switched.length > 0) report(`${deployName}: ${switched.map(describeObject).join(', ')} now sends traffic to version ${options.versions?.version ?? ''} (${deploymentRef.name})`);
    }
  } catch (err) {
    outcome = { state: 'failed', message: err instanceof Error ? err.message : String(err) };
  }
  if (outcome.state === 'done') {
    await pruneStale(kube, namespace, deployName, prepared.hash, report, options.managedKinds, layout.keepAfterSuccess);
    if (layout.keptSlots.length > 0) report(`${deployName}: earlier version(s) kept running beside it: ${layout.keptSlots.join(', ')} (keepVersions)`);
    report(`${deployName}: deployed to ${namespace} (${outcome.message})`);
    return { outcome: 'deployed', namespace, hash: prepared.hash };
  }

  const failedDeployment = await kube.get(deploymentRef).catch(() => undefined);
  const details = failedDeployment ? await describeRolloutFailure(kube, namespace, failedDeployment) : [];
  report(`${deployName}: the rollout did not converge: ${outcome.message}`);
  for (const line of details) report(`  ${line}`);
  const restored = await rollBack(options, previous, servingRef, clock, report, layout.keepAfterFailure);
  const cause = summarizeCause(details);
  throw new UserError('DEPLOY_ROLLOUT_FAILED',
    `model ${deployName}: the new version did not become ready in namespace ${namespace}: ${outcome.message}${cause ? ` (${cause})` : ''}. ${restored}`,
    `Read the pod state, events and log lines printed above, fix the model or its settings in models.yaml, push, and re-run \`${deployName}:deploy:${options.environment}\`.`);
}

/** How one deploy lays out its objects: updated in place, or as a version unit beside the serving one (version-slots.ts). */
interface DeployLayout {
  readonly manifests: readonly KubeObject[];
  /** The Deployment whose rollout decides; undefined: the set's first (its only model server). */
  readonly deploymentName: string | undefined;
  /** The Deployment that serves before this deploy, when it is not the one being rolled out. */
  readonly servingName: string | undefined;
  /** `Kind/name` of the objects applied only once the rollout is done. */
  readonly switchNames: ReadonlySet<string>;
  readonly keptSlots: readonly string[];
  /** Objects of earlier deploys that pruning leaves, after a success and after a rollback. */
  readonly keepAfterSuccess: (object: KubeObject) => boolean;
  readonly keepAfterFailure: (object: KubeObject) => boolean;
}

function inPlaceLayout(manifests: readonly KubeObject[]): DeployLayout {
  return { manifests, deploymentName: undefined, servingName: undefined, switchNames: new Set(), keptSlots: [], keepAfterSuccess: () => false, keepAfterFailure: () => false };
}

async function versionedLayout(options: KubeDeployOptions, versions: VersionedDeploy): Promise<DeployLayout> {
  const { kube, namespace, deployName } = options;
  const service = await call(deployName, () => kube.get({ apiVersion: 'v1', kind: 'Service', name: deployName, namespace }));
  const now = readServingSlots(service);
  const deployments = await call(deployName, () => kube.list('apps/v1', 'Deployment', namespace, { labelSelector: `${DEPLOYABLE_LABEL}=${deployName},${SLOT_LABEL}` }));
  const liveSlots = new Set(deployments.map((d) => d.metadata.labels?.[SLOT_LABEL] ?? ''));
  const slot = slotOf(versions.version);
  const keptSlots = planKeptSlots(slot, now, liveSlots, versions.keepVersions);
  const versioned = versionManifests(options.manifests, deployName, versions.version, keptSlots);
  // Before versions ran side by side, the deployable's own Deployment served (it is pruned once the switch is done).
  const servingName = now.serving !== undefined ? slotObjectName(deployName, now.serving) : service ? deployName : undefined;
  const inSlots = (slots: ReadonlySet<string>) => (object: KubeObject) => slots.has(object.metadata.labels?.[SLOT_LABEL] ?? '');
  return {
    manifests: versioned.objects,
    deploymentName: versioned.deploymentName,
    servingName,
    switchNames: new Set(versioned.switchObjects.map((o) => `${o.kind}/${o.metadata.name}`)),
    keptSlots,
    keepAfterSuccess: inSlots(new Set(keptSlots)),
    // After a failed switch everything that ran before stays, except the failed version's own unit.
    keepAfterFailure: inSlots(new Set([...(now.serving !== undefined ? [now.serving] : []), ...now.kept].filter((s) => s !== slot || s === now.serving))),
  };
}

/** The pod template `live` was last applied with equals `next`'s: applying `next` changes no pod. */
function sameTemplate(live: KubeObject, next: KubeObject): boolean {
  const applied = readRecordedManifests(live)?.find((o) => o.kind === 'Deployment');
  const template = (object: KubeObject) => canonicalJson((object.spec as { template?: unknown } | undefined)?.template);
  return applied !== undefined && template(applied) === template(next);
}

/** Removes every object of one deployable (by label) from a namespace; returns what was deleted. */
export async function removeFromKube(kube: KubeClient, namespace: string, deployName: string, report: (line: string) => void = () => undefined, kinds = MANAGED_KINDS): Promise<string[]> {
  const removed: string[] = [];
  for (const { apiVersion, kind } of kinds) {
    const objects = await call(deployName, () => kube.list(apiVersion, kind, namespace, { labelSelector: `${DEPLOYABLE_LABEL}=${deployName}` }));
    for (const object of objects) {
      if (await call(deployName, () => kube.remove({ apiVersion, kind, name: object.metadata.name, namespace }))) {
        removed.push(`${kind} ${namespace}/${object.metadata.name}`);
        report(`${deployName}: deleted ${kind} ${namespace}/${object.metadata.name}`);
      }
    }
  }
  return removed;
}

/**
 * Deletes the deployables modelfleet deployed to a namespace that are no longer in the fleet
 * (a model removed from models.yaml). Runs after the gateway stopped routing to them.
 */
export async function pruneRemovedDeployables(kube: KubeClient, namespace: string, keep: ReadonlySet<string>, report: (line: string) => void = () => undefined, kinds = MANAGED_KINDS): Promise<string[]> {
  const deployments = await call('gateway', () => kube.list('apps/v1', 'Deployment', namespace, { labelSelector: `${MANAGED_BY_LABEL}=${MANAGED_BY},${DEPLOYABLE_LABEL}` }));
  const gone = [...new Set(deployments.map((d) => d.metadata.labels?.[DEPLOYABLE_LABEL] ?? ''))].filter((name) => name !== '' && !keep.has(name)).sort();
  const removed: string[] = [];
  for (const name of gone) {
    report(`${name}: no longer in models.yaml; removing its objects from ${namespace}`);
    removed.push(...(await removeFromKube(kube, namespace, name, report, kinds)));
  }
  return removed;
}

/**
 * createNamespace: the one cluster-scoped part of a deploy. A namespace that exists is left as it
 * is (someone else may manage it); a missing one is created with server-side apply, which needs
 * `get`, `create` and `patch` on that Namespace (CREATE_NAMESPACE_PERMISSION in
 * ../rbac/deploy-permissions.ts).
 */
async function ensureNamespace(kube: KubeClient, namespace: string, environment: string, deployName: string, report: (line: string) => void): Promise<void> {
  const ref = { apiVersion: 'v1', kind: 'Namespace', name: namespace };
  if (await call(deployName, () => kube.get(ref))) return;
  const object: KubeObject = {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: namespace, labels: { [MANAGED_BY_LABEL]: MANAGED_BY, [ENVIRONMENT_LABEL]: toLabelValue(environment) } },
  };
  await call(deployName, () => kube.apply(object), object);
  report(`${deployName}: created namespace ${namespace} (kubernetes.createNamespace)`);
}

/** Unchanged = every object is live with this hash, and the Deployment is fully rolled out. */
async function isUnchanged(kube: KubeClient, prepared: PreparedManifests, live: KubeObject): Promise<boolean> {
  if (live.metadata.annotations?.[MANIFEST_HASH_ANNOTATION] !== prepared.hash) return false;
  if (readRolloutStatus(live).state !== 'done') return false;
  for (const object of prepared.objects) {
    const current = await call(prepared.deployName, () => kube.get(refOf(object)), object);
    if (current?.metadata.annotations?.[MANIFEST_HASH_ANNOTATION] !== prepared.hash) return false;
  }
  return true;
}

async function waitForRollout(options: KubeDeployOptions, ref: ObjectRef, clock: Clock, report: (line: string) => void): Promise<RolloutStatus> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_ROLLOUT_TIMEOUT_MS;
  const pollMs = options.pollMs ?? 2_000;
  const deadline = clock.now() + timeoutMs;
  let last = '';
  for (;;) {
    const deployment = await call(options.deployName, () => options.kube.get(ref));
    if (!deployment) return { state: 'failed', message: `${describeObject({ kind: ref.kind, metadata: ref })} disappeared during the rollout` };
    const status = readRolloutStatus(deployment);
    if (status.state !== 'waiting') return status;
    // Pods are judged only once the controller saw this spec: before that the newest ReplicaSet
    // is the previous spec's, and right after a rollback that is the crashing one.
    const hopeless = isSpecObserved(deployment) ? await findHopelessPod(options.kube, options.namespace, deployment) : undefined;
    if (hopeless) return { state: 'failed', message: `the new version cannot become ready: ${hopeless}` };
    if (status.message !== last) report(`${options.deployName}: ${status.message}`);
    last = status.message;
    if (clock.now() >= deadline) return { state: 'failed', message: `timed out after ${Math.round(timeoutMs / 1000)}s (${status.message})` };
    await clock.sleep(pollMs);
  }
}

/** A pod of the Deployment's newest ReplicaSet that cannot become ready (see hopelessPodReason). */
async function findHopelessPod(kube: KubeClient, namespace: string, deployment: KubeObject): Promise<string | undefined> {
  const owned = (object: KubeObject, uid: unknown) => ((object.metadata.ownerReferences as Array<{ uid?: string }> | undefined) ?? []).some((ref) => ref.uid === uid);
  const revision = (object: KubeObject) => Number(object.metadata.annotations?.['deployment.kubernetes.io/revision'] ?? 0);
  try {
    const newest = (await kube.list('apps/v1', 'ReplicaSet', namespace)).filter((rs) => owned(rs, deployment.metadata.uid)).sort((a, b) => revision(b) - revision(a))[0];
    if (!newest) return undefined;
    const pods = (await kube.list('v1', 'Pod', namespace)).filter((pod) => owned(pod, newest.metadata.uid));
    return pods.map(hopelessPodReason).find((reason) => reason !== undefined);
  } catch {
    // Reading pods is a shortcut, not a requirement: the rollout status decides in the end.
    return undefined;
  }
}

async function rollBack(options: KubeDeployOptions, previous: readonly KubeObject[] | undefined, ref: ObjectRef, clock: Clock, report: (line: string) => void, keep: (object: KubeObject) => boolean): Promise<string> {
  const { kube, deployName, namespace } = options;
  if (!previous) {
    report(`${deployName}: no previous version to return to; removing the objects of the failed version`);
    await removeFromKube(kube, namespace, deployName, report);
    return 'There was no previous version; the failed version\'s objects were removed.';
  }
  const restore = recordManifests(previous, namespace, deployName);
  report(`${deployName}: rolling back to the previous version (manifest hash ${restore.hash})`);
  try {
    await call(deployName, () => handOverScaling(kube, namespace, deployName, restore.objects, managesScaledObjects(options), report));
    for (const object of restore.objects) await call(deployName, () => kube.apply(object), object);
    const status = await waitForRollout(options, ref, clock, report);
    await pruneStale(kube, namespace, deployName, restore.hash, report, options.managedKinds, keep);
    if (status.state === 'done') return `Rolled back to the previous version (manifest hash ${restore.hash}), which keeps serving.`;
    return `Rolled back to the previous version (manifest hash ${restore.hash}), but it has not finished rolling out: ${status.message}. Its old pods were never stopped.`;
  } catch (err) {
    return `Rolling back failed too (${err instanceof Error ? err.message : String(err)}); the previous pods were never stopped (maxUnavailable 0), but check the Deployment by hand.`;
  }
}

function managesScaledObjects(options: KubeDeployOptions): boolean {
  return (options.managedKinds ?? MANAGED_KINDS).some((k) => k.kind === 'ScaledObject');
}

/** Objects of this deployable left over from an earlier manifest set (e.g. an autoscaler the new set no longer has). */
async function pruneStale(kube: KubeClient, namespace: string, deployName: string, hash: string, report: (line: string) => void, kinds = MANAGED_KINDS, keep: (object: KubeObject) => boolean = () => false): Promise<void> {
  for (const { apiVersion, kind } of kinds) {
    const objects = await call(deployName, () => kube.list(apiVersion, kind, namespace, { labelSelector: `${DEPLOYABLE_LABEL}=${deployName}` }));
    for (const object of objects) {
      if (object.metadata.annotations?.[MANIFEST_HASH_ANNOTATION] === hash || keep(object)) continue;
      await call(deployName, () => kube.remove({ apiVersion, kind, name: object.metadata.name, namespace }));
      report(`${deployName}: deleted ${kind} ${namespace}/${object.metadata.name} (not in the deployed manifests)`);
    }
  }
}

/** A live object stripped to what one would apply (for Deployments deployed before modelfleet recorded them). */
function toApplyable(live: KubeObject): KubeObject {
  const { name, namespace, labels } = live.metadata;
  // Annotations the controllers write (deployment.kubernetes.io/revision) are theirs, not ours to apply.
  const annotations = Object.fromEntries(Object.entries(live.metadata.annotations ?? {}).filter(([key]) => !key.includes('kubernetes.io/')));
  return {
    apiVersion: live.apiVersion,
    kind: live.kind,
    metadata: { name, ...(namespace ? { namespace } : {}), ...(labels ? { labels } : {}), ...(Object.keys(annotations).length > 0 ? { annotations } : {}) },
    spec: live.spec,
  };
}

function refOf(object: KubeObject): ObjectRef {
  return { apiVersion: object.apiVersion, kind: object.kind, name: object.metadata.name, ...(object.metadata.namespace ? { namespace: object.metadata.namespace } : {}) };
}

async function call<T>(deployName: string, request: () => Promise<T>, object?: KubeObject): Promise<T> {
  try {
    return await request();
  } catch (err) {
    throw toDeployError(err, deployName, object);
  }
}
