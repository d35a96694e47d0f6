import { ScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject';
import { UserError } from '../../lib/errors/user-error.js';

/** Checks a ScaledObject against KEDA's CRD schema (the OpenAPI schema @kubernetes-models/keda ships). */
export function validateScaledObject(object: Readonly<Record<string, unknown>>, where: string, block: 'bulk' | 'stream' = 'bulk'): void {
  try {
    new ScaledObject(structuredClone(object) as never).validate();
  } catch (err) {
    const issues = (err as { errors?: ReadonlyArray<{ instancePath?: string; message?: string }> }).errors;
    const problems = Array.isArray(issues) && issues.length > 0 ? issues.map((i) => `${i.instancePath || '/'}: ${i.message ?? 'invalid'}`) : [(err as Error).message];
    throw new UserError('MANIFEST_INVALID', `${where}: the keda.sh/v1alpha1/ScaledObject does not pass KEDA's schema:\n  - ${problems.slice(0, 5).join('\n  - ')}`,
      `Check the model's \`${block}:\` values in models.yaml.`, { cause: err });
  }
}
