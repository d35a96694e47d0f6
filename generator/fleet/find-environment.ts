import { UserError } from '../../lib/errors/user-error.js';
import { suggestClosest } from './did-you-mean.js';
import { displayFileName } from './fleet-problem.js';
import { scalingInEnvironment } from './resolve-environments.js';
import type { Deployable, EnvironmentSpec, FleetSpec, ModelSource } from './types.js';

/**
 * The environment a command acts on: `--env`, else MODELFLEET_ENV, else the first of the
 * fleet's environments (the start of promotion). UNKNOWN_ENVIRONMENT with a suggestion when
 * models.yaml does not list it.
 */
export function findEnvironment(fleet: FleetSpec, flag: string | undefined, env: NodeJS.ProcessEnv = process.env): EnvironmentSpec {
  const first = fleet.environments[0];
  const name = flag ?? (env.MODELFLEET_ENV || undefined) ?? first?.name ?? '';
  const found = fleet.environments.find((e) => e.name === name);
  if (found) return found;
  const names = fleet.environments.map((e) => e.name);
  const suggestion = suggestClosest(name, names);
  const from = flag !== undefined ? `--env ${name}` : `MODELFLEET_ENV=${name}`;
  throw new UserError('UNKNOWN_ENVIRONMENT', `${from}: ${displayFileName(fleet.file)} has no environment "${name}" (its environments: ${names.join(', ')})`,
    `${suggestion ? `Did you mean "${suggestion}"? ` : ''}Pass one of ${names.join(', ')}, or add "${name}" to \`environments:\` in models.yaml.`);
}

/** The index of an environment in promotion order (0 for the first). */
export function environmentIndex(fleet: FleetSpec, environment: EnvironmentSpec): number {
  return Math.max(0, fleet.environments.findIndex((e) => e.name === environment.name));
}

/**
 * A deployable as one environment runs it: the environment's scaling (and the model's own for
 * that environment) over the model's, the model's version or alias pin and keepVersions for it. Everything
 * else (image content, load test, batching) is the model's own, so promotion deploys the same
 * image with the same measured sizing.
 */
export function deployableInEnvironment(deployable: Deployable, environment: EnvironmentSpec): Deployable {
  const own = deployable.model.environments?.[environment.name];
  const scaling = scalingInEnvironment(deployable.model.scaling, environment, own);
  const source = pinnedSource(deployable.variant.source, own?.pin);
  return {
    model: { ...deployable.model, scaling, keepVersions: own?.keepVersions ?? deployable.model.keepVersions },
    variant: source === deployable.variant.source ? deployable.variant : { ...deployable.variant, source },
  };
}

function pinnedSource(source: ModelSource, pin: { readonly version: string } | { readonly alias: string } | undefined): ModelSource {
  if (!pin || source.kind !== 'mlflow') return source;
  return 'version' in pin ? { kind: 'mlflow', name: source.name, version: pin.version } : { kind: 'mlflow', name: source.name, alias: pin.alias };
}
