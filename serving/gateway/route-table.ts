import type { FleetSpec, ModelSource, ScaleToZeroSettings, Variant } from '../../generator/fleet/types.js';

/** A JSON Schema object (the OpenAPI 3.0 subset), kept as plain data so route tables stay JSON. */
export type JsonValue = string | number | boolean | null | readonly JsonValue[] | { readonly [key: string]: JsonValue };
export type JsonSchema = { readonly [key: string]: JsonValue };

/** The scoring path model servers answer: MLflow's scoring protocol (https://mlflow.org/docs/latest/ml/deployment/deploy-model-locally/). */
export const DEFAULT_PREDICT_PATH = '/invocations';
/** The path modelfleet's model server answers 200 on once its model loaded and ran once. */
export const DEFAULT_READY_PATH = '/readyz';

/** Bumped when the routes.json layout changes, so an old gateway refuses a newer file instead of misreading it. */
export const ROUTE_TABLE_FORMAT = 1;

export interface RouteVariant {
  /** Name within the model (`main` without A/B). */
  readonly id: string;
  /** Unique across the fleet; the Kubernetes name and job prefix of this variant. */
  readonly deployName: string;
  /** Base URL of the variant's model server, e.g. `http://127.0.0.1:8081` or `http://match-a.models.svc:8080`. */
  readonly upstream: string;
  /** Path on the upstream that takes scoring requests (`/invocations` for modelfleet's model server). */
  readonly predictPath: string;
  /** Percent of the route's traffic (0 for shadows). */
  readonly weight: number;
  /** A shadow gets a mirrored copy of each request; its answer is dropped. */
  readonly shadow: boolean;
  /** Where the model comes from, e.g. `path:examples/models/match-logreg-v1`, `mlflow:match@champion`, `image:repo/img:tag`. */
  readonly source: string;
  /** JSON Schema of the request body, when the model's signature was readable. */
  readonly inputSchema?: JsonSchema;
  /** One valid request body, when the model ships an input example. */
  readonly inputExample?: JsonValue;
  /** Present when the model may sleep (`scaling.minReplicas: 0`): the gateway holds requests while it wakes. */
  readonly scaleToZero?: RouteScaleToZero;
  /** The model version this instance serves (MLflow registry version or `local-<digest>`), when known: `<route>/versions/<version>` reaches it. */
  readonly version?: string;
}

/**
 * An earlier version of a variant that still runs beside the current one (models.yaml
 * `keepVersions:`): only `<route>/versions/<version>` reaches it, never the A/B split.
 */
export interface KeptVersion {
  /** The variant it was deployed as. */
  readonly id: string;
  readonly deployName: string;
  readonly version: string;
  readonly upstream: string;
  readonly predictPath: string;
  /** What it serves (image or model folder). */
  readonly source: string;
}

/** How the gateway holds requests for a sleeping variant (models.yaml `scaleToZero:`), and where it sees the variant ready. */
export interface RouteScaleToZero extends ScaleToZeroSettings {
  /** Path on the upstream that answers 200 once the model server is ready (`/readyz` for modelfleet's). */
  readonly readyPath: string;
  /** Held requests in flight at once while a woken variant catches up: one batch (batching.maxBatchSize), or 1 without batching. */
  readonly concurrency: number;
}

export interface RouteEntry {
  /** `/endpoint/param/...`, e.g. `/probability/2/TAXI/trafficaware`. */
  readonly route: string;
  readonly model: string;
  /** Request header whose value keeps one caller on one variant. */
  readonly stickyHeader: string;
  /** Serving variants first (in models.yaml order), then shadows. */
  readonly variants: readonly RouteVariant[];
  /** Earlier versions still running, newest first (on Kubernetes every running version: a rollback switches there without a gateway deploy); absent when none are. */
  readonly kept?: readonly KeptVersion[];
}

/** What joins a route and a version in the path that reaches that version. */
export const VERSIONS_INFIX = '/versions/';

/** The path that reaches one version of a route. */
export function versionPath(route: string, version: string): string {
  return `${route}${VERSIONS_INFIX}${version}`;
}

/** What the gateway serves: every route with its variants. Plain JSON (routes.json). */
export interface RouteTable {
  readonly format: typeof ROUTE_TABLE_FORMAT;
  /** Sorted by route, so the same fleet and upstreams give a byte-identical file. */
  readonly routes: readonly RouteEntry[];
}

/** What is known about a variant's inputs, from its MLflow signature (see readRouteSchemas). */
export interface VariantInputs {
  readonly schema?: JsonSchema;
  readonly example?: JsonValue;
}

/** What runs of one variant, by version: the current instance's version and the kept earlier ones. */
export interface VariantVersions {
  readonly current?: string;
  readonly kept: readonly { readonly version: string; readonly upstream: string; readonly source: string }[];
}

export interface BuildRouteTableOptions {
  /** Input schema and example of a variant, by deployName; undefined when unknown. */
  readonly inputsFor?: (deployName: string) => VariantInputs | undefined;
  /** Versions of a variant, by deployName; undefined when unknown. */
  readonly versionsFor?: (deployName: string) => VariantVersions | undefined;
}

/**
 * The gateway's route table for a fleet. Pure: the caller decides where each variant runs
 * (`upstreamFor` returns its base URL: a Kubernetes Service in a cluster, 127.0.0.1:port locally).
 */
export function buildRouteTable(
  fleet: FleetSpec,
  upstreamFor: (deployName: string) => string,
  options: BuildRouteTableOptions = {},
): RouteTable {
  const routes = fleet.models.map((model): RouteEntry => {
    const ordered = [...model.variants.filter((v) => !v.shadow), ...model.variants.filter((v) => v.shadow)];
    const versions = new Map(ordered.map((v) => [v.deployName, options.versionsFor?.(v.deployName)]));
    const kept = ordered.flatMap((variant) => (versions.get(variant.deployName)?.kept ?? []).map((k): KeptVersion => ({
      id: variant.id,
      deployName: variant.deployName,
      version: k.version,
      upstream: k.upstream.replace(/\/+$/, ''),
      predictPath: predictPathOf(variant),
      source: k.source,
    })));
    return {
      route: model.route,
      model: model.name,
      stickyHeader: model.stickyHeader.toLowerCase(),
      variants: ordered.map((variant) => {
        const built = toRouteVariant(variant, upstreamFor(variant.deployName), options.inputsFor?.(variant.deployName), model.scaleToZero && { ...model.scaleToZero, concurrency: model.batching.enabled ? model.batching.maxBatchSize : 1 });
        const version = versions.get(variant.deployName)?.current;
        return version === undefined ? built : { ...built, version };
      }),
      ...(kept.length > 0 ? { kept } : {}),
    };
  });
  routes.sort((a, b) => (a.route < b.route ? -1 : a.route > b.route ? 1 : 0));
  return { format: ROUTE_TABLE_FORMAT, routes };
}

function toRouteVariant(variant: Variant, upstream: string, inputs: VariantInputs | undefined, scaleToZero: (ScaleToZeroSettings & { readonly concurrency: number }) | undefined): RouteVariant {
  return {
    id: variant.id,
    deployName: variant.deployName,
    upstream: upstream.replace(/\/+$/, ''),
    predictPath: predictPathOf(variant),
    weight: variant.shadow ? 0 : variant.weight,
    shadow: variant.shadow,
    source: describeSource(variant.source),
    ...(inputs?.schema === undefined ? {} : { inputSchema: inputs.schema }),
    ...(inputs?.example === undefined ? {} : { inputExample: inputs.example }),
    ...(scaleToZero === undefined ? {} : { scaleToZero: { ...scaleToZero, readyPath: variant.source.kind === 'image' ? variant.source.readyPath : DEFAULT_READY_PATH } }),
  };
}

function predictPathOf(variant: Variant): string {
  return variant.source.kind === 'image' ? variant.source.predictPath : DEFAULT_PREDICT_PATH;
}

/** A short, human-readable label of where a variant's model comes from (shown in /routes and the docs page). */
export function describeSource(source: ModelSource): string {
  switch (source.kind) {
    case 'path':
      return `path:${source.path}`;
    case 'mlflow':
      return `mlflow:${source.name}${source.version !== undefined ? `/${source.version}` : `@${source.alias ?? ''}`}`;
    case 'image':
      return `image:${source.image}`;
  }
}
