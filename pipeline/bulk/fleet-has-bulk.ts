import type { FleetSpec } from '../../generator/fleet/types.js';

/** Whether any model of the fleet takes bulk jobs: its deploys then also manage KEDA ScaledObjects. */
export function fleetHasBulk(fleet: FleetSpec): boolean {
  return fleet.models.some((model) => model.bulk?.enabled === true);
}
