import { DEFAULT_CI_SETTINGS } from '../../generator/fleet/resolve-ci.js';
import { DEFAULT_KUBERNETES_SETTINGS } from '../../generator/fleet/resolve-kubernetes.js';
import { DEFAULT_ENVIRONMENTS } from '../../generator/fleet/resolve-environments.js';
import type { FleetSpec, ModelSpec, Variant } from '../../generator/fleet/types.js';

/** A variant as loadFleet would produce it, sourced from a local MLflow directory. */
export function variant(deployName: string, weight: number, options: { id?: string; shadow?: boolean; path?: string } = {}): Variant {
  return {
    id: options.id ?? deployName,
    deployName,
    source: { kind: 'path', path: options.path ?? `models/${deployName}` },
    weight: options.shadow ? 0 : weight,
    shadow: options.shadow ?? false,
  };
}

/** A model as loadFleet would produce it (defaults merged in). */
export function model(name: string, route: string, variants: readonly Variant[], stickyHeader = 'x-user-id'): ModelSpec {
  const [endpoint = '', ...parameters] = route.split('/').filter(Boolean);
  return {
    name,
    endpoint,
    parameters,
    route,
    variants,
    stickyHeader,
    batching: { enabled: false, maxBatchSize: 32, maxLatencyMs: 5 },
    scaling: { minReplicas: 1, maxReplicas: 2, targetCpuUtilization: 70 },
    loadtest: { durationSeconds: 5, connections: 4, rowsPerRequest: 1, p99BudgetMs: 100 },
    scheduling: { nodeSelector: {}, tolerations: [] },
    secretEnv: [],
    envFromSecrets: [],
    keepVersions: 1,
    location: { line: 1, column: 1 },
  };
}

export function fleet(models: readonly ModelSpec[], file = '/fleet/models.yaml'): FleetSpec {
  return { file, models, ci: DEFAULT_CI_SETTINGS, kubernetes: DEFAULT_KUBERNETES_SETTINGS, environments: DEFAULT_ENVIRONMENTS };
}
