import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { deployableInEnvironment, findEnvironment } from '../../generator/fleet/find-environment.js';
import { listDeployables } from '../../generator/fleet/find-deployable.js';
import { FleetInvalidError } from '../../generator/fleet/load-fleet.js';
import { DEFAULT_ENVIRONMENTS, isGitlabDuration, resolveEnvironments, tierFromName } from '../../generator/fleet/resolve-environments.js';
import { buildConfigDigests } from '../../generator/plan/deployable-config.js';
import { selectChanges } from '../../generator/plan/select-changes.js';
import { UserError } from '../../lib/errors/user-error.js';
import { fleetErrorOf, fleetFromText } from './support/generator-fixtures.js';

const MODELS = 'models:\n  - name: m\n    endpoint: probability\n    path: models/m\n';

describe('environments: in models.yaml', () => {
  it('defaults to staging, then production behind a manual gate, each in its own namespace', () => {
    expect(fleetFromText(MODELS).environments).toEqual([
      { name: 'staging', tier: 'staging', namespace: 'modelfleet-staging', gate: 'auto' },
      { name: 'production', tier: 'production', namespace: 'modelfleet-production', gate: 'manual', registryAlias: 'production' },
    ]);
    expect(DEFAULT_ENVIRONMENTS.map((e) => e.name)).toEqual(['staging', 'production']);
  });

  it('fills in the tier from the name, the gate from the tier, and keeps what the file says', () => {
    const fleet = fleetFromText(`environments:
  - { name: review, autoStopIn: 1 week }
  - { name: qa, gate: manual }
  - { name: live, namespace: ml-live, context: "group/project:agent", url: https://ml.example.com, scaling: { minReplicas: 3 } }
  - { name: canary, tier: production, gate: auto }
${MODELS}`);
    expect(fleet.environments).toEqual([
      { name: 'review', tier: 'development', namespace: 'modelfleet-review', gate: 'auto', autoStopIn: '1 week' },
      { name: 'qa', tier: 'testing', namespace: 'modelfleet-qa', gate: 'manual' },
      { name: 'live', tier: 'production', namespace: 'ml-live', context: 'group/project:agent', url: 'https://ml.example.com', gate: 'manual', scaling: { minReplicas: 3 }, registryAlias: 'production' },
      { name: 'canary', tier: 'production', namespace: 'modelfleet-canary', gate: 'auto', registryAlias: 'production' },
    ]);
    expect(tierFromName('preproduction')).toBe('staging');
    expect(tierFromName('eu-west')).toBe('other');
  });

  it('fills a canary gate in with Flagger\'s defaults, over what the file gives', () => {
    const fleet = fleetFromText(`environments:\n  - name: staging\n  - { name: production, gate: canary, canary: { windowSeconds: 120, maxP99Ms: 250 } }\n${MODELS}`);
    expect(fleet.environments[1]).toMatchObject({ gate: 'canary', canary: { windowSeconds: 120, minSuccessRate: 99, maxP99Ms: 250, minRequests: 20 } });
  });

  it('refuses a canary gate on the first environment, and canary settings without the gate', () => {
    const first = fleetErrorOf(`environments:\n  - { name: staging, gate: canary }\n  - name: production\n${MODELS}`);
    expect(first.message).toContain('environments[0].gate: environment "staging" is the first one: a canary gate checks the environment before it, and there is none');
    const loose = fleetErrorOf(`environments:\n  - name: staging\n  - { name: production, canary: { minRequests: 5 } }\n${MODELS}`);
    expect(loose.message).toContain('environments[1].canary: environment "production" has canary settings but its gate is the default');
    const bad = fleetErrorOf(`environments:\n  - name: staging\n  - { name: production, gate: canary, canary: { minSuccessRate: 101, windowSeconds: 5 } }\n${MODELS}`);
    expect(bad.message).toMatch(/canary\.minSuccessRate: must be at most 100 \(percent\)/);
    expect(bad.message).toMatch(/canary\.windowSeconds: must be at least 10/);
  });

  it('names an unknown environment a model refers to, with a did-you-mean', () => {
    const err = fleetErrorOf(`${MODELS}    environments:\n      prodution: { scaling: { minReplicas: 2 } }\n`);
    expect(err.message).toContain('models.yaml:6:7 models[0].environments.prodution: unknown environment "prodution"\n    hint: did you mean "production"? the fleet\'s environments are staging, production');
  });

  it('refuses an environment listed twice, two environments in one namespace, and production before staging', () => {
    const twice = fleetErrorOf(`environments:\n  - name: staging\n  - name: staging\n${MODELS}`);
    expect(twice.message).toContain('models.yaml:3:5 environments[1].name: environment "staging" is listed twice (first at environments[0])');
    const shared = fleetErrorOf(`environments:\n  - name: staging\n  - { name: production, namespace: modelfleet-staging }\n${MODELS}`);
    expect(shared.message).toContain('environments[1].namespace: environment "production" deploys to namespace modelfleet-staging, like "staging" (environments[0]): a deploy to one would replace the other');
    // Same namespace name, different clusters: fine.
    expect(fleetFromText(`environments:\n  - { name: staging, namespace: ml, context: a }\n  - { name: production, namespace: ml, context: b }\n${MODELS}`).environments).toHaveLength(2);
    const order = fleetErrorOf(`environments:\n  - name: production\n  - name: staging\n${MODELS}`);
    expect(order.message).toContain('environments[1].name: environment "staging" (tier staging) comes after the production environment "production" (environments[0])');
    expect(order.message).toContain('hint: list environments in promotion order, production last: move "staging" above "production"');
  });

  it('refuses durations GitLab would not read, and stopping production', () => {
    expect(fleetErrorOf(`environments:\n  - { name: review, autoStopIn: "1 fortnight" }\n${MODELS}`).message)
      .toContain('environments[0].autoStopIn: "1 fortnight" is not a duration GitLab reads\n    hint: write a duration such as `1 day`');
    expect(fleetErrorOf(`environments:\n  - { name: production, autoStopIn: 2 days }\n${MODELS}`).message).toContain('GitLab would stop the production environment "production" after 2 days');
    expect(fleetErrorOf(`environments: []\n${MODELS}`).message).toContain('environments: lists no environment');
    expect(fleetErrorOf(`environments: { name: staging }\n${MODELS}`).message).toContain('environments: must be a list of environments in promotion order');
    expect(fleetErrorOf(`environments:\n  - { name: Staging, gate: sometimes }\n${MODELS}`).message).toMatch(/environments\[0\]\.name: must be lower-case letters[\s\S]*environments\[0\]\.gate: /);
  });

  it('merges scaling: the model\'s, then the environment\'s, then the model\'s own for that environment; and pins a registry version', () => {
    const fleet = fleetFromText(`environments:
  - { name: staging, scaling: { minReplicas: 1, maxReplicas: 2 } }
  - name: production
defaults:
  endpoint: probability
  scaling: { minReplicas: 2, maxReplicas: 6 }
models:
  - name: m
    mlflow: { name: reg_m, version: 4 }
    environments:
      production: { version: 3, scaling: { maxReplicas: 12 } }
`);
    const [deployable] = listDeployables(fleet);
    if (!deployable) throw new Error('no deployable');
    const staging = deployableInEnvironment(deployable, findEnvironment(fleet, 'staging', {}));
    const production = deployableInEnvironment(deployable, findEnvironment(fleet, 'production', {}));
    expect(staging.model.scaling).toEqual({ minReplicas: 1, maxReplicas: 2, targetCpuUtilization: 70 });
    expect(staging.variant.source).toEqual({ kind: 'mlflow', name: 'reg_m', version: '4' });
    expect(production.model.scaling).toEqual({ minReplicas: 2, maxReplicas: 12, targetCpuUtilization: 70 });
    expect(production.variant.source).toEqual({ kind: 'mlflow', name: 'reg_m', version: '3' });
    // The model itself is untouched: build and test run the model's own version.
    expect(deployable.variant.source).toEqual({ kind: 'mlflow', name: 'reg_m', version: '4' });
  });

  it('checks each environment\'s merged scaling and pins, naming the line that set them', () => {
    const tooFew = fleetErrorOf(`environments:\n  - { name: staging, scaling: { maxReplicas: 1 } }\n  - name: production\ndefaults:\n  scaling: { minReplicas: 2 }\n${MODELS}`);
    expect(tooFew.message).toContain('models.yaml:2:33 environments[0].scaling.maxReplicas: model "m" in environment "staging": minReplicas (2) must not exceed maxReplicas (1)');
    expect(tooFew.message).toContain('hint: raise maxReplicas or lower minReplicas for "staging" (`models[0].environments.staging.scaling` sets them for this model alone)');
    const toZero = fleetErrorOf(`${MODELS}    environments:\n      staging: { scaling: { minReplicas: 0 } }\n`);
    expect(toZero.message).toContain('environment "staging" lets model "m" scale to zero, and the model itself keeps replicas: an environment cannot switch scale-to-zero');
    const pathPin = fleetErrorOf(`${MODELS}    environments:\n      production: { version: 3 }\n`);
    expect(pathPin.message).toContain('models[0].environments.production.version: version only applies when the model\'s source is mlflow:');
    const both = fleetErrorOf(`models:\n  - name: m\n    endpoint: p\n    mlflow: { name: r, version: 1 }\n    environments:\n      production: { version: 3, alias: champion }\n`);
    expect(both.message).toContain('models[0].environments.production.alias: set either version or alias, not both');
  });

  it('gives every model its jobs again when the environments change, and one model when its own environment settings do', () => {
    const before = fleetFromText(`${MODELS}  - name: n\n    endpoint: probability\n    path: models/n\n    parameters: [n]\n`);
    const moreEnvs = fleetFromText(`environments:\n  - name: staging\n  - name: canary\n  - name: production\n${MODELS}  - name: n\n    endpoint: probability\n    path: models/n\n    parameters: [n]\n`);
    const all = selectChanges({ fleet: moreEnvs, previous: before, changedFiles: ['models.yaml'], fleetDir: '', since: 'a'.repeat(40) });
    expect([...all.changed.keys()]).toEqual(['m', 'n']);
    expect(all.summary).toMatch(/environments: changed/);
    const scaled = fleetFromText(`${MODELS}    environments:\n      production: { scaling: { maxReplicas: 9 } }\n  - name: n\n    endpoint: probability\n    path: models/n\n    parameters: [n]\n`);
    const one = selectChanges({ fleet: scaled, previous: before, changedFiles: ['models.yaml'], fleetDir: '', since: 'a'.repeat(40) });
    expect([...one.changed.keys()]).toEqual(['m']);
    // A model without environment settings keeps its digest from before environments existed.
    expect(buildConfigDigests(before).get('n')).toBe(buildConfigDigests(scaled).get('n'));
  });

  it('finds the environment a deploy names: --env, then MODELFLEET_ENV, then the first; a typo gets a suggestion', () => {
    const fleet = fleetFromText(MODELS);
    expect(findEnvironment(fleet, 'production', { MODELFLEET_ENV: 'staging' }).name).toBe('production');
    expect(findEnvironment(fleet, undefined, { MODELFLEET_ENV: 'production' }).name).toBe('production');
    expect(findEnvironment(fleet, undefined, {}).name).toBe('staging');
    const err = (() => { try { findEnvironment(fleet, 'prodution', {}); } catch (e) { return e; } return undefined; })();
    expect(err).toBeInstanceOf(UserError);
    expect(err).toMatchObject({ code: 'UNKNOWN_ENVIRONMENT' });
    expect((err as UserError).message).toMatch(/^--env prodution: \S*models\.yaml has no environment "prodution" \(its environments: staging, production\)$/);
    expect((err as UserError).hint).toMatch(/^Did you mean "production"\? Pass one of staging, production/);
    expect(() => findEnvironment(fleet, undefined, { MODELFLEET_ENV: 'dev' })).toThrow(/^MODELFLEET_ENV=dev: /);
  });
});

describe('the environments validator (property)', () => {
  const tiers = ['production', 'staging', 'testing', 'development', 'other'] as const;
  const entry = fc.record({
    name: fc.constantFrom('staging', 'production', 'review', 'qa', 'dev', 'live', 'eu-west'),
    tier: fc.option(fc.constantFrom(...tiers), { nil: undefined }),
    namespace: fc.option(fc.constantFrom('ml-a', 'ml-b'), { nil: undefined }),
    context: fc.option(fc.constantFrom('a', 'b'), { nil: undefined }),
    autoStopIn: fc.option(fc.constantFrom('1 day', '2 weeks', 'never', 'soon', '0 days', '3 hours 30 minutes'), { nil: undefined }),
  }, { requiredKeys: ['name'] });

  it('accepts exactly the lists with unique names and places, production tiers last, and durations GitLab reads', () => {
    fc.assert(fc.property(fc.array(entry, { minLength: 1, maxLength: 5 }), (raw) => {
      const clean = raw.map((e) => Object.fromEntries(Object.entries(e).filter(([, v]) => v !== undefined)));
      const { environments, problems } = resolveEnvironments(clean);
      const names = environments.map((e) => e.name);
      const places = environments.map((e) => `${e.context ?? ''}/${e.namespace}`);
      const firstProduction = environments.findIndex((e) => e.tier === 'production');
      const orderOk = firstProduction < 0 || environments.slice(firstProduction).every((e) => e.tier === 'production');
      const durationsOk = environments.every((e) => e.autoStopIn === undefined || (isGitlabDuration(e.autoStopIn) && (e.tier !== 'production' || e.autoStopIn === 'never')));
      const valid = new Set(names).size === names.length && new Set(places).size === places.length && orderOk && durationsOk;
      expect(problems.length === 0, JSON.stringify({ clean, problems })).toBe(valid);
      // Every problem names a place inside environments:, with a hint.
      for (const problem of problems) {
        expect(problem.path[0]).toBe('environments');
        expect(problem.hint).toBeTruthy();
      }
      // Valid or not, what comes back parsed: every entry has its defaults filled in.
      for (const env of environments) expect(env.gate === 'manual' || env.gate === 'auto').toBe(true);
    }), { numRuns: 300 });
  });

  it('reads durations as GitLab does: whole numbers with units, or never', () => {
    fc.assert(fc.property(
      fc.array(fc.tuple(fc.integer({ min: 1, max: 999 }), fc.constantFrom('second', 'minutes', 'hour', 'days', 'week', 'months', 'year')), { minLength: 1, maxLength: 3 }),
      (parts) => isGitlabDuration(parts.map(([n, unit]) => `${n} ${unit}`).join(' ')),
    ));
    for (const bad of ['', 'soon', '1', 'day', '0 days', '1 day; rm -rf /', '1 fortnight', '-1 day']) expect(isGitlabDuration(bad), bad).toBe(false);
  });

  it('never throws on any value under environments:', () => {
    fc.assert(fc.property(fc.anything(), (raw) => {
      const { problems } = resolveEnvironments(raw);
      if (raw !== undefined && !Array.isArray(raw)) expect(problems.length).toBeGreaterThan(0);
    }), { numRuns: 200 });
  });
});

describe('a fleet with problems in environments: and models together', () => {
  it('reports them all at once, by position', () => {
    try {
      fleetFromText(`environments:\n  - name: production\n  - name: staging\n${MODELS}    environments:\n      stagin: {}\n`);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(FleetInvalidError);
      expect((err as FleetInvalidError).problems.map((p) => p.location.line)).toEqual([3, 9]);
    }
  });
});
