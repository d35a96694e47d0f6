import type { RawScaleToZero } from './fleet-schema.js';
import type { FleetProblem } from './fleet-problem.js';
import type { ScaleToZeroSettings } from './types.js';
import type { KeyPath } from './yaml-positions.js';

/** What `scaleToZero:` means when a key is left out (docs/gateway.md, "Scale to zero"). */
export const SCALE_TO_ZERO_DEFAULTS: ScaleToZeroSettings = {
  idleSeconds: 300,
  // Long enough for a container to start and load a small model (about 0.4 s here), short enough
  // that a caller is told to retry well before a typical client timeout (30 s).
  maxHoldMs: 10_000,
  maxPending: 100,
};

/**
 * A model's scale-to-zero settings: defined only when `scaling.minReplicas` is 0 (the model then
 * has a `scaleToZero` key and nothing generated for other models changes). A model's own
 * `scaleToZero:` block on a model that keeps replicas is a mistake worth naming; one inherited from
 * `defaults:` is not (defaults serve every model). Pure: problems are pushed, not thrown.
 */
export function resolveScaleToZero(
  minReplicas: number,
  own: RawScaleToZero | undefined,
  fromDefaults: RawScaleToZero | undefined,
  base: KeyPath,
  problems: FleetProblem[],
): ScaleToZeroSettings | undefined {
  if (minReplicas > 0) {
    if (own !== undefined) {
      problems.push({
        path: [...base, 'scaleToZero'],
        message: `scaleToZero applies only to a model that may scale to zero, and this one keeps scaling.minReplicas: ${minReplicas}`,
        hint: 'set `scaling: { minReplicas: 0 }` on this model, or remove its scaleToZero: block',
      });
    }
    return undefined;
  }
  const merged = { ...SCALE_TO_ZERO_DEFAULTS, ...dropUndefined(fromDefaults ?? {}), ...dropUndefined(own ?? {}) };
  return { idleSeconds: merged.idleSeconds, maxHoldMs: merged.maxHoldMs, maxPending: merged.maxPending };
}

function dropUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
