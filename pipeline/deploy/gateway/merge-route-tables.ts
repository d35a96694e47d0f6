/**
 * Pure: the route table `gateway:deploy` applies when some models' own jobs failed. The
 * generated child pipeline runs `gateway:deploy` even then (`when: always`), so one broken
 * model cannot hold back the routes of the whole fleet; this decides, per model, which entry
 * the gateway serves:
 *
 * - every serving variant runs this commit's version → the entry models.yaml asks for (a shadow
 *   that does not is left out of it: it only ever gets copies of requests);
 * - otherwise → the entry the live gateway served before (its previous route, weights and
 *   variants), so traffic never moves to a variant whose deploy failed;
 * - no usable previous entry (a model never deployed, or its old route now belongs to another
 *   model) → the model is left out: callers get 404, not a route to nothing.
 */
import type { RouteEntry, RouteTable, RouteVariant } from '../../../serving/gateway/route-table.js';

/** What the cluster runs for one deployable that has a Deployment. A deployable without one is absent from the map. */
export type DeployedVariant =
  | { readonly state: 'current' }
  /** Deployed, but not this commit's version; `why` says so for a person. */
  | { readonly state: 'outdated'; readonly why: string };

export interface RouteMergeInput {
  /** The table built from models.yaml (buildRouteTable). */
  readonly desired: RouteTable;
  /** The table the live gateway serves, or undefined when there is none (first gateway deploy) or it is unreadable. */
  readonly previous: RouteTable | undefined;
  /** Every deployable that has a Deployment, by deployName. */
  readonly deployed: ReadonlyMap<string, DeployedVariant>;
}

/** A variant of the desired entry that does not run this commit's version. */
export interface HeldBackVariant {
  readonly deployName: string;
  readonly shadow: boolean;
  /** undefined: it has no Deployment at all. */
  readonly why: string | undefined;
}

export type ModelRouting =
  /** The entry from models.yaml; `droppedShadows` lists shadows left out of it. */
  | { readonly outcome: 'new'; readonly model: string; readonly route: string; readonly droppedShadows: readonly HeldBackVariant[] }
  /** The live gateway's previous entry for the model (`route` is its previous route, `desiredRoute` the one models.yaml asks for). */
  | { readonly outcome: 'previous'; readonly model: string; readonly route: string; readonly desiredRoute: string; readonly heldBack: readonly HeldBackVariant[] }
  /** No entry at all; `why` says why no previous entry could be kept. */
  | { readonly outcome: 'left-out'; readonly model: string; readonly desiredRoute: string; readonly heldBack: readonly HeldBackVariant[]; readonly why: string };

export interface MergedRouteTable {
  readonly table: RouteTable;
  /** One per model of models.yaml, in the desired table's order (by route). */
  readonly models: readonly ModelRouting[];
}

export function mergeRouteTables(input: RouteMergeInput): MergedRouteTable {
  const { desired, previous, deployed } = input;
  const previousByModel = new Map((previous?.routes ?? []).map((entry) => [entry.model, entry] as const));
  const heldBackOf = (variant: RouteVariant): HeldBackVariant | undefined => {
    const found = deployed.get(variant.deployName);
    if (found?.state === 'current') return undefined;
    return { deployName: variant.deployName, shadow: variant.shadow, why: found?.why };
  };

  const routes: RouteEntry[] = [];
  const outcomes = new Map<string, ModelRouting>();
  const notCurrent: Array<{ entry: RouteEntry; heldBack: HeldBackVariant[] }> = [];
  for (const entry of desired.routes) {
    const heldBack = entry.variants.map(heldBackOf).filter((h): h is HeldBackVariant => h !== undefined);
    if (heldBack.some((h) => !h.shadow)) {
      notCurrent.push({ entry, heldBack });
      continue;
    }
    const dropped = new Set(heldBack.map((h) => h.deployName));
    routes.push(dropped.size === 0 ? entry : { ...entry, variants: entry.variants.filter((v) => !dropped.has(v.deployName)) });
    outcomes.set(entry.model, { outcome: 'new', model: entry.model, route: entry.route, droppedShadows: heldBack });
  }

  // New entries first: a model on its new route wins a route that a held-back model used to have.
  const owners = new Map(routes.map((entry) => [entry.route, entry.model] as const));
  for (const { entry, heldBack } of notCurrent) {
    const leaveOut = (why: string) => outcomes.set(entry.model, { outcome: 'left-out', model: entry.model, desiredRoute: entry.route, heldBack, why });
    const before = previousByModel.get(entry.model);
    if (!before) {
      leaveOut('the gateway never routed to it');
      continue;
    }
    const owner = owners.get(before.route);
    if (owner !== undefined) {
      leaveOut(`its previous route ${before.route} now belongs to model ${owner}`);
      continue;
    }
    const gone = before.variants.filter((v) => !v.shadow && !deployed.has(v.deployName)).map((v) => v.deployName);
    if (gone.length > 0) {
      leaveOut(`its previous route pointed at ${gone.join(', ')}, which ${gone.length === 1 ? 'has' : 'have'} no Deployment`);
      continue;
    }
    // A shadow of the previous entry that is gone gets no more copies; the serving split stays as it was.
    routes.push({ ...before, variants: before.variants.filter((v) => !v.shadow || deployed.has(v.deployName)) });
    owners.set(before.route, entry.model);
    outcomes.set(entry.model, { outcome: 'previous', model: entry.model, route: before.route, desiredRoute: entry.route, heldBack });
  }

  routes.sort((a, b) => (a.route < b.route ? -1 : a.route > b.route ? 1 : 0));
  const models = desired.routes.map((entry) => outcomes.get(entry.model)).filter((m): m is ModelRouting => m !== undefined);
  return { table: { format: desired.format, routes }, models };
}

/**
 * One warning line per model not on the route models.yaml asks for (and per dropped shadow),
 * naming the model, what is wrong with which variant, and the jobs to re-run. `where` names the
 * target in the "has no Deployment" case, e.g. `namespace modelfleet-dev`.
 */
export function describeHeldBackRoutes(models: readonly ModelRouting[], where: string, environment?: string): string[] {
  const lines: string[] = [];
  for (const routing of models) {
    if (routing.outcome === 'new') {
      for (const shadow of routing.droppedShadows) {
        lines.push(`warning: model ${routing.model} gets its new route ${routing.route} without its shadow ${shadow.deployName}: ${describeVariant(shadow, where)}; ${rerun([shadow], environment)}`);
      }
      continue;
    }
    const serving = routing.heldBack.filter((h) => !h.shadow);
    const variants = serving.map((h) => `${h.deployName} ${describeVariant(h, where)}`).join('; ');
    const moved = routing.outcome === 'previous' && routing.route !== routing.desiredRoute ? `; ${routing.desiredRoute} answers 404 until then` : '';
    const what = routing.outcome === 'previous'
      ? `keeps its previous route table entry (${routing.route} with its earlier variants and weights${moved})`
      : `is left out of the route table (${routing.why}), so ${routing.desiredRoute} answers 404`;
    lines.push(`warning: model ${routing.model} ${what}: ${variants}; ${rerun(serving, environment)}`);
  }
  return lines;
}

function describeVariant(variant: HeldBackVariant, where: string): string {
  return variant.why ?? `has no Deployment in ${where} (its first deploy failed or has not run)`;
}

/** The jobs to re-run, as the child pipeline names them in `environment` (`<name>:deploy:<env>`, `gateway:deploy:<env>`). */
function rerun(variants: readonly HeldBackVariant[], environment: string | undefined): string {
  const job = (name: string) => (environment !== undefined ? `${name}:deploy:${environment}` : `${name}:deploy`);
  return `fix it and re-run ${variants.map((v) => `\`${job(v.deployName)}\``).join(', ')}, then \`${job('gateway')}\``;
}
