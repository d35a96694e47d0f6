import { UserError } from '../../lib/errors/user-error.js';
import { suggestClosest } from './did-you-mean.js';
import { displayFileName } from './fleet-problem.js';
import type { Deployable, FleetSpec } from './types.js';

/** Every deployable of the fleet (one per variant), in models.yaml order. */
export function listDeployables(fleet: FleetSpec): Deployable[] {
  return fleet.models.flatMap((model) => model.variants.map((variant) => ({ model, variant })));
}

/** The deployable named `deployName` (`<model>` or `<model>-<variant>`); UNKNOWN_MODEL with a suggestion otherwise. */
export function findDeployable(fleet: FleetSpec, deployName: string): Deployable {
  const all = listDeployables(fleet);
  const found = all.find((d) => d.variant.deployName === deployName);
  if (found) return found;
  const names = all.map((d) => d.variant.deployName);
  const suggestion = suggestClosest(deployName, names);
  const model = fleet.models.find((m) => m.name === deployName);
  const hint = model
    ? `"${deployName}" has A/B variants; name one of them: ${model.variants.map((v) => v.deployName).join(', ')}`
    : suggestion
      ? `did you mean "${suggestion}"?`
      : `known deploy names: ${names.slice(0, 8).join(', ')}${names.length > 8 ? `, ... (${names.length} in all)` : ''}`;
  throw new UserError('UNKNOWN_MODEL', `no model or A/B variant named "${deployName}" in ${displayFileName(fleet.file)}`, hint);
}
