import type { Deployable, ModelSpec, Variant } from '../../generator/fleet/types.js';
import { computeSizing, MiB, type Sizing } from '../../pipeline/sizing/sizing-policy.js';

/** A model as `loadFleet` hands it out (defaults merged), for manifest tests. */
export function modelSpec(overrides: Partial<ModelSpec> = {}): ModelSpec {
  return {
    name: 'match-taxi-berlin',
    endpoint: 'probability',
    parameters: ['2', 'TAXI', 'trafficaware'],
    route: '/probability/2/TAXI/trafficaware',
    variants: [],
    stickyHeader: 'x-request-key',
    batching: { enabled: true, maxBatchSize: 32, maxLatencyMs: 5 },
    scaling: { minReplicas: 2, maxReplicas: 6, targetCpuUtilization: 70 },
    loadtest: { durationSeconds: 20, connections: 8, rowsPerRequest: 1, p99BudgetMs: 50 },
    scheduling: {
      nodeSelector: { 'node.kubernetes.io/pool': 'spot' },
      tolerations: [{ key: 'spot', operator: 'Equal', value: 'true', effect: 'NoSchedule' }],
    },
    secretEnv: [],
    envFromSecrets: [],
    keepVersions: 1,
    location: { line: 3, column: 5 },
    ...overrides,
  };
}

export function deployable(model: ModelSpec = modelSpec(), variant: Partial<Variant> = {}): Deployable {
  return {
    model,
    variant: {
      id: 'main',
      deployName: model.name,
      source: { kind: 'path', path: 'examples/models/match-logreg-v1' },
      weight: 100,
      shadow: false,
      ...variant,
    },
  };
}

/** A sizing from a fixed, made-up measurement (peak 119 MiB, P90 117 MiB). */
export function fixedSizing(): Sizing {
  return computeSizing(Array.from({ length: 20 }, (_, i) => ({ workingSetBytes: (100 + i) * MiB, cpuCores: 0.5 + i / 100 })));
}
