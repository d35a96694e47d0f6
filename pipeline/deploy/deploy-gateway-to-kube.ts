import { listDeployables } from '../../generator/fleet/find-deployable.js';
import { loadFleet } from '../../generator/fleet/load-fleet.js';
import type { FleetSpec } from '../../generator/fleet/types.js';
import { tagOf } from '../build/ensure-image.js';
import { GATEWAY_NAME as GATEWAY_REPOSITORY } from '../build/build-gateway-image.js';
import { prepareGatewayImageInputs } from '../build/prepare-gateway-image-inputs.js';
import { registryTargetFor } from '../build/registry-target.js';
import { SERVICE_PORT } from '../manifests/render-model-manifests.js';
import type { KubeClient, KubeObject } from '../seams/kube.js';
import type { RouteTable, VariantVersions } from '../../serving/gateway/route-table.js';
import { liveVersionsOf, modelVersionOf } from './kube/read-live-versions.js';
import { deployedConfigsOf, readDeployedConfig } from './deployed-config.js';
import { describeHeldBackRoutes, mergeRouteTables, type DeployedVariant, type ModelRouting } from './gateway/merge-route-tables.js';
import { GATEWAY_NAME, renderGatewayManifests } from './gateway/render-gateway-manifests.js';
import { DEPLOYABLE_LABEL, GATEWAY_DEPLOYABLE, MANAGED_BY, MANAGED_BY_LABEL } from './kube/deploy-labels.js';
import { fleetHasScaledObjects } from './fleet-has-scaled-objects.js';
import { BULK_MANAGED_KINDS, deployToKube, MANAGED_KINDS, pruneRemovedDeployables } from './kube/deploy-to-kube.js';
import { createNamespaceSetting } from './kube/namespace-for-env.js';
import { readRolloutStatus } from './kube/read-rollout-status.js';
import { toDeployError } from './kube/to-deploy-error.js';
import { requireImageInRegistry } from './resolve-deploy-inputs.js';

export interface GatewayKubeDeploy {
  readonly kube: KubeClient;
  readonly file: string;
  readonly out: string;
  readonly environment: string;
  readonly namespace: string;
  readonly timeoutMs: number;
  /** How often the gateway's rollout is polled (default: deployToKube's). */
  readonly pollMs?: number;
  readonly env: NodeJS.ProcessEnv;
  readonly print: (line: string) => void;
}

export interface GatewayKubeDeployResult {
  readonly routes: number;
  /** Per model of models.yaml: on its new route, kept on its previous one, or left out (see mergeRouteTables). */
  readonly models: readonly ModelRouting[];
}

/** The gateway's route table ConfigMap (k8s-templates/gateway/configmap.yaml.hbs, named by renderGatewayManifests). */
const ROUTES_CONFIG_MAP = `${GATEWAY_NAME}-routes`;
const ROUTES_KEY = 'routes.json';

/**
 * `gateway:deploy` on Kubernetes: the gateway image by its content tag (in the registry the
 * cluster pulls from), the route table from models.yaml, then models that left the fleet are
 * removed once no route points at them.
 *
 * The child pipeline runs this job even when some model deploys failed. A model gets the route
 * models.yaml asks for only when every serving variant's Deployment carries this commit's
 * deploy inputs (deployed-config.ts); otherwise it keeps the entry the live gateway served
 * before, or is left out when it has none. Each such model gets a warning line naming the job
 * to re-run; this job still succeeds (the model's own failed job fails the pipeline).
 */
export async function deployGatewayToKube(options: GatewayKubeDeploy): Promise<GatewayKubeDeployResult> {
  const { kube, namespace, print } = options;
  const fleet = loadFleet(options.file);
  const image = await gatewayImageReference(options.env);
  const [{ buildRouteTable }, { readRouteInputsOrWarn }, { formatRouteTable }] = await Promise.all([
    import('../../serving/gateway/route-table.js'),
    import('../../serving/gateway/read-route-inputs.js'),
    import('../../serving/gateway/route-table-file.js'),
  ]);
  // A model whose files cannot be read (its own jobs failed on them) must not fail this job: it only loses its OpenAPI schema.
  const inputs = await readRouteInputsOrWarn(fleet, print);
  const [live, previous] = await Promise.all([readDeployedVariants(kube, namespace, fleet), readLiveRouteTable(kube, namespace, print)]);
  // Each variant's Service (same name as the deployable) in this namespace; each running version's own Service at `<route>/versions/<version>`.
  const desired = buildRouteTable(fleet, (name) => serviceUrl(name, namespace), { inputsFor: (name) => inputs.get(name), versionsFor: (name) => live.versions.get(name) });
  const deployed = live.variants;
  const { table, models } = mergeRouteTables({ desired, previous, deployed });
  const warnings = describeHeldBackRoutes(models, `namespace ${namespace}`, options.environment);
  for (const line of warnings) print(line);

  const manifests = renderGatewayManifests({ namespace, image, routesJson: formatRouteTable(table), imagePullSecrets: fleet.kubernetes.imagePullSecrets });
  await deployToKube({ kube, deployName: GATEWAY_DEPLOYABLE, environment: options.environment, namespace, manifests, timeoutMs: options.timeoutMs, createNamespace: createNamespaceSetting(fleet), ...(options.pollMs ? { pollMs: options.pollMs } : {}), report: print });
  // Only now that the gateway no longer routes to them are removed models deleted. A variant a
  // kept previous entry still routes to stays, even when models.yaml no longer lists it.
  const keep = new Set([...listDeployables(fleet).map((d) => d.variant.deployName), ...table.routes.flatMap((r) => r.variants.map((v) => v.deployName)), GATEWAY_DEPLOYABLE]);
  await pruneRemovedDeployables(kube, namespace, keep, print, fleetHasScaledObjects(fleet) ? BULK_MANAGED_KINDS : MANAGED_KINDS);
  const notNew = models.filter((m) => m.outcome !== 'new').length;
  print(`gateway: ${table.routes.length} route(s) served by Service ${GATEWAY_NAME}.${namespace}${notNew > 0 ? `; ${notNew} model(s) not on this commit's route (warnings above)` : ''}`);
  return { routes: table.routes.length, models };
}

/**
 * Every deployable with a Deployment in the namespace: `current` when the Deployment its Service
 * sends traffic to carries this commit's deploy inputs and its rollout is not stuck, else `outdated`
 * with the reason; and every version it runs, each reached through its own Service.
 */
async function readDeployedVariants(kube: KubeClient, namespace: string, fleet: FleetSpec): Promise<{ variants: Map<string, DeployedVariant>; versions: Map<string, VariantVersions> }> {
  const managed = { labelSelector: `${MANAGED_BY_LABEL}=${MANAGED_BY},${DEPLOYABLE_LABEL}` };
  const fail = (err: unknown): never => {
    throw toDeployError(err, GATEWAY_DEPLOYABLE);
  };
  const [deployments, services, expected] = await Promise.all([
    kube.list('apps/v1', 'Deployment', namespace, managed).catch(fail),
    kube.list('v1', 'Service', namespace, managed).catch(fail),
    deployedConfigsOf(fleet),
  ]);
  const byDeployable = new Map<string, KubeObject[]>();
  for (const deployment of deployments) {
    const name = deployment.metadata.labels?.[DEPLOYABLE_LABEL];
    if (name === undefined || name === GATEWAY_DEPLOYABLE) continue;
    byDeployable.set(name, [...(byDeployable.get(name) ?? []), deployment]);
  }
  const variants = new Map<string, DeployedVariant>();
  const versions = new Map<string, VariantVersions>();
  for (const [name, own] of byDeployable) {
    // A bulk or stream worker's Deployment serves no route: only the model server's Deployments count.
    const { serving, kept } = liveVersionsOf(name, services.find((s) => s.metadata.name === name), own);
    if (!serving) continue;
    variants.set(name, deployedVariant(serving, expected.get(name)));
    const running = [serving, ...kept].flatMap((d) => {
      const version = modelVersionOf(d);
      return version === undefined ? [] : [{ version, upstream: serviceUrl(d.metadata.name, namespace), source: `image:${imageOf(d)}` }];
    });
    // No `current`: a rollback switches the Service without a gateway deploy, so the table cannot know which version the route reaches; each version's own path always reaches it.
    if (running.length > 0) versions.set(name, { kept: running });
  }
  return { variants, versions };
}

function serviceUrl(name: string, namespace: string): string {
  return `http://${name}.${namespace}.svc.cluster.local:${SERVICE_PORT}`;
}

function imageOf(deployment: KubeObject): string {
  return (deployment.spec as { template?: { spec?: { containers?: { image?: string }[] } } } | undefined)?.template?.spec?.containers?.[0]?.image ?? 'unknown';
}

function deployedVariant(deployment: KubeObject, expected: string | Error | undefined): DeployedVariant {
  if (expected === undefined) return { state: 'outdated', why: 'is no longer in models.yaml' };
  if (expected instanceof Error) return { state: 'outdated', why: `cannot be checked: its model files cannot be read here (${expected.message})` };
  const mark = readDeployedConfig(deployment);
  if (mark === undefined) return { state: 'outdated', why: 'was deployed by a modelfleet that did not record what it deployed, so it cannot be checked' };
  if (mark !== expected) return { state: 'outdated', why: 'runs an earlier version (its deploy for this commit failed and was rolled back, or its build or load test failed)' };
  const rollout = readRolloutStatus(deployment);
  if (rollout.state === 'failed') return { state: 'outdated', why: `has a stuck rollout (${rollout.message})` };
  return { state: 'current' };
}

/** The table the live gateway serves (its ConfigMap), or undefined when there is none or it cannot be read (then said so). */
export async function readLiveRouteTable(kube: KubeClient, namespace: string, print: (line: string) => void): Promise<RouteTable | undefined> {
  const ref = { apiVersion: 'v1', kind: 'ConfigMap', name: ROUTES_CONFIG_MAP, namespace };
  const configMap = await kube.get(ref).catch((err: unknown) => {
    throw toDeployError(err, GATEWAY_DEPLOYABLE);
  });
  if (!configMap) return undefined;
  const text = (configMap.data as Record<string, string> | undefined)?.[ROUTES_KEY];
  const { parseRouteTable } = await import('../../serving/gateway/route-table-file.js');
  try {
    if (text === undefined) throw new Error(`it has no ${ROUTES_KEY}`);
    return parseRouteTable(text, `ConfigMap ${namespace}/${ROUTES_CONFIG_MAP}`);
  } catch (err) {
    print(`warning: the live route table (ConfigMap ${namespace}/${ROUTES_CONFIG_MAP}) cannot be read, so no model can keep its previous route: ${(err as Error).message}`);
    return undefined;
  }
}

/** What the cluster pulls: the registry reference of the gateway's content tag, checked to exist there. */
async function gatewayImageReference(env: NodeJS.ProcessEnv): Promise<string> {
  const { tag } = await prepareGatewayImageInputs({ env });
  const registry = registryTargetFor(GATEWAY_REPOSITORY, tagOf(tag), env);
  await requireImageInRegistry(registry, { build: 'gateway:build', deploy: 'gateway:deploy' });
  return registry?.reference ?? tag;
}
