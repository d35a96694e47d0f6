import type { FleetSpec } from '../../generator/fleet/types.js';
import { fleetHasBulk } from '../bulk/fleet-has-bulk.js';

/**
 * Whether the fleet's deploys manage KEDA ScaledObjects: bulk workers (models.yaml `bulk:`), stream
 * workers (`stream:`) and models that scale to zero (`scaling.minReplicas: 0`). Pruning, removal and the deploy Role then
 * cover keda.sh ScaledObjects too.
 */
export function fleetHasScaledObjects(fleet: FleetSpec): boolean {
  return fleetHasBulk(fleet) || fleet.models.some((model) => model.scaleToZero !== undefined || model.stream !== undefined);
}
