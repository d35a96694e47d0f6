import type { z } from 'zod';
import { suggestClosest } from './did-you-mean.js';
import { isPlainObject, mergeDeep, type PlainObject } from './deep-merge.js';
import { BUILTIN_SETTINGS, DEFAULT_KEEP_VERSIONS, DEPLOY_NAME_MAX, IMAGE_DEFAULTS, MAIN_VARIANT, RESERVED_NAMES, VERSIONS_SEGMENT } from './fleet-limits.js';
import type { FleetProblem } from './fleet-problem.js';
import {
  defaultsSchema,
  modelSchema,
  type RawDefaults,
  type RawImage,
  type RawMlflow,
  type RawModel,
  type RawVariant,
} from './fleet-schema.js';
import { resolveBulk } from './resolve-bulk.js';
import { DEFAULT_ENVIRONMENTS, resolveEnvironments, resolveModelEnvironments } from './resolve-environments.js';
import { resolveStream } from './resolve-stream.js';
import { resolveScaleToZero } from './resolve-scale-to-zero.js';
import { DEFAULT_CI_SETTINGS, resolveCi } from './resolve-ci.js';
import { DEFAULT_KUBERNETES_SETTINGS, resolveKubernetes, secretEnvProblems } from './resolve-kubernetes.js';
import type {
  Batching,
  CiSettings,
  EnvironmentSpec,
  KubernetesSettings,
  LoadTestSettings,
  ModelSource,
  ModelSpec,
  Scaling,
  Scheduling,
  SecretEnvVar,
  SourceLocation,
  Variant,
} from './types.js';
import { formatKeyPath, type KeyPath } from './yaml-positions.js';
import { problemsFromZod } from './zod-problems.js';

export interface ResolvedFleet {
  readonly models: ModelSpec[];
  readonly ci: CiSettings;
  readonly kubernetes: KubernetesSettings;
  readonly environments: readonly EnvironmentSpec[];
  readonly problems: FleetProblem[];
}

type Locate = (path: KeyPath) => SourceLocation | undefined;

const TOP_LEVEL_KEYS = ['defaults', 'models', 'ci', 'kubernetes', 'environments'];

/**
 * Validates the parsed models.yaml value and turns it into model specs, with `defaults:`
 * merged in. Pure: all problems come back as data, none are thrown.
 */
export function resolveFleet(value: unknown, locate: Locate): ResolvedFleet {
  const problems: FleetProblem[] = [];
  if (!isPlainObject(value)) {
    problems.push({
      path: [],
      message: value === undefined || value === null ? 'the file is empty' : 'must be a mapping with a `models:` list',
      hint: 'start the file with `models:` followed by one `- name: ...` entry per model',
    });
    return { models: [], ci: DEFAULT_CI_SETTINGS, kubernetes: DEFAULT_KUBERNETES_SETTINGS, environments: DEFAULT_ENVIRONMENTS, problems };
  }

  for (const key of Object.keys(value)) {
    if (TOP_LEVEL_KEYS.includes(key)) continue;
    const suggestion = suggestClosest(key, TOP_LEVEL_KEYS);
    problems.push({
      path: [key],
      message: `unknown key "${key}"`,
      hint: suggestion ? `did you mean "${suggestion}"?` : 'the top level holds only `defaults:`, `models:`, `ci:`, `kubernetes:` and `environments:`',
    });
  }

  const { ci, problems: ciProblems } = resolveCi(value.ci);
  problems.push(...ciProblems);
  const { kubernetes, problems: kubernetesProblems } = resolveKubernetes(value.kubernetes);
  problems.push(...kubernetesProblems);
  const { environments, problems: environmentProblems } = resolveEnvironments(value.environments);
  problems.push(...environmentProblems);
  problems.push(...secretEnvProblems(value.defaults, ['defaults']));

  let defaults: RawDefaults = {};
  let defaultsValid = true;
  if (value.defaults !== undefined) {
    const parsed = defaultsSchema.safeParse(value.defaults);
    if (parsed.success) defaults = parsed.data;
    else {
      defaultsValid = false;
      problems.push(...problemsFromZod(parsed.error, defaultsSchema as z.ZodType, value.defaults, ['defaults']));
      defaults = keepValidDefaults(value.defaults);
    }
  }

  const rawModels = value.models;
  if (!Array.isArray(rawModels)) {
    problems.push(
      rawModels === undefined || rawModels === null
        ? { path: ['models'], message: 'is required', hint: 'add `models:` with one `- name: ...` entry per model' }
        : { path: ['models'], message: 'must be a list (one `- name: ...` entry per model)' },
    );
    return { models: [], ci, kubernetes, environments, problems };
  }

  const models: ModelSpec[] = [];
  const identities: ModelIdentity[] = [];
  rawModels.forEach((raw: unknown, index) => {
    const basePath: KeyPath = ['models', index];
    problems.push(...secretEnvProblems(raw, basePath));
    const parsed = modelSchema.safeParse(raw);
    if (!parsed.success) {
      problems.push(...problemsFromZod(parsed.error, modelSchema as z.ZodType, raw, basePath));
      return;
    }
    const resolved = resolveModel(parsed.data, defaults, defaultsValid, { base: basePath, environments }, locate);
    problems.push(...resolved.problems);
    identities.push(identify(parsed.data, defaults, basePath));
    if (resolved.model) models.push(resolved.model);
  });

  problems.push(...findCollisions(identities, locate));
  return { models, ci, kubernetes, environments, problems };
}

/** The sections of a broken `defaults:` block that are fine on their own, so checks of models stay meaningful. */
function keepValidDefaults(raw: unknown): RawDefaults {
  if (!isPlainObject(raw)) return {};
  const kept: PlainObject = {};
  for (const [key, schema] of Object.entries(defaultsSchema.shape)) {
    const parsed = (schema as z.ZodType).safeParse(raw[key]);
    if (parsed.success && parsed.data !== undefined) kept[key] = parsed.data;
  }
  return kept as RawDefaults;
}

interface ResolvedModel {
  readonly model?: ModelSpec;
  readonly problems: FleetProblem[];
}

function resolveModel(raw: RawModel, defaults: RawDefaults, defaultsValid: boolean, place: { base: KeyPath; environments: readonly EnvironmentSpec[] }, locate: Locate): ResolvedModel {
  const { base } = place;
  const problems: FleetProblem[] = [];
  const at = (...rest: (string | number)[]): KeyPath => [...base, ...rest];
  const fromDefaults = (...rest: (string | number)[]): KeyPath[] => [at(...rest), ['defaults', ...rest]];

  const settings = mergeDeep(mergeDeep(BUILTIN_SETTINGS as unknown as PlainObject, defaults as PlainObject), raw as PlainObject);
  const batching = { ...(settings.batching as Batching) };
  const scaling = { ...(settings.scaling as Scaling) };
  const loadtest = { ...(settings.loadtest as LoadTestSettings) };
  const rawScheduling = settings.scheduling as Scheduling;
  // Kubernetes' default operator is Equal; spelling it out keeps every consumer simple.
  const scheduling: Scheduling = {
    nodeSelector: { ...rawScheduling.nodeSelector },
    tolerations: rawScheduling.tolerations.map((t) => ({ ...t, operator: t.operator ?? 'Equal' })),
  };
  const secretEnv = (settings.secretEnv as readonly SecretEnvVar[]).map(({ name, secret, key }) => ({ name, secret, key }));
  const envFromSecrets = [...(settings.envFrom as readonly string[])];

  if (RESERVED_NAMES.has(raw.name)) {
    problems.push({ path: at('name'), message: `"${raw.name}" is reserved for modelfleet's own jobs`, hint: 'pick another model name' });
  }

  const endpoint = raw.endpoint ?? defaults.endpoint;
  if (endpoint === undefined && defaultsValid) {
    problems.push({ path: at('endpoint'), message: 'is required', hint: 'add `endpoint: probability` to this model, or once under `defaults:`' });
  }
  const parameters = (raw.parameters ?? []).map(String);
  const route = `/${[endpoint ?? '', ...parameters].join('/')}`;

  if (scaling.minReplicas > scaling.maxReplicas) {
    problems.push({
      path: at('scaling', 'minReplicas'),
      locateAt: fromDefaults('scaling', 'minReplicas'),
      message: `minReplicas (${scaling.minReplicas}) must not exceed maxReplicas (${scaling.maxReplicas})`,
      hint: 'raise scaling.maxReplicas or lower scaling.minReplicas',
    });
  }
  scheduling.tolerations.forEach((toleration, index) => {
    if (toleration.operator === 'Exists' && toleration.value !== undefined) {
      problems.push({
        path: at('scheduling', 'tolerations', index, 'value'),
        locateAt: fromDefaults('scheduling', 'tolerations', index, 'value'),
        message: 'a toleration with operator Exists takes no value',
        hint: 'remove value, or use operator: Equal (https://kubernetes.io/docs/concepts/scheduling-eviction/taint-and-toleration/)',
      });
    }
  });

  const ownSources = sourceKeys(raw);
  if (ownSources.length > 1) {
    problems.push({
      path: at(ownSources[1] ?? 'path'),
      message: `has ${ownSources.length} model sources (${ownSources.join(', ')})`,
      hint: 'keep exactly one of mlflow:, path: or image: (A/B variants may override it)',
    });
  }
  const modelSource = ownSources.length === 1 ? toSource(raw, at(), problems) : undefined;

  let variants: Variant[];
  if (raw.ab === undefined) {
    if (ownSources.length === 0) {
      problems.push({
        path: at('name'),
        message: `model "${raw.name}" has no model source`,
        hint: 'add one of `mlflow: {name: ..., version: 1}`, `path: examples/models/<dir>` or `image: {name: ..., schema: ...}`',
      });
    }
    variants = modelSource ? [{ id: MAIN_VARIANT, deployName: raw.name, source: modelSource, weight: 100, shadow: false }] : [];
  } else {
    variants = resolveVariants(raw, raw.ab.variants, modelSource, at, problems);
  }

  const stickyHeader = raw.ab?.stickyHeader ?? defaults.ab?.stickyHeader ?? BUILTIN_SETTINGS.ab.stickyHeader;
  const bulk = resolveBulk(raw.bulk, defaults.bulk, { base, variants, secretEnv }, problems);
  const stream = resolveStream(raw.stream, defaults.stream, { base, modelName: raw.name, variants, secretEnv }, problems);
  const scaleToZero = resolveScaleToZero(scaling.minReplicas, raw.scaleToZero, defaults.scaleToZero, base, problems);
  const keepVersions = raw.keepVersions ?? defaults.keepVersions ?? DEFAULT_KEEP_VERSIONS;
  const environments = resolveModelEnvironments(raw.environments, { name: raw.name, scaling, source: modelSource, hasAbTest: raw.ab !== undefined }, place.environments, base, problems);
  if (problems.length > 0 || endpoint === undefined) return { problems };
  const location = locate(base) ?? { line: 1, column: 1 };
  return {
    problems,
    model: {
      name: raw.name, endpoint, parameters, route, variants, stickyHeader, batching, scaling, loadtest, scheduling, secretEnv, envFromSecrets, keepVersions,
      ...(bulk ? { bulk } : {}), ...(stream ? { stream } : {}), ...(scaleToZero ? { scaleToZero } : {}), ...(environments ? { environments } : {}), location,
    },
  };
}

function resolveVariants(
  raw: RawModel,
  rawVariants: readonly RawVariant[],
  modelSource: ModelSource | undefined,
  at: (...rest: (string | number)[]) => KeyPath,
  problems: FleetProblem[],
): Variant[] {
  const variants: Variant[] = [];
  const seen = new Map<string, number>();
  let weightSum = 0;
  let missingWeight = false;
  let lastLive: number | undefined;
  rawVariants.forEach((rv, j) => {
    const vAt = (...rest: (string | number)[]) => at('ab', 'variants', j, ...rest);
    const first = seen.get(rv.name);
    if (first !== undefined) {
      problems.push({
        path: vAt('name'),
        message: `variant "${rv.name}" appears twice in model "${raw.name}" (first at ${formatKeyPath(at('ab', 'variants', first))})`,
        hint: 'give each variant its own name, e.g. v1 and v2',
      });
    } else seen.set(rv.name, j);

    const shadow = rv.shadow ?? false;
    if (shadow) {
      if (rv.weight !== undefined && rv.weight !== 0) {
        problems.push({
          path: vAt('weight'),
          message: 'a shadow variant takes no weight (it receives a mirrored copy of the traffic)',
          hint: 'remove weight, or drop `shadow: true` to give it live traffic',
        });
      }
    } else {
      lastLive = j;
      if (rv.weight === undefined) {
        missingWeight = true;
        problems.push({ path: vAt('weight'), message: 'is required for a variant that takes live traffic', hint: 'add `weight: <percent>`; live weights add up to 100' });
      } else weightSum += rv.weight;
    }

    const source = resolveVariantSource(rv, modelSource, vAt, problems);
    if (source) variants.push({ id: rv.name, deployName: `${raw.name}-${rv.name}`, source, weight: shadow ? 0 : (rv.weight ?? 0), shadow });
  });

  if (lastLive === undefined) {
    problems.push({ path: at('ab', 'variants'), message: 'every variant is a shadow; at least one must take live traffic', hint: 'remove `shadow: true` from one variant' });
  } else if (!missingWeight && weightSum !== 100) {
    problems.push({
      path: at('ab', 'variants', lastLive, 'weight'),
      message: `weights must add up to 100 (they add up to ${weightSum})`,
      hint: 'change the weights of the live (non-shadow) variants so they sum to exactly 100',
    });
  }
  return variants;
}

function resolveVariantSource(
  rv: RawVariant,
  modelSource: ModelSource | undefined,
  vAt: (...rest: (string | number)[]) => KeyPath,
  problems: FleetProblem[],
): ModelSource | undefined {
  const own = sourceKeys(rv);
  const shorthand = (['version', 'alias'] as const).filter((k) => rv[k] !== undefined);
  if (own.length > 1) {
    problems.push({ path: vAt(own[1] ?? 'path'), message: `has ${own.length} model sources (${own.join(', ')})`, hint: 'keep exactly one of mlflow:, path: or image:' });
    return undefined;
  }
  if (shorthand.length > 0) {
    const key = shorthand[0] ?? 'version';
    if (own.length > 0) {
      problems.push({ path: vAt(key), message: `${key} next to ${own[0]}: is ambiguous`, hint: `move ${key} inside mlflow:, or remove it` });
      return undefined;
    }
    if (shorthand.length > 1) {
      problems.push({ path: vAt('alias'), message: 'set either version or alias, not both', hint: 'remove one of them' });
      return undefined;
    }
    if (modelSource?.kind !== 'mlflow') {
      problems.push({
        path: vAt(key),
        message: `${key} only applies when the model's source is mlflow:`,
        hint: 'give this variant its own source (path:, image: or mlflow: {name, version})',
      });
      return undefined;
    }
    return rv.version !== undefined
      ? { kind: 'mlflow', name: modelSource.name, version: String(rv.version) }
      : { kind: 'mlflow', name: modelSource.name, alias: rv.alias ?? '' };
  }
  if (own.length === 1) return toSource(rv, vAt(), problems);
  if (!modelSource) {
    problems.push({
      path: vAt('name'),
      message: `variant "${rv.name}" has no model source`,
      hint: 'add mlflow:, path: or image: to this variant, or one source to the model for all variants',
    });
  }
  return modelSource;
}

function sourceKeys(entry: { mlflow?: unknown; path?: unknown; image?: unknown }): ('mlflow' | 'path' | 'image')[] {
  return (['mlflow', 'path', 'image'] as const).filter((k) => entry[k] !== undefined);
}

function toSource(entry: { mlflow?: RawMlflow; path?: string; image?: RawImage }, base: KeyPath, problems: FleetProblem[]): ModelSource | undefined {
  if (entry.mlflow) {
    const { name, version, alias } = entry.mlflow;
    if ((version === undefined) === (alias === undefined)) {
      problems.push({
        path: [...base, 'mlflow'],
        message: version === undefined ? 'needs a version or an alias' : 'set either version or alias, not both',
        hint: 'e.g. `mlflow: {name: match_probability_2_taxi_trafficaware, version: 1}` or `alias: champion`',
      });
      return undefined;
    }
    return version !== undefined ? { kind: 'mlflow', name, version: String(version) } : { kind: 'mlflow', name, alias: alias ?? '' };
  }
  if (entry.path !== undefined) return { kind: 'path', path: entry.path.replace(/\/+$/, '') };
  if (entry.image) {
    const img = entry.image;
    return {
      kind: 'image',
      image: img.name,
      port: img.port ?? IMAGE_DEFAULTS.port,
      predictPath: img.predictPath ?? IMAGE_DEFAULTS.predictPath,
      readyPath: img.readyPath ?? IMAGE_DEFAULTS.readyPath,
      schema: img.schema,
    };
  }
  return undefined;
}

/** What must be unique across the fleet, known as soon as an entry passes the schema. */
interface ModelIdentity {
  readonly name: string;
  readonly base: KeyPath;
  readonly route: string | undefined;
  readonly deployNames: readonly { readonly deployName: string; readonly path: KeyPath; readonly isVariant: boolean; readonly variant: string }[];
}

function identify(raw: RawModel, defaults: RawDefaults, base: KeyPath): ModelIdentity {
  const endpoint = raw.endpoint ?? defaults.endpoint;
  const route = endpoint === undefined ? undefined : `/${[endpoint, ...(raw.parameters ?? []).map(String)].join('/')}`;
  const deployNames = raw.ab
    ? raw.ab.variants.map((v, j) => ({ deployName: `${raw.name}-${v.name}`, path: [...base, 'ab', 'variants', j, 'name'], isVariant: true, variant: v.name }))
    : [{ deployName: raw.name, path: [...base, 'name'], isVariant: false, variant: MAIN_VARIANT }];
  return { name: raw.name, base, route, deployNames };
}

/** Names and routes must be unique across the fleet, A/B variants included. */
function findCollisions(models: readonly ModelIdentity[], locate: Locate): FleetProblem[] {
  const problems: FleetProblem[] = [];
  const lineOf = (path: KeyPath) => {
    const loc = locate(path);
    return loc ? ` on line ${loc.line}` : '';
  };
  const modelNames = new Map<string, KeyPath>();
  const deployNames = new Map<string, { path: KeyPath; what: string }>();
  const routes = new Map<string, { path: KeyPath; name: string }>();

  for (const model of models) {
    const base = model.base;
    const firstModel = modelNames.get(model.name);
    if (firstModel) {
      problems.push({
        path: [...base, 'name'],
        message: `model name "${model.name}" is already used by ${formatKeyPath(firstModel)}${lineOf(firstModel)}`,
        hint: 'model names must be unique; rename one of them',
      });
      continue;
    }
    modelNames.set(model.name, base);

    const seenHere = new Set<string>();
    for (const { deployName, path, isVariant, variant } of model.deployNames) {
      // Duplicate variant names inside one model are reported by resolveVariants.
      if (seenHere.has(deployName)) continue;
      seenHere.add(deployName);
      const what = isVariant ? `variant "${variant}" of model "${model.name}" (${formatKeyPath(path)})` : `model "${model.name}" (${formatKeyPath(path)})`;
      if (deployName.length > DEPLOY_NAME_MAX) {
        problems.push({
          path,
          message: `deploy name "${deployName}" is ${deployName.length} characters; at most ${DEPLOY_NAME_MAX} fit`,
          hint: `shorten the ${isVariant ? 'model or variant' : 'model'} name: Kubernetes names are capped at 63 characters and modelfleet adds suffixes such as -config`,
        });
      }
      const clash = deployNames.get(deployName);
      if (clash) {
        problems.push({
          path,
          message: `deploy name "${deployName}" of ${what} is already taken by ${clash.what}${lineOf(clash.path)}`,
          hint: 'each model and each A/B variant (`<model>-<variant>`) needs its own name; rename one of them',
        });
      } else deployNames.set(deployName, { path, what });
    }

    if (model.route === undefined) continue;
    const routeClash = routes.get(model.route);
    if (routeClash) {
      problems.push({
        path: [...base, 'parameters'],
        locateAt: [[...base, 'parameters'], [...base, 'endpoint']],
        message: `route ${model.route} is already served by model "${routeClash.name}" (${formatKeyPath(routeClash.path)}${lineOf(routeClash.path)})`,
        hint: 'each route belongs to one model; to split its traffic between versions, use ab.variants on that one model',
      });
    } else routes.set(model.route, { path: base, name: model.name });
  }
  problems.push(...findVersionPathShadows(routes, lineOf));
  return problems;
}

/** A route under another model's `<route>/versions/` would take that model's version paths (docs/gateway.md, "Kept versions"). */
function findVersionPathShadows(routes: ReadonlyMap<string, { path: KeyPath; name: string }>, lineOf: (path: KeyPath) => string): FleetProblem[] {
  const problems: FleetProblem[] = [];
  for (const [route, { path }] of routes) {
    for (const [other, owner] of routes) {
      if (!route.startsWith(`${other}/${VERSIONS_SEGMENT}/`)) continue;
      problems.push({
        path: [...path, 'parameters'],
        locateAt: [[...path, 'parameters'], [...path, 'endpoint']],
        message: `route ${route} lies under ${other}/${VERSIONS_SEGMENT}/, where the gateway answers the kept versions of model "${owner.name}" (${formatKeyPath(owner.path)}${lineOf(owner.path)})`,
        hint: `pick another endpoint or parameters for this model: no parameter may be "${VERSIONS_SEGMENT}" right after another model's route`,
      });
    }
  }
  return problems;
}
