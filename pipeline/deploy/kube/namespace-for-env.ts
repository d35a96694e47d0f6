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
