import type { Deployable, FleetSpec, ModelSource } from '../fleet/types.js';
import { listDeployables } from '../fleet/find-deployable.js';
import { digestOf } from './canonical-json.js';

/**
 * What one deployable's build, load test and deploy depend on. Gateway-only settings (route,
 * weight, shadow, sticky header) are left out on purpose: changing an A/B split only needs the
 * gateway jobs, not a rebuild of both variants. The position in models.yaml is left out too,
 * so adding a model above another does not mark it changed.
 */
export interface DeployableBuildConfig {
  readonly deployName: string;
  readonly model: string;
  readonly variant: string;
  readonly source: ModelSource;
  readonly batching: Deployable['model']['batching'];
  readonly scaling: Deployable['model']['scaling'];
  readonly loadtest: Deployable['model']['loadtest'];
  readonly scheduling: Deployable['model']['scheduling'];
  /** Only when set, so adding the setting left every existing model's digest as it was. */
  readonly secretEnv?: Deployable['model']['secretEnv'];
  readonly envFromSecrets?: Deployable['model']['envFromSecrets'];
  readonly bulk?: Deployable['model']['bulk'];
  readonly environments?: Deployable['model']['environments'];
  readonly stream?: Deployable['model']['stream'];
}

export function toBuildConfig({ model, variant }: Deployable): DeployableBuildConfig {
  return {
    deployName: variant.deployName,
    model: model.name,
    variant: variant.id,
    source: variant.source,
    batching: model.batching,
    scaling: model.scaling,
    loadtest: model.loadtest,
    scheduling: model.scheduling,
    // The Deployment names these Secrets (never their values), so a change redeploys the model.
    ...(model.secretEnv.length > 0 ? { secretEnv: model.secretEnv } : {}),
    ...(model.envFromSecrets.length > 0 ? { envFromSecrets: model.envFromSecrets } : {}),
    // The worker Deployments and their ScaledObjects come from these settings.
    ...(model.bulk ? { bulk: model.bulk } : {}),
    ...(model.stream ? { stream: model.stream } : {}),
    // Per-environment scaling and pins change what that environment's deploy applies.
    ...(model.environments ? { environments: model.environments } : {}),
  };
}

/** What the gateway's route table depends on: routes, A/B weights, shadows, sticky headers. */
export function toGatewayConfig(fleet: FleetSpec): unknown {
  return fleet.models.map((m) => ({
    route: m.route,
    stickyHeader: m.stickyHeader,
    variants: m.variants.map((v) => ({ deployName: v.deployName, weight: v.weight, shadow: v.shadow })),
  }));
}

export function buildConfigDigests(fleet: FleetSpec): Map<string, string> {
  return new Map(listDeployables(fleet).map((d) => [d.variant.deployName, digestOf(toBuildConfig(d))]));
}
