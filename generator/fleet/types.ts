/**
 * The fleet as every part of modelfleet sees it: validated once by `loadFleet`, frozen,
 * with `defaults:` already merged in. Nothing downstream re-checks these values.
 */

/** A model registered in an MLflow tracking server's model registry. */
export interface MlflowSource {
  readonly kind: 'mlflow';
  readonly name: string;
  /** Exactly one of version and alias is set. */
  readonly version?: string;
  readonly alias?: string;
}

/** A directory in MLflow's model layout (MLmodel + model.onnx), relative to the models.yaml folder. */
export interface PathSource {
  readonly kind: 'path';
  readonly path: string;
}

/** A bring-your-own serving image: any HTTP server with a declared input schema. */
export interface ImageSource {
  readonly kind: 'image';
  readonly image: string;
  readonly port: number;
  /** Path that accepts MLflow-style `POST` scoring requests, e.g. `/invocations`. */
  readonly predictPath: string;
  /** Path that answers 200 once the server is ready, e.g. `/readyz`. */
  readonly readyPath: string;
  /** MLmodel file (or JSON signature) describing the inputs, relative to the models.yaml folder. */
  readonly schema: string;
}

export type ModelSource = MlflowSource | PathSource | ImageSource;

export interface Batching {
  readonly enabled: boolean;
  readonly maxBatchSize: number;
  readonly maxLatencyMs: number;
}

export interface Scaling {
  readonly minReplicas: number;
  readonly maxReplicas: number;
  readonly targetCpuUtilization: number;
}

export interface LoadTestSettings {
  readonly durationSeconds: number;
  readonly connections: number;
  readonly rowsPerRequest: number;
  readonly p99BudgetMs: number;
}

export interface Toleration {
  readonly key: string;
  readonly operator: 'Equal' | 'Exists';
  readonly value?: string;
  readonly effect?: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
}

export interface Scheduling {
  readonly nodeSelector: Readonly<Record<string, string>>;
  readonly tolerations: readonly Toleration[];
}

/** Where an entry sits in models.yaml, for error messages and reports. */
export interface SourceLocation {
  readonly line: number;
  readonly column: number;
}

/**
 * One deployable unit: its own image, load test, manifests and deploy job.
 * A model without A/B has one variant whose deployName is the model's name.
 */
export interface Variant {
  /** Name within the model (`main` when the model has no A/B test). */
  readonly id: string;
  /** Unique across the fleet, a DNS label: job prefix (`<deployName>:build`) and Kubernetes name. */
  readonly deployName: string;
  readonly source: ModelSource;
  /** Percent of the route's traffic; non-shadow weights of a model add up to 100. Shadows have 0. */
  readonly weight: number;
  /** A shadow receives a mirrored copy of traffic; its answers are dropped. */
  readonly shadow: boolean;
}

export interface ModelSpec {
  readonly name: string;
  readonly endpoint: string;
  readonly parameters: readonly string[];
  /** `/` + endpoint + parameters, e.g. `/probability/2/TAXI/trafficaware`. */
  readonly route: string;
  readonly variants: readonly Variant[];
  /** Request header whose value keeps a caller on one A/B variant. */
  readonly stickyHeader: string;
  readonly batching: Batching;
  readonly scaling: Scaling;
  readonly loadtest: LoadTestSettings;
  readonly scheduling: Scheduling;
  /** Environment variables taken from one key of a Kubernetes Secret each; models.yaml names the Secret, never its value. */
  readonly secretEnv: readonly SecretEnvVar[];
  /** Secrets whose every key becomes an environment variable of the model container (`envFrom`). */
  readonly envFromSecrets: readonly string[];
  /** Present only when models.yaml gives the model a `bulk:` block (its own or from `defaults:`). */
  readonly bulk?: BulkSettings;
  /** Present only when models.yaml gives the model a `stream:` block (its own or from `defaults:`). */
  readonly stream?: StreamSettings;
  /** Present only when `scaling.minReplicas` is 0: the model sleeps when idle and wakes on its first request. */
  readonly scaleToZero?: ScaleToZeroSettings;
  /** Earlier versions that stay deployed beside the serving one, reachable at `<route>/versions/<version>` (default 1). */
  readonly keepVersions: number;
  /** Present only when models.yaml gives the model settings of its own per environment (`environments:` on the model). */
  readonly environments?: Readonly<Record<string, ModelEnvironmentSettings>>;
  readonly location: SourceLocation;
}

/** GitLab's deployment tier of an environment (https://docs.gitlab.com/ci/environments/#deployment-tier-of-environments). */
export type EnvironmentTier = 'production' | 'staging' | 'testing' | 'development' | 'other';

/** One entry of models.yaml's `environments:` with its defaults filled in. */
export interface EnvironmentSpec {
  /** A DNS label: GitLab environments are `<name>/<model>`, deploy jobs `<model>:deploy:<name>`. */
  readonly name: string;
  readonly tier: EnvironmentTier;
  /** Kubernetes namespace of this environment (default `modelfleet-<name>`). */
  readonly namespace: string;
  /** kubeconfig context the deploy uses; the kubeconfig's current context when absent. */
  readonly context?: string;
  /** GitLab environment URL, linked from the environment page. */
  readonly url?: string;
  /**
   * `manual`: the deploy job waits for someone to start it; `auto`: it runs once the previous
   * environment deployed; `canary`: it runs once the previous environment passed `canary`.
   */
  readonly gate: 'manual' | 'auto' | 'canary';
  /** Present when `gate` is `canary`: what the previous environment's traffic must show. */
  readonly canary?: CanarySettings;
  /** GitLab's `auto_stop_in` (e.g. `1 week`), for review environments. */
  readonly autoStopIn?: string;
  /** Scaling every model gets in this environment, over its own `scaling:` (a model's `environments.<name>.scaling` wins). */
  readonly scaling?: Partial<Scaling>;
  /**
   * The MLflow alias a successful deploy here sets on the version it deployed (MLflow-registry
   * models only), so the registry shows what serves: `production` for a production-tier
   * environment unless models.yaml says otherwise (`registryAlias: false` sets none).
   */
  readonly registryAlias?: string;
}

/**
 * The canary check of a `gate: canary` environment: over `windowSeconds`, the model's requests
 * through the previous environment's gateway must number at least `minRequests`, succeed (no 5xx)
 * at `minSuccessRate` percent or more, and answer within `maxP99Ms` at the 99th percentile.
 */
export interface CanarySettings {
  readonly windowSeconds: number;
  readonly minSuccessRate: number;
  readonly maxP99Ms: number;
  readonly minRequests: number;
  /** The previous environment's gateway /metrics; its `url` + `/metrics` when absent (Kubernetes), its local gateway locally. */
  readonly metricsUrl?: string;
}

/** A model's own settings in one environment (`models[].environments.<name>`). */
export interface ModelEnvironmentSettings {
  readonly scaling?: Partial<Scaling>;
  /** An MLflow registry version or alias this environment serves instead of the model's own. */
  readonly pin?: { readonly version: string } | { readonly alias: string };
  /** keepVersions in this environment, over the model's own. */
  readonly keepVersions?: number;
}

/**
 * models.yaml `bulk:` with its defaults filled in: bulk predictions through the deployable's
 * Redis stream, scored by `modelfleet worker` pods that KEDA scales from zero (docs/bulk.md).
 */
export interface BulkSettings {
  readonly enabled: boolean;
  /** Rows per chunk (one stream entry, one unit of work). */
  readonly chunkRows: number;
  /** Most worker replicas (KEDA's maxReplicaCount; the local supervisor's most processes). */
  readonly maxWorkers: number;
  /** The submitter waits while more chunks than this wait in the stream (bounds Redis memory). */
  readonly maxQueuedChunks: number;
  /** How long a job's results stay in Redis after it ends. */
  readonly resultTtlSeconds: number;
  /** A chunk delivered more often than this goes to the dead-letter stream. */
  readonly maxDeliveries: number;
  /** A chunk unacknowledged this long is presumed abandoned by a dead worker and claimed. */
  readonly claimIdleSeconds: number;
  /** Workers stop after the queue has had no lag for this long (scale to zero). */
  readonly cooldownSeconds: number;
  /** Chunks of lag per worker replica (KEDA's lagCount). */
  readonly lagPerWorker: number;
  /** Kubernetes Secret with the keys `address` (host:port) and `password` of the Redis to use. */
  readonly redisSecret: string;
}

/**
 * models.yaml `stream:` with its defaults filled in: `modelfleet worker --stream` pods consume
 * `input` in the consumer group `group` and publish predictions to `output`, bad messages to
 * `deadLetter`; KEDA scales them on the group's lag (docs/streaming.md).
 */
export interface StreamSettings {
  readonly transport: 'redis' | 'kafka';
  readonly input: string;
  readonly output: string;
  readonly deadLetter: string;
  readonly group: string;
  /** Most messages scored in one inference batch. */
  readonly batchSize: number;
  /** Most worker replicas (KEDA's maxReplicaCount); the least is 0. */
  readonly maxReplicas: number;
  /** Messages of lag per replica (KEDA's lagThreshold / lagCount). */
  readonly lagPerReplica: number;
  /** Kubernetes Secret with the connection: Kafka `bootstrap` (+ `username`, `password`), or Redis `address` (+ `password`). */
  readonly connectionSecret: string;
}

/** models.yaml `scaleToZero:` with its defaults filled in (docs/gateway.md, "Scale to zero"). */
export interface ScaleToZeroSettings {
  /** A model that received no request for this long is stopped (locally) or scaled to 0 replicas (KEDA's cooldownPeriod). */
  readonly idleSeconds: number;
  /** The gateway holds a request for a sleeping model at most this long, then answers 503 with Retry-After. */
  readonly maxHoldMs: number;
  /** Requests held per variant while it wakes; one more is answered 503 at once. */
  readonly maxPending: number;
}

/** One `secretEnv` entry: the container's variable `name` gets the value of `key` in the Secret `secret`. */
export interface SecretEnvVar {
  readonly name: string;
  readonly secret: string;
  readonly key: string;
}

/**
 * models.yaml's `kubernetes:` block, fleet-wide for now (one per environment once
 * environments arrive).
 */
export interface KubernetesSettings {
  /** Whether deploy applies the Namespace object; without it a missing namespace is an error. */
  readonly createNamespace: boolean;
  /** Secrets (of type kubernetes.io/dockerconfigjson) every model and gateway pod pulls its image with. */
  readonly imagePullSecrets: readonly string[];
}

/** A Docker service next to a job's container, e.g. Docker-in-Docker (https://docs.gitlab.com/ci/yaml/#services). */
export interface CiService {
  /** Image reference; may hold `$VARIABLES`, which GitLab expands. */
  readonly name: string;
  /** Host name the job reaches the service by, e.g. `docker` for `tcp://docker:2375`. */
  readonly alias?: string;
  /** Arguments for the service's entrypoint, e.g. `["--tls=false"]`. */
  readonly command?: readonly string[];
}

/** The runner settings of one kind of job: the keys of `ci:` and of `ci.jobs.<kind>:`. */
export interface CiRunnerSettings {
  /** Runner tags; the job runs on a runner that has all of them. */
  readonly tags: readonly string[];
  /** The jobs' image (a Docker executor's container); `$MODELFLEET_CI_IMAGE` unless `ci.image` says otherwise. */
  readonly image: string;
  readonly services: readonly CiService[];
  /** Job variables, in the order models.yaml lists them. */
  readonly variables: Readonly<Record<string, string>>;
}

/** Which generated jobs a `ci.jobs.<kind>` block applies to. */
export type CiJobKind = 'build' | 'test' | 'deploy';

/** One entry of `ci.deploy.branches`: GitLab's default branch, one branch, or a regular expression. */
export type DeployBranch =
  | { readonly kind: 'default' }
  | { readonly kind: 'name'; readonly name: string }
  | {
      readonly kind: 'pattern';
      /** The regular expression between the slashes, every `/` escaped as `\/` (RE2 syntax, as GitLab's rules use). */
      readonly pattern: string;
    };

/** How the generated jobs run: models.yaml's `ci:` block with every default filled in. */
export interface CiSettings {
  /** The top-level `ci:` values (what every job kind starts from). */
  readonly runner: CiRunnerSettings;
  /**
   * Per job kind, `ci.jobs.<kind>` merged over the top level: tags, image and services replace,
   * variables merge key by key. build: model builds, gateway:build, generate-parts; test: load
   * tests; deploy: model and gateway deploys, removals.
   */
  readonly jobs: Readonly<Record<CiJobKind, CiRunnerSettings>>;
  /** Where deploy jobs deploy unless a pipeline run sets MODELFLEET_DEPLOY_TARGET. */
  readonly deployTarget: 'kubernetes' | 'local';
  readonly deploy: {
    /** Pipelines of these branches deploy; every other pipeline only builds and tests. */
    readonly branches: readonly DeployBranch[];
    /** Merge-request pipelines never deploy. */
    readonly mergeRequests: false;
  };
}

export interface FleetSpec {
  /** Absolute path of the models.yaml this was read from; relative paths resolve against its folder. */
  readonly file: string;
  readonly models: readonly ModelSpec[];
  /** The `ci:` block, resolved (defaults filled in when models.yaml has none). */
  readonly ci: CiSettings;
  /** The `kubernetes:` block, resolved (defaults filled in when models.yaml has none). */
  readonly kubernetes: KubernetesSettings;
  /** `environments:` in promotion order (`staging`, `production` when models.yaml has none); never empty. */
  readonly environments: readonly EnvironmentSpec[];
}

/** A variant together with the model it belongs to: what build, loadtest and deploy act on. */
export interface Deployable {
  readonly model: ModelSpec;
  readonly variant: Variant;
}
