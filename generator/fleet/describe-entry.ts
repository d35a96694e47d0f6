import { basename } from 'node:path';
import type { Deployable, FleetSpec } from './types.js';

/**
 * `models.yaml:14:5 (model "match-2-taxi", variant "v2")`: where to look when something is
 * wrong; with `environment` when the problem is that environment's pin.
 */
export function describeEntry(fleet: FleetSpec, { model, variant }: Deployable, environment?: string): string {
  const where = `${basename(fleet.file)}:${model.location.line}:${model.location.column}`;
  const variantText = model.variants.length > 1 || variant.id !== 'main' ? `, variant "${variant.id}"` : '';
  const environmentText = environment !== undefined ? `, environment "${environment}"` : '';
  return `${where} (model "${model.name}"${variantText}${environmentText})`;
}
