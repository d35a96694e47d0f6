import { DNS_LABEL_MAX } from '../../lib/names.js';

/**
 * The longest suffix modelfleet appends to a deploy name when it names Kubernetes objects
 * (`<deployName>-<suffix>`, e.g. `-pdb`, `-hpa`, `-config`). Kubernetes caps names at 63
 * characters (https://kubernetes.io/docs/concepts/overview/working-with-objects/names/#rfc-1035-label-names),
 * so a deploy name may use 63 minus this budget.
 */
export const NAME_SUFFIX_BUDGET = 13;

/** Deploy names (`<model>` or `<model>-<variant>`) must fit in this many characters. */
export const DEPLOY_NAME_MAX = DNS_LABEL_MAX - NAME_SUFFIX_BUDGET;

/** Names the pipeline uses for its own jobs (`gateway:build`, `gateway:deploy`). */
export const RESERVED_NAMES: ReadonlySet<string> = new Set(['gateway', 'modelfleet']);

/** The variant id of a model without an A/B test. */
export const MAIN_VARIANT = 'main';

/** Earlier versions a model keeps deployed when models.yaml does not say (`keepVersions:`). */
export const DEFAULT_KEEP_VERSIONS = 1;

/** The path segment under a model's route that addresses one version (`<route>/versions/<version>`). */
export const VERSIONS_SEGMENT = 'versions';

/** Built-in values under `defaults:` and each model; the file's `defaults:` override them. */
export const BUILTIN_SETTINGS = {
  batching: { enabled: true, maxBatchSize: 32, maxLatencyMs: 5 },
  scaling: { minReplicas: 1, maxReplicas: 3, targetCpuUtilization: 70 },
  loadtest: { durationSeconds: 30, connections: 8, rowsPerRequest: 1, p99BudgetMs: 250 },
  scheduling: { nodeSelector: {}, tolerations: [] },
  secretEnv: [],
  envFrom: [],
  ab: { stickyHeader: 'x-modelfleet-key' },
} as const;

/** Defaults for a bring-your-own image, matching `mlflow models build-docker` images. */
export const IMAGE_DEFAULTS = { port: 8080, predictPath: '/invocations', readyPath: '/ping' } as const;

/**
 * Environment variables the model server and its image set themselves
 * (pipeline/manifests/render-model-manifests.ts `modelServerEnv`, serving/model-server/server-config.ts,
 * image-templates/model/Dockerfile.hbs): a `secretEnv` entry must not take one over.
 */
export const RESERVED_ENV_NAMES: ReadonlySet<string> = new Set(['HOST', 'PORT', 'MODEL_NAME', 'MODEL_VERSION', 'MODEL_DIR', 'LOG_LEVEL']);

/** Whole families of reserved names: the server's settings, onnxruntime's and Node.js' own, and modelfleet's. */
export const RESERVED_ENV_PREFIXES: readonly string[] = ['BATCHING_', 'MAX_', 'SHUTDOWN_', 'ORT_', 'NODE_', 'MODELFLEET_'];

/** Whether a model's secret variable would override a variable modelfleet sets. */
export function isReservedEnvName(name: string): boolean {
  return RESERVED_ENV_NAMES.has(name) || RESERVED_ENV_PREFIXES.some((prefix) => name.startsWith(prefix));
}
