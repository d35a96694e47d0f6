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
  readonly location: SourceLocation;
}

export interface FleetSpec {
  /** Absolute path of the models.yaml this was read from; relative paths resolve against its folder. */
  readonly file: string;
  readonly models: readonly ModelSpec[];
}

/** A variant together with the model it belongs to: what build, loadtest and deploy act on. */
export interface Deployable {
  readonly model: ModelSpec;
  readonly variant: Variant;
}
