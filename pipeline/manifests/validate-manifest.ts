import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Service } from 'kubernetes-models/v1/Service';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { UserError } from '../../lib/errors/user-error.js';

interface Validatable {
  validate(): void;
}

type ModelConstructor = new (data: never) => Validatable;

const MODELS: Readonly<Record<string, ModelConstructor>> = {
  'v1/ConfigMap': ConfigMap as unknown as ModelConstructor,
  'v1/Service': Service as unknown as ModelConstructor,
  'apps/v1/Deployment': Deployment as unknown as ModelConstructor,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler as unknown as ModelConstructor,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget as unknown as ModelConstructor,
};

const MAX_PROBLEMS_SHOWN = 5;

/**
 * Checks one manifest against the official Kubernetes OpenAPI schema (kubernetes-models ships
 * it per kind and version). `where` names the model and file in the error.
 */
export function validateManifest(object: Readonly<Record<string, unknown>>, where: string): void {
  const key = `${String(object.apiVersion)}/${String(object.kind)}`;
  const Model = MODELS[key];
  if (!Model) {
    throw new UserError('MANIFEST_INVALID', `${where}: no schema for ${key}`, 'modelfleet renders only ConfigMap, Deployment, Service, HorizontalPodAutoscaler and PodDisruptionBudget; a template of another kind needs its schema added in pipeline/manifests/validate-manifest.ts.');
  }
  try {
    new Model(structuredClone(object) as never).validate();
  } catch (err) {
    const problems = schemaProblems(err);
    const shown = problems.slice(0, MAX_PROBLEMS_SHOWN).map((p) => `\n  - ${p}`).join('');
    const more = problems.length > MAX_PROBLEMS_SHOWN ? `\n  ...and ${problems.length - MAX_PROBLEMS_SHOWN} more` : '';
    throw new UserError(
      'MANIFEST_INVALID',
      `${where}: the ${key} does not pass the Kubernetes API schema:${shown}${more}`,
      "Check the model's `scheduling` and `scaling` values in models.yaml.",
      { cause: err },
    );
  }
}

interface SchemaIssue {
  readonly instancePath?: string;
  readonly message?: string;
}

function schemaProblems(err: unknown): string[] {
  const issues = (err as { errors?: readonly SchemaIssue[] } | undefined)?.errors;
  if (Array.isArray(issues) && issues.length > 0) {
    return issues.map((issue: SchemaIssue) => `${issue.instancePath || '/'}: ${issue.message ?? 'invalid'}`);
  }
  return [err instanceof Error ? err.message : String(err)];
}
