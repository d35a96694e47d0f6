import type { z } from 'zod';
import { toDnsLabel } from '../../lib/names.js';
import { suggestClosest } from './did-you-mean.js';
import type { FleetProblem } from './fleet-problem.js';
import { environmentSchema, type RawEnvironment, type RawModelEnvironment } from './fleet-schema.js';
import type { CanarySettings, EnvironmentSpec, EnvironmentTier, ModelEnvironmentSettings, ModelSource, Scaling } from './types.js';
import { formatKeyPath, type KeyPath } from './yaml-positions.js';
import { problemsFromZod } from './zod-problems.js';

/** What a fleet without `environments:` promotes through. */
export const DEFAULT_ENVIRONMENT_NAMES = ['staging', 'production'] as const;

/** One namespace per environment (`modelfleet-staging`), so staging never shares Services with production. */
export function defaultNamespace(environment: string): string {
  return toDnsLabel(`modelfleet-${environment}`);
}

/**
 * The tier GitLab would give the name, by the usual names only (GitLab guesses by substring,
 * which would make `preproduction` a production tier); anything else is `other`.
 */
const TIER_NAMES: ReadonlyMap<string, EnvironmentTier> = new Map([
  ['production', 'production'], ['prod', 'production'], ['live', 'production'],
  ['staging', 'staging'], ['stage', 'staging'], ['preprod', 'staging'], ['preproduction', 'staging'], ['pre-production', 'staging'],
  ['testing', 'testing'], ['test', 'testing'], ['qa', 'testing'],
  ['development', 'development'], ['dev', 'development'], ['review', 'development'],
]);

export function tierFromName(name: string): EnvironmentTier {
  return TIER_NAMES.get(name) ?? 'other';
}

function toEnvironment(raw: RawEnvironment): EnvironmentSpec {
  const tier = raw.tier ?? tierFromName(raw.name);
  return {
    name: raw.name,
    tier,
    namespace: raw.namespace ?? defaultNamespace(raw.name),
    ...(raw.context !== undefined ? { context: raw.context } : {}),
    ...(raw.url !== undefined ? { url: raw.url } : {}),
    // A production change waits for a person unless models.yaml says otherwise.
    gate: raw.gate ?? (tier === 'production' ? 'manual' : 'auto'),
    ...(raw.gate === 'canary' ? { canary: { ...CANARY_DEFAULTS, ...raw.canary } } : {}),
    ...(raw.autoStopIn !== undefined ? { autoStopIn: raw.autoStopIn.trim().replace(/\s+/g, ' ') } : {}),
    ...(raw.scaling !== undefined ? { scaling: { ...raw.scaling } } : {}),
    ...registryAliasOf(raw.registryAlias, tier),
  };
}

/** `production` on a production tier unless models.yaml names another alias or `false`. */
function registryAliasOf(raw: string | false | undefined, tier: EnvironmentTier): { registryAlias?: string } {
  if (raw === false) return {};
  const alias = raw ?? (tier === 'production' ? 'production' : undefined);
  return alias === undefined ? {} : { registryAlias: alias };
}

/** Flagger's analysis defaults (success rate ≥ 99%, p99 ≤ 500 ms) over one minute of traffic. */
export const CANARY_DEFAULTS: CanarySettings = { windowSeconds: 60, minSuccessRate: 99, maxP99Ms: 500, minRequests: 20 };

export const DEFAULT_ENVIRONMENTS: readonly EnvironmentSpec[] = DEFAULT_ENVIRONMENT_NAMES.map((name) => toEnvironment({ name }));

/**
 * The durations `autoStopIn` takes: `never`, or whole numbers with units, e.g. `30 minutes`,
 * `1 week 2 days`. A subset of what GitLab reads (https://docs.gitlab.com/ci/yaml/#environmentauto_stop_in),
 * so a value accepted here is never refused there.
 */
const DURATION_PART = /^(\d{1,6})\s*(seconds?|minutes?|hours?|days?|weeks?|months?|years?)$/;
const DURATION_HINT = 'write a duration such as `1 day`, `2 weeks` or `1 week 2 days` (units: seconds, minutes, hours, days, weeks, months, years), or `never`';

export function isGitlabDuration(text: string): boolean {
  const trimmed = text.trim();
  if (trimmed === 'never') return true;
  const parts = trimmed.match(/\d+\s*[a-z]+/g);
  if (parts === null || parts.join(' ').replace(/\s+/g, '') !== trimmed.replace(/\s+/g, '')) return false;
  let total = 0;
  for (const part of parts) {
    const match = DURATION_PART.exec(part);
    if (!match) return false;
    total += Number(match[1]);
  }
  return total > 0;
}

export interface ResolvedEnvironments {
  /** In promotion order; the defaults when models.yaml has no `environments:`. */
  readonly environments: readonly EnvironmentSpec[];
  readonly problems: FleetProblem[];
}

/**
 * Validates models.yaml's `environments:` and fills in each entry's defaults. Pure: problems
 * come back as data. With problems, the entries that parsed are still returned, so references
 * to them from models are not reported as unknown on top.
 */
export function resolveEnvironments(raw: unknown): ResolvedEnvironments {
  if (raw === undefined) return { environments: DEFAULT_ENVIRONMENTS, problems: [] };
  const base: KeyPath = ['environments'];
  if (!Array.isArray(raw) || raw.length === 0) {
    return {
      environments: DEFAULT_ENVIRONMENTS,
      problems: [{
        path: base,
        message: Array.isArray(raw) ? 'lists no environment' : 'must be a list of environments in promotion order',
        hint: 'e.g. `environments: [{ name: staging }, { name: production }]`, or remove the key for exactly that default',
      }],
    };
  }
  const problems: FleetProblem[] = [];
  const parsed: { readonly env: EnvironmentSpec; readonly index: number }[] = [];
  raw.forEach((entry: unknown, index) => {
    const result = environmentSchema.safeParse(entry);
    if (result.success && result.data.canary !== undefined && result.data.gate !== 'canary') {
      problems.push({ path: [...base, index, 'canary'], message: `environment "${result.data.name}" has canary settings but its gate is ${result.data.gate ?? 'the default'}`, hint: 'add `gate: canary` to use them, or remove `canary:`' });
    }
    if (result.success) parsed.push({ env: toEnvironment(result.data), index });
    else problems.push(...problemsFromZod(result.error, environmentSchema as z.ZodType, entry, [...base, index]));
  });
  problems.push(...orderProblems(parsed));
  return { environments: parsed.map((p) => p.env), problems };
}

/** Names and namespaces once each, production tiers last, durations GitLab reads. */
function orderProblems(parsed: readonly { readonly env: EnvironmentSpec; readonly index: number }[]): FleetProblem[] {
  const problems: FleetProblem[] = [];
  const names = new Map<string, number>();
  const places = new Map<string, { readonly name: string; readonly index: number }>();
  let production: { readonly name: string; readonly index: number } | undefined;
  for (const [position, { env, index }] of parsed.entries()) {
    const at = (...rest: string[]): KeyPath => ['environments', index, ...rest];
    problems.push(...canaryProblems(env, position === 0, at));
    const first = names.get(env.name);
    if (first !== undefined) {
      problems.push({ path: at('name'), message: `environment "${env.name}" is listed twice (first at ${formatKeyPath(['environments', first])})`, hint: 'list each environment once, in promotion order' });
      continue;
    }
    names.set(env.name, index);

    const place = `${env.context ?? ''}\u0000${env.namespace}`;
    const sharing = places.get(place);
    if (sharing) {
      problems.push({
        path: at('namespace'),
        message: `environment "${env.name}" deploys to namespace ${env.namespace}${env.context ? ` of context ${env.context}` : ''}, like "${sharing.name}" (${formatKeyPath(['environments', sharing.index])}): a deploy to one would replace the other`,
        hint: 'give each environment its own `namespace:` (or its own cluster `context:`)',
      });
    } else places.set(place, { name: env.name, index });

    if (env.tier === 'production') production ??= { name: env.name, index };
    else if (production) {
      problems.push({
        path: at('name'),
        message: `environment "${env.name}" (tier ${env.tier}) comes after the production environment "${production.name}" (${formatKeyPath(['environments', production.index])}): it would get a change only after production has it`,
        hint: `list environments in promotion order, production last: move "${env.name}" above "${production.name}"`,
      });
    }

    if (env.autoStopIn !== undefined) {
      if (!isGitlabDuration(env.autoStopIn)) {
        problems.push({ path: at('autoStopIn'), message: `"${env.autoStopIn}" is not a duration GitLab reads`, hint: DURATION_HINT });
      } else if (env.tier === 'production' && env.autoStopIn !== 'never') {
        problems.push({ path: at('autoStopIn'), message: `GitLab would stop the production environment "${env.name}" after ${env.autoStopIn}`, hint: 'autoStopIn is for review environments: remove it here (or give the environment another tier)' });
      }
    }
  }
  return problems;
}

/** A canary gate checks the environment before it, so the first has none; `canary:` settings need the gate. */
function canaryProblems(env: EnvironmentSpec, first: boolean, at: (...rest: string[]) => KeyPath): FleetProblem[] {
  if (env.gate !== 'canary') return [];
  if (first) {
    return [{ path: at('gate'), message: `environment "${env.name}" is the first one: a canary gate checks the environment before it, and there is none`, hint: 'use `gate: auto` or `gate: manual` here, and `gate: canary` on a later environment (e.g. production after staging)' }];
  }
  return [];
}

/** What a model's environment settings are checked against: its resolved scaling and source. */
export interface ModelForEnvironments {
  readonly name: string;
  readonly scaling: Scaling;
  readonly source: ModelSource | undefined;
  readonly hasAbTest: boolean;
}

/**
 * A model's `environments:` block: every name must be an environment of the fleet, a pin needs
 * an MLflow model without an A/B test, and every environment's merged scaling must hold (the
 * fleet environment's over the model's, the model's own environment settings over both).
 * Undefined when the model has no block; problems are pushed, not thrown.
 */
export function resolveModelEnvironments(
  raw: Readonly<Record<string, RawModelEnvironment>> | undefined,
  model: ModelForEnvironments,
  environments: readonly EnvironmentSpec[],
  base: KeyPath,
  problems: FleetProblem[],
): Readonly<Record<string, ModelEnvironmentSettings>> | undefined {
  const known = environments.map((e) => e.name);
  const settings: Record<string, ModelEnvironmentSettings> = {};
  for (const [name, own] of Object.entries(raw ?? {})) {
    const at = (...rest: string[]): KeyPath => [...base, 'environments', name, ...rest];
    if (!known.includes(name)) {
      const suggestion = suggestClosest(name, known);
      problems.push({
        path: at(),
        message: `unknown environment "${name}"`,
        hint: `${suggestion ? `did you mean "${suggestion}"? ` : ''}the fleet's environments are ${known.join(', ')} (\`environments:\` at the top level lists them)`,
      });
      continue;
    }
    const pin = resolvePin(own, model, at, problems);
    settings[name] = { ...(own.scaling !== undefined ? { scaling: { ...own.scaling } } : {}), ...(pin ? { pin } : {}), ...(own.keepVersions !== undefined ? { keepVersions: own.keepVersions } : {}) };
  }
  for (const [index, env] of environments.entries()) scalingProblems(model, env, index, settings[env.name], base, problems);
  return raw === undefined ? undefined : settings;
}

function resolvePin(own: RawModelEnvironment, model: ModelForEnvironments, at: (...rest: string[]) => KeyPath, problems: FleetProblem[]): ModelEnvironmentSettings['pin'] {
  if (own.version === undefined && own.alias === undefined) return undefined;
  const key = own.version !== undefined ? 'version' : 'alias';
  if (own.version !== undefined && own.alias !== undefined) {
    problems.push({ path: at('alias'), message: 'set either version or alias, not both', hint: 'remove one of them' });
    return undefined;
  }
  if (model.hasAbTest) {
    problems.push({ path: at(key), message: 'a model with an A/B test cannot pin one version per environment (each variant has its own)', hint: 'remove the pin; set `version:` on the variants instead' });
    return undefined;
  }
  if (model.source?.kind !== 'mlflow') {
    problems.push({ path: at(key), message: `${key} only applies when the model's source is mlflow:`, hint: 'remove it: a path: or image: model serves what the commit holds' });
    return undefined;
  }
  return own.version !== undefined ? { version: String(own.version) } : { alias: own.alias ?? '' };
}

/** The scaling a model runs with in one environment: its own, then the environment's, then its own environment settings. */
export function scalingInEnvironment(scaling: Scaling, env: EnvironmentSpec | undefined, own: ModelEnvironmentSettings | undefined): Scaling {
  return { ...scaling, ...env?.scaling, ...own?.scaling };
}

function scalingProblems(model: ModelForEnvironments, env: EnvironmentSpec, index: number, own: ModelEnvironmentSettings | undefined, base: KeyPath, problems: FleetProblem[]): void {
  if (env.scaling === undefined && own?.scaling === undefined) return;
  const { scaling } = model;
  const merged = scalingInEnvironment(scaling, env, own);
  const ownAt = (key: string): KeyPath => [...base, 'environments', env.name, 'scaling', key];
  const envAt = (key: string): KeyPath => ['environments', index, 'scaling', key];
  // Point at the line that set the value: the model's own environment settings, else the environment's.
  const overridden = (key: keyof Scaling) => own?.scaling?.[key] !== undefined || env.scaling?.[key] !== undefined;
  const where = (key: keyof Scaling): FleetProblem['path'] => (own?.scaling?.[key] !== undefined ? ownAt(key) : env.scaling?.[key] !== undefined ? envAt(key) : [...base, 'scaling', key]);
  if (merged.minReplicas > merged.maxReplicas) {
    // Point at the value the environment changed: that is what broke the model's own pair.
    const key = overridden('minReplicas') ? 'minReplicas' : 'maxReplicas';
    problems.push({
      path: where(key),
      message: `model "${model.name}" in environment "${env.name}": minReplicas (${merged.minReplicas}) must not exceed maxReplicas (${merged.maxReplicas})`,
      hint: `raise maxReplicas or lower minReplicas for "${env.name}" (\`${formatKeyPath([...base, 'environments', env.name, 'scaling'])}\` sets them for this model alone)`,
    });
  }
  if ((merged.minReplicas === 0) !== (scaling.minReplicas === 0)) {
    problems.push({
      path: where('minReplicas'),
      message: `environment "${env.name}" ${merged.minReplicas === 0 ? `lets model "${model.name}" scale to zero` : `keeps replicas of model "${model.name}"`}, and the model itself ${scaling.minReplicas === 0 ? 'scales to zero' : 'keeps replicas'}: an environment cannot switch scale-to-zero (it changes which objects the model has)`,
      hint: merged.minReplicas === 0 ? 'use minReplicas of at least 1 here, or set `scaling: { minReplicas: 0 }` on the model itself' : 'use minReplicas: 0 here too, or let the model keep replicas everywhere',
    });
  }
}
