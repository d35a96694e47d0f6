import { z } from 'zod';
import { deployBranchProblem } from './deploy-branch.js';

/**
 * The shape of models.yaml as written by people, before `defaults:` are merged in.
 * Every object is strict (unknown keys are errors, with a "did you mean"), and every field a
 * default can supply is optional here; `resolveFleet` fills them and checks what needs the
 * whole fleet (weights, unique names and routes, name lengths).
 */

/**
 * Model names become Kubernetes object names and GitLab job names. Kubernetes Services need
 * RFC 1035 labels (start with a letter):
 * https://kubernetes.io/docs/concepts/overview/working-with-objects/names/#rfc-1035-label-names
 */
export const NAME_PATTERN = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const NAME_RULE = 'must be lower-case letters, digits and "-", start with a letter and end with a letter or digit (a Kubernetes DNS label)';

/** One URL path segment of unreserved characters (RFC 3986), so routes need no escaping. */
export const SEGMENT_PATTERN = /^[A-Za-z0-9_~-][A-Za-z0-9_.~-]*$/;
const ENDPOINT_PATTERN = /^[A-Za-z0-9_~-][A-Za-z0-9_.~-]*(\/[A-Za-z0-9_~-][A-Za-z0-9_.~-]*)*$/;

/** Relative, forward-slash paths inside the repository: no `..`, no absolute paths, no odd characters. */
export const RELATIVE_PATH_PATTERN = /^(?![/-])(?!.*(^|\/)\.\.?(\/|$))[A-Za-z0-9_.@+-]+(\/[A-Za-z0-9_.@+-]+)*\/?$/;
const PATH_RULE = 'must be a relative path inside the repository (letters, digits, "_.@+-" and "/"; no "..", no leading "/" or "-")';

export const MLFLOW_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
export const MLFLOW_ALIAS = /^[A-Za-z_][A-Za-z0-9_-]*$/;
/** A registry version number as MLflow counts them (1, 2, ...). */
export const MLFLOW_VERSION = /^[1-9][0-9]{0,9}$/;
/** Image references: https://github.com/distribution/reference/blob/main/reference.go (simplified, no spaces or shell characters). */
const IMAGE_REF = /^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(\/[a-z0-9]+([._-]{1,2}[a-z0-9]+)*)*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?$/;
const HTTP_PATH = /^\/[A-Za-z0-9_.~/-]*$/;
const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;
/** Label keys and values: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#syntax-and-character-set */
const LABEL_KEY = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$/;

const name = z.string().regex(NAME_PATTERN, NAME_RULE);
const relativePath = z.string().max(255, 'must be at most 255 characters').regex(RELATIVE_PATH_PATTERN, PATH_RULE);
const whole = (min: number, max: number) =>
  z.number().int('must be a whole number').min(min, `must be at least ${min}`).max(max, `must be at most ${max}`);
const positiveVersion = z.custom<string | number>(
  (v) => (typeof v === 'number' && Number.isInteger(v) && v > 0) || (typeof v === 'string' && MLFLOW_VERSION.test(v)),
  { message: 'must be a registry version number, like 3' },
);
const segment = z.custom<string | number>(
  // Numbers must be plain whole numbers: YAML would turn 0x1F into 31 or 2.50 into 2.5 behind the user's back.
  (v) => (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) || (typeof v === 'string' && SEGMENT_PATTERN.test(v) && v.length <= 100),
  { message: 'must be a URL path segment (letters, digits and "_.~-", not starting with "."; quote numbers that are not whole)' },
);

export const mlflowSchema = z.strictObject({
  name: z.string().max(256).regex(MLFLOW_NAME, 'must be an MLflow registered model name (letters, digits and "_.-")'),
  version: positiveVersion.optional(),
  alias: z.string().max(256).regex(MLFLOW_ALIAS, 'must be an MLflow alias (letters, digits, "_" and "-")').optional(),
});

export const imageSchema = z.strictObject({
  name: z.string().max(255).regex(IMAGE_REF, 'must be an image reference like registry.example.com/team/model:1.2'),
  port: whole(1, 65535).optional(),
  predictPath: z.string().max(200).regex(HTTP_PATH, 'must be an HTTP path like /invocations').optional(),
  readyPath: z.string().max(200).regex(HTTP_PATH, 'must be an HTTP path like /ping').optional(),
  schema: relativePath,
});

export const batchingSchema = z.strictObject({
  enabled: z.boolean().optional(),
  maxBatchSize: whole(1, 4096).optional(),
  maxLatencyMs: z.number().min(0, 'must be at least 0').max(10_000, 'must be at most 10000').optional(),
});

export const scalingSchema = z.strictObject({
  /** 0 lets an idle model scale to zero (settings under `scaleToZero:`, docs/gateway.md). */
  minReplicas: whole(0, 1000).optional(),
  maxReplicas: whole(1, 1000).optional(),
  targetCpuUtilization: whole(1, 100).optional(),
});

export const loadtestSchema = z.strictObject({
  durationSeconds: whole(1, 3600).optional(),
  connections: whole(1, 1000).optional(),
  rowsPerRequest: whole(1, 10_000).optional(),
  p99BudgetMs: z.number().gt(0, 'must be more than 0').max(60_000, 'must be at most 60000').optional(),
});

/** https://kubernetes.io/docs/concepts/scheduling-eviction/taint-and-toleration/ */
export const tolerationSchema = z.strictObject({
  key: z.string().regex(LABEL_KEY, 'must be a Kubernetes taint key like nvidia.com/gpu'),
  operator: z.enum(['Equal', 'Exists']).optional(),
  value: z.string().regex(LABEL_VALUE, 'must be a Kubernetes label value (at most 63 letters, digits, "-_.")').optional(),
  effect: z.enum(['NoSchedule', 'PreferNoSchedule', 'NoExecute']).optional(),
});

export const schedulingSchema = z.strictObject({
  nodeSelector: z
    .record(
      z.string().regex(LABEL_KEY, 'node selector keys must be Kubernetes label keys like cloud.google.com/gke-spot'),
      z.string().regex(LABEL_VALUE, 'must be a Kubernetes label value (at most 63 letters, digits, "-_.")'),
    )
    .optional(),
  tolerations: z.array(tolerationSchema).max(20).optional(),
});

/*
 * Kubernetes Secrets a model reads. models.yaml names a Secret and a key, never a value: the
 * values stay in the cluster, and nothing modelfleet generates can hold one.
 */

/** Secret names are DNS subdomain names: https://kubernetes.io/docs/concepts/overview/working-with-objects/names/#dns-subdomain-names */
export const SECRET_NAME_PATTERN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** Keys of a Secret's data: https://kubernetes.io/docs/concepts/configuration/secret/#restriction-names-data */
export const SECRET_KEY_PATTERN = /^[-._a-zA-Z0-9]+$/;
/** Variable names a shell and Node.js read as written (Kubernetes would take more, e.g. `a.b`, but a server could not read them). */
export const ENV_VAR_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;

const secretName = z
  .string()
  .max(253, 'must be at most 253 characters')
  .regex(SECRET_NAME_PATTERN, 'must be a Secret name: lower-case letters, digits, "-" and "." (a Kubernetes DNS subdomain name)');

/** One `secretEnv` entry: the variable `name` gets the value under `key` in the Secret `secret` (`valueFrom.secretKeyRef`). */
export const secretEnvSchema = z.strictObject({
  name: z.string().max(255, 'must be at most 255 characters').regex(ENV_VAR_NAME_PATTERN, 'must be an environment variable name: letters, digits and "_", not starting with a digit'),
  secret: secretName,
  key: z.string().max(253, 'must be at most 253 characters').regex(SECRET_KEY_PATTERN, 'must be a key of the Secret: letters, digits and "-._"'),
});

const secretEnvList = z.array(secretEnvSchema).max(100, 'at most 100 secret variables');
/** Whole Secrets as environment variables (`envFrom: [{secretRef}]`). */
const envFromList = z.array(secretName).max(20, 'at most 20 Secrets');

/** A duration like 90s, 30m, 24h or 7d (bulk.resultTtl). */
export const DURATION_PATTERN = /^([1-9][0-9]{0,6})(s|m|h|d)$/;

/** `bulk:`: bulk predictions through a Redis queue (docs/bulk.md); resolve-bulk.ts fills the defaults. */
export const bulkSchema = z.strictObject({
  enabled: z.boolean().optional(),
  chunkRows: whole(1, 100_000).optional(),
  maxWorkers: whole(1, 1000).optional(),
  maxQueuedChunks: whole(1, 100_000).optional(),
  resultTtl: z.string().regex(DURATION_PATTERN, 'must be a duration like 90s, 30m, 24h or 7d').optional(),
  maxDeliveries: whole(1, 100).optional(),
  claimIdleSeconds: whole(1, 86_400).optional(),
  cooldownSeconds: whole(0, 86_400).optional(),
  lagPerWorker: whole(1, 100_000).optional(),
  redisSecret: secretName.optional(),
});

/** A Kafka topic or Redis stream name: Kafka's own rule (letters, digits and "._-", at most 249). */
export const TOPIC_PATTERN = /^(?!\.{1,2}$)[A-Za-z0-9._-]{1,249}$/;
const topic = z.string().regex(TOPIC_PATTERN, 'must be a topic name: letters, digits and "._-", at most 249 characters, not "." or ".."');

/** `stream:`: the model consumes a topic and publishes predictions to another (docs/streaming.md); resolve-stream.ts fills the defaults. */
export const streamSchema = z.strictObject({
  transport: z.enum(['redis', 'kafka']).optional(),
  input: topic.optional(),
  output: topic.optional(),
  deadLetter: topic.optional(),
  group: topic.optional(),
  batchSize: whole(1, 10_000).optional(),
  maxReplicas: whole(1, 1000).optional(),
  lagPerReplica: whole(1, 1_000_000).optional(),
  connectionSecret: secretName.optional(),
});

/** `scaleToZero:`: how a model with `scaling.minReplicas: 0` sleeps and wakes; resolve-scale-to-zero.ts fills the defaults. */
export const scaleToZeroSchema = z.strictObject({
  idleSeconds: whole(10, 86_400).optional(),
  maxHoldMs: whole(100, 300_000).optional(),
  maxPending: whole(1, 100_000).optional(),
});

/** The top-level `kubernetes:` block: fleet-wide settings of the Kubernetes target. */
export const kubernetesSchema = z.strictObject({
  createNamespace: z.boolean().optional(),
  imagePullSecrets: z.array(secretName).max(20, 'at most 20 Secrets').optional(),
});

/*
 * `environments:`: where a change goes, in promotion order (docs/generator.md, "Environments").
 * Durations and the order itself are checked by resolve-environments.ts, which can name the
 * neighbouring entries.
 */

/** GitLab's deployment tiers (https://docs.gitlab.com/ci/environments/#deployment-tier-of-environments). */
export const ENVIRONMENT_TIERS = ['production', 'staging', 'testing', 'development', 'other'] as const;
/** Kube context names as kubeconfig files spell them (e.g. `group/project:agent`): printable, no spaces or quotes. */
const KUBE_CONTEXT = /^[A-Za-z0-9][A-Za-z0-9_.:@/+-]*$/;
/** GitLab's environment URL (its CI schema: http(s):// or a variable); no spaces, quotes or shell characters. */
const ENVIRONMENT_URL = /^https?:\/\/[A-Za-z0-9._~:/?#[\]@!$&*+,;=%-]+$/;
/** The longest environment name: the namespace `modelfleet-<name>` and the job names stay well inside GitLab's and Kubernetes' limits. */
export const ENVIRONMENT_NAME_MAX = 40;

/** The check `gate: canary` makes on the environment before this one (Flagger's defaults: success ≥ 99%, p99 ≤ 500 ms). */
export const canarySchema = z.strictObject({
  windowSeconds: whole(10, 3600).optional(),
  minSuccessRate: z.number().min(50, 'must be at least 50 (percent)').max(100, 'must be at most 100 (percent)').optional(),
  maxP99Ms: z.number().gt(0, 'must be more than 0').max(60_000, 'must be at most 60000').optional(),
  minRequests: whole(1, 1_000_000).optional(),
  metricsUrl: z.string().max(255).regex(ENVIRONMENT_URL, 'must be an http:// or https:// URL of the gateway\'s /metrics, like https://staging.ml.example.com/metrics').optional(),
});

export const environmentSchema = z.strictObject({
  name: z.string().max(ENVIRONMENT_NAME_MAX, `must be at most ${ENVIRONMENT_NAME_MAX} characters`).regex(NAME_PATTERN, NAME_RULE),
  tier: z.enum(ENVIRONMENT_TIERS).optional(),
  namespace: z.string().max(63, 'must be at most 63 characters').regex(NAME_PATTERN, `${NAME_RULE.replace('must be', 'must be a namespace name:')}`).optional(),
  context: z.string().max(253).regex(KUBE_CONTEXT, 'must be a kubeconfig context name (letters, digits and "_.:@/+-", no spaces)').optional(),
  url: z.string().max(255).regex(ENVIRONMENT_URL, 'must be an http:// or https:// URL without spaces or quotes, like https://ml.example.com').optional(),
  gate: z.enum(['manual', 'auto', 'canary']).optional(),
  canary: canarySchema.optional(),
  autoStopIn: z.string().max(64).optional(),
  scaling: scalingSchema.optional(),
  registryAlias: z.union([z.literal(false), z.string().max(256).regex(MLFLOW_ALIAS, 'must be an MLflow alias (letters, digits, "_" and "-"), or false')]).optional(),
});

/** `keepVersions:`: how many earlier versions of a model stay deployed beside the serving one (docs/deploy.md, "Kept versions" and "Versions side by side"). */
export const MAX_KEEP_VERSIONS = 10;
const keepVersionsSchema = whole(0, MAX_KEEP_VERSIONS);

/** A model's own settings in one environment, under `models[].environments.<name>`. */
export const modelEnvironmentSchema = z.strictObject({
  scaling: scalingSchema.optional(),
  version: positiveVersion.optional(),
  alias: z.string().max(256).regex(MLFLOW_ALIAS, 'must be an MLflow alias (letters, digits, "_" and "-")').optional(),
  keepVersions: keepVersionsSchema.optional(),
});

/** What `defaults:` and each model share; objects merge deeply, lists and values replace. */
const settingsShape = {
  endpoint: z.string().max(100).regex(ENDPOINT_PATTERN, 'must be URL path segments like probability or score/v2'),
  batching: batchingSchema,
  scaling: scalingSchema,
  loadtest: loadtestSchema,
  scheduling: schedulingSchema,
  secretEnv: secretEnvList,
  envFrom: envFromList,
};

export const variantSchema = z.strictObject({
  name,
  weight: whole(0, 100).optional(),
  shadow: z.boolean().optional(),
  mlflow: mlflowSchema.optional(),
  path: relativePath.optional(),
  image: imageSchema.optional(),
  /** Shorthand for a variant of an MLflow model that only changes the registry version or alias. */
  version: positiveVersion.optional(),
  alias: z.string().max(256).regex(MLFLOW_ALIAS, 'must be an MLflow alias (letters, digits, "_" and "-")').optional(),
});

export const abSchema = z.strictObject({
  stickyHeader: z.string().max(100).regex(HEADER_NAME, 'must be an HTTP header name like x-user-id').optional(),
  variants: z.array(variantSchema).min(2, 'an A/B test needs at least 2 variants').max(20, 'at most 20 variants'),
});

export const modelSchema = z.strictObject({
  name,
  mlflow: mlflowSchema.optional(),
  path: relativePath.optional(),
  image: imageSchema.optional(),
  endpoint: settingsShape.endpoint.optional(),
  parameters: z.array(segment).max(20, 'at most 20 parameters').optional(),
  ab: abSchema.optional(),
  batching: batchingSchema.optional(),
  scaling: scalingSchema.optional(),
  loadtest: loadtestSchema.optional(),
  scheduling: schedulingSchema.optional(),
  secretEnv: settingsShape.secretEnv.optional(),
  envFrom: settingsShape.envFrom.optional(),
  bulk: bulkSchema.optional(),
  stream: streamSchema.optional(),
  scaleToZero: scaleToZeroSchema.optional(),
  keepVersions: keepVersionsSchema.optional(),
  /** This model's own settings per environment, merged over the environment's (docs/generator.md, "Environments"). */
  environments: z.record(z.string(), modelEnvironmentSchema).optional(),
});

export const defaultsSchema = z.strictObject({
  endpoint: settingsShape.endpoint.optional(),
  ab: z.strictObject({ stickyHeader: abSchema.shape.stickyHeader }).optional(),
  batching: batchingSchema.optional(),
  scaling: scalingSchema.optional(),
  loadtest: loadtestSchema.optional(),
  scheduling: schedulingSchema.optional(),
  secretEnv: settingsShape.secretEnv.optional(),
  envFrom: settingsShape.envFrom.optional(),
  bulk: bulkSchema.optional(),
  stream: streamSchema.optional(),
  scaleToZero: scaleToZeroSchema.optional(),
  keepVersions: keepVersionsSchema.optional(),
});

/*
 * The `ci:` block: how the generated GitLab jobs run. Every value ends up in the child
 * pipeline's YAML (dumped as data by js-yaml, never pasted as text), and some in GitLab
 * expressions, so each is held to a narrow pattern: no newlines, quotes or shell syntax.
 */

/** GitLab variable names (https://docs.gitlab.com/ci/variables/#create-a-custom-cicd-variable-in-the-gitlab-ciyml-file). */
export const CI_VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Runner tags: plain words (letters, digits, "_.:/+-"), nothing a shell or YAML reads specially. */
export const RUNNER_TAG = /^[A-Za-z0-9][A-Za-z0-9_.:/+-]*$/;
/** `$NAME` or `${NAME}`: a variable GitLab expands inside an image reference. */
const CI_VARIABLE_REFERENCE = /\$(\{[A-Za-z_][A-Za-z0-9_]*\}|[A-Za-z_][A-Za-z0-9_]*)/g;
/** A Docker service alias is a host name (https://docs.gitlab.com/ci/services/#available-settings-for-services). */
const SERVICE_ALIAS = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** One argument of a service's command: printable, no quotes, backslashes or whitespace. */
const SERVICE_ARGUMENT = /^[A-Za-z0-9_.:/=@%+,-]+$/;

/** Printable text on one line: no control characters (newlines, tabs, NUL, escape sequences). */
export function isOneLine(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return false;
  }
  return true;
}

/**
 * An image reference, where any part may be a `$VARIABLE` GitLab expands (e.g.
 * `$CI_REGISTRY/ml/ci-node:20`). Each variable is checked as one harmless word, the rest as a
 * plain image reference.
 */
export function isCiImageReference(value: string): boolean {
  return value.length <= 255 && IMAGE_REF.test(value.replace(CI_VARIABLE_REFERENCE, 'x'));
}

const ciImage = z.string().refine(isCiImageReference, 'must be an image reference like node:20-bookworm-slim or $CI_REGISTRY/ci/node:20 (lower-case, no spaces)');

const ciVariableValue = z.custom<string>((v) => typeof v === 'string' && v.length <= 10_000 && isOneLine(v), {
  // zod's message is fixed; the caller appends what was found ("not the number 2375").
  message: 'must be text on one line (quote numbers and true/false, e.g. "2375")',
});

const ciVariables = z.record(z.string().regex(CI_VARIABLE_NAME, 'must be a variable name: letters, digits and "_", not starting with a digit'), ciVariableValue);

export const ciServiceObjectSchema = z.strictObject({
  name: ciImage,
  alias: z.string().max(63).regex(SERVICE_ALIAS, 'must be a host name like docker (lower-case letters, digits and "-")').optional(),
  command: z.array(z.string().max(200).regex(SERVICE_ARGUMENT, 'must be one argument without spaces or quotes, like --tls=false')).max(20).optional(),
});

/** A service as a plain image reference (`docker:27-dind`) or with settings (`{name, alias, command}`). */
export const ciServiceSchema = z.union([ciImage, ciServiceObjectSchema]);

const runnerShape = {
  tags: z.array(z.string().max(255).regex(RUNNER_TAG, 'must be a runner tag: letters, digits and "_.:/+-", no spaces')).max(50).optional(),
  image: ciImage.optional(),
  services: z.array(ciServiceSchema).max(10).optional(),
  variables: ciVariables.optional(),
};

export const ciJobSchema = z.strictObject(runnerShape);

export const ciSchema = z.strictObject({
  ...runnerShape,
  /** Per kind of job, the same keys, merged over the ones above. */
  jobs: z.strictObject({ build: ciJobSchema.optional(), test: ciJobSchema.optional(), deploy: ciJobSchema.optional() }).optional(),
  deployTarget: z.enum(['kubernetes', 'local']).optional(),
  deploy: z
    .strictObject({
      branches: z
        .array(
          z.string().superRefine((value, ctx) => {
            const problem = deployBranchProblem(value);
            if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
          }),
        )
        .min(1, 'list at least one branch, e.g. [$CI_DEFAULT_BRANCH]')
        .max(50)
        .optional(),
      mergeRequests: z.custom<false>((v) => v === false, 'merge-request pipelines never deploy; only false is accepted').optional(),
    })
    .optional(),
});

export const fleetFileSchema = z.strictObject({
  defaults: defaultsSchema.optional(),
  models: z.array(z.unknown()),
  ci: ciSchema.optional(),
  kubernetes: kubernetesSchema.optional(),
  environments: z.unknown().optional(),
});

export type RawModel = z.infer<typeof modelSchema>;
export type RawVariant = z.infer<typeof variantSchema>;
export type RawDefaults = z.infer<typeof defaultsSchema>;
export type RawImage = z.infer<typeof imageSchema>;
export type RawMlflow = z.infer<typeof mlflowSchema>;
export type RawCi = z.infer<typeof ciSchema>;
export type RawCiJob = z.infer<typeof ciJobSchema>;
export type RawSecretEnv = z.infer<typeof secretEnvSchema>;
export type RawBulk = z.infer<typeof bulkSchema>;
export type RawStream = z.infer<typeof streamSchema>;
export type RawScaleToZero = z.infer<typeof scaleToZeroSchema>;
export type RawEnvironment = z.infer<typeof environmentSchema>;
export type RawModelEnvironment = z.infer<typeof modelEnvironmentSchema>;
