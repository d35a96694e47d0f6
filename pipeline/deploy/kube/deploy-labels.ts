/**
 * Labels and annotations modelfleet puts on every object it deploys. The deployable label is
 * what `deploy --remove` and pruning select by; the hash annotation is what makes deploying
 * the same commit twice a no-op; the applied-manifests annotation is what a rollback re-applies.
 */
export const DEPLOYABLE_LABEL = 'modelfleet.io/deployable';
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY = 'modelfleet';
export const ENVIRONMENT_LABEL = 'modelfleet.io/environment';
export const MANIFEST_HASH_ANNOTATION = 'modelfleet.io/manifest-hash';
/**
 * The manifests of the last successful (or current) deploy, as compact JSON on the Deployment.
 * Kubernetes keeps old ReplicaSets, but only their pod templates; a rollback must also restore
 * the Service, autoscaler and budget that went with them, so the whole set is recorded.
 * Annotations may hold 256 KiB (https://kubernetes.io/docs/concepts/overview/working-with-objects/annotations/#syntax-and-character-set);
 * one model's manifests are a few KiB.
 */
export const APPLIED_MANIFESTS_ANNOTATION = 'modelfleet.io/applied-manifests';
/** The gateway's own objects carry this deployable name. */
export const GATEWAY_DEPLOYABLE = 'gateway';
