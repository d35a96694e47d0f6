import { z } from 'zod';
import type { Deployable } from '../fleet/types.js';
import { digestOf } from './canonical-json.js';
import { toBuildConfig } from './deployable-config.js';

const settings = z.record(z.string(), z.unknown());

/**
 * `build/models/<deployName>/model.json`: the resolved entry, everything a person or a later
 * job needs to know about this deployable, with the digest of what decides whether it is
 * rebuilt. Written by `generate`; read back through the same schema.
 */
export const modelJsonSchema = z.object({
  deployName: z.string().min(1),
  model: z.string().min(1),
  variant: z.string().min(1),
  fleetFile: z.string(),
  route: z.string().startsWith('/'),
  endpoint: z.string(),
  parameters: z.array(z.string()),
  weight: z.number().int().min(0).max(100),
  shadow: z.boolean(),
  stickyHeader: z.string(),
  abVariants: z.array(z.string()),
  source: z.looseObject({ kind: z.enum(['mlflow', 'path', 'image']) }),
  batching: settings,
  scaling: settings,
  loadtest: settings,
  scheduling: settings,
  /** Names of Secrets and keys only; present when the model has any. */
  secretEnv: z.array(z.object({ name: z.string(), secret: z.string(), key: z.string() })).optional(),
  envFromSecrets: z.array(z.string()).optional(),
  configDigest: z.string().regex(/^[0-9a-f]+$/),
});

export type ModelJson = z.infer<typeof modelJsonSchema>;

export function toModelJson(deployable: Deployable, fleetFile: string): ModelJson {
  const { model, variant } = deployable;
  const build = toBuildConfig(deployable);
  // What decides a rebuild, as toBuildConfig says it, after what only names and routes the model.
  const { deployName, model: modelName, variant: variantId, ...settings } = build;
  return modelJsonSchema.parse({
    deployName,
    model: modelName,
    variant: variantId,
    fleetFile,
    route: model.route,
    endpoint: model.endpoint,
    parameters: model.parameters,
    weight: variant.weight,
    shadow: variant.shadow,
    stickyHeader: model.stickyHeader,
    abVariants: model.variants.map((v) => v.deployName),
    ...settings,
    configDigest: digestOf(build),
  });
}
