import type { FleetSpec } from '../../../generator/fleet/types.js';
import { toDnsLabel } from '../../../lib/names.js';

/** Environment used when neither --env nor MODELFLEET_ENV says which. */
export const DEFAULT_ENVIRONMENT = 'dev';

/**
 * One namespace per environment (`modelfleet-dev`, `modelfleet-production`), so an A/B test in
 * staging never shares Services with production. The child pipeline sets MODELFLEET_ENV (its
 * jobs' GitLab environments are `<env>/<model>`, so CI_ENVIRONMENT_NAME is not the namespace).
 */
export function environmentName(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return flag ?? (env.MODELFLEET_ENV || undefined) ?? DEFAULT_ENVIRONMENT;
}

export function namespaceForEnvironment(environment: string): string {
  return toDnsLabel(`modelfleet-${environment}`);
}

/**
 * models.yaml's `kubernetes: { createNamespace }`: whether deploy may create the environment's
 * namespace (a cluster-scoped write). Off when the block or the key is absent.
 */
export function createNamespaceSetting(fleet: FleetSpec): boolean {
  // Read structurally, so it works with and without the `kubernetes:` block in FleetSpec.
  const settings = (fleet as { readonly kubernetes?: { readonly createNamespace?: boolean } }).kubernetes;
  return settings?.createNamespace === true;
}
