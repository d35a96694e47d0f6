import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { findDeployable, listDeployables } from '../../generator/fleet/find-deployable.js';
import { DEPLOY_NAME_MAX } from '../../generator/fleet/fleet-limits.js';
import { FleetInvalidError, loadFleet } from '../../generator/fleet/load-fleet.js';
import { fleetErrorOf, fleetFromText, useTempDir } from './support/generator-fixtures.js';

const errorOf = fleetErrorOf;

const model = (name: string, params: string, extra = '') => `  - name: ${name}\n    parameters: [${params}]\n    path: models/x\n${extra}`;
const fleet = (...models: string[]) => `defaults:\n  endpoint: probability\nmodels:\n${models.join('')}`;

describe('loadFleet', () => {
  const tempDir = useTempDir();

  it('merges defaults into every model and derives routes and deploy names', () => {
    const spec = fleetFromText(
      `defaults:\n  endpoint: probability\n  batching: { maxBatchSize: 8 }\n  scheduling: { nodeSelector: { pool: cpu } }\nmodels:\n` +
        `  - name: match-2-taxi\n    parameters: [2, TAXI, trafficaware]\n    path: models/a\n    batching: { maxLatencyMs: 20 }\n    scheduling: { nodeSelector: { zone: b } }\n`,
    );
    const m = spec.models[0];
    expect(m?.route).toBe('/probability/2/TAXI/trafficaware');
    expect(m?.batching).toEqual({ enabled: true, maxBatchSize: 8, maxLatencyMs: 20 });
    expect(m?.scheduling.nodeSelector).toEqual({ pool: 'cpu', zone: 'b' });
    expect(m?.variants).toEqual([{ id: 'main', deployName: 'match-2-taxi', source: { kind: 'path', path: 'models/a' }, weight: 100, shadow: false }]);
    expect(m?.location).toEqual({ line: 6, column: 5 });
  });

  it('returns deeply frozen data', () => {
    const spec = fleetFromText(fleet(model('a-model', '1')));
    expect(Object.isFrozen(spec)).toBe(true);
    expect(Object.isFrozen(spec.models[0]?.scheduling.tolerations)).toBe(true);
    expect(Object.isFrozen(spec.models[0]?.variants[0]?.source)).toBe(true);
  });

  it('resolves A/B variants with source overrides, registry version shorthands and shadows', () => {
    const spec = fleetFromText(
      `defaults:\n  endpoint: probability\nmodels:\n  - name: m\n    mlflow: { name: reg_model, version: 1 }\n    ab:\n      variants:\n` +
        `        - { name: v1, weight: 70 }\n        - { name: v2, weight: 30, version: 2 }\n        - { name: v3, shadow: true, alias: challenger }\n        - { name: v4, weight: 0, path: models/v4 }\n`,
    );
    const sources = spec.models[0]?.variants.map((v) => [v.deployName, v.weight, v.shadow, v.source]);
    expect(sources).toEqual([
      ['m-v1', 70, false, { kind: 'mlflow', name: 'reg_model', version: '1' }],
      ['m-v2', 30, false, { kind: 'mlflow', name: 'reg_model', version: '2' }],
      ['m-v3', 0, true, { kind: 'mlflow', name: 'reg_model', alias: 'challenger' }],
      ['m-v4', 0, false, { kind: 'path', path: 'models/v4' }],
    ]);
  });

  it('rejects A/B weights that do not add up to 100, pointing at the last live weight', () => {
    const err = errorOf(fleet(model('m', '1', '    ab:\n      variants:\n        - { name: v1, weight: 70 }\n        - { name: v2, weight: 20 }\n')));
    expect(err.code).toBe('FLEET_INVALID');
    expect(err.message).toContain('models.yaml:10:23 models[0].ab.variants[1].weight: weights must add up to 100 (they add up to 90)');
  });

  it('reports unknown keys with a did-you-mean suggestion', () => {
    const err = errorOf(fleet(model('m', '1', '    batchng: { enabled: true }\n    scaling: { maxReplica: 3 }\n')));
    expect(err.message).toContain('models.yaml:7:5 models[0].batchng: unknown key "batchng"\n    hint: did you mean "batching"?');
    expect(err.message).toContain('models.yaml:8:16 models[0].scaling.maxReplica: unknown key "maxReplica"\n    hint: did you mean "maxReplicas"?');
  });

  it('rejects duplicate model names and duplicate routes', () => {
    const err = errorOf(fleet(model('m', '1'), model('m', '2'), model('n', '1')));
    expect(err.message).toMatch(/models\.yaml:7:5 models\[1\]\.name: model name "m" is already used by models\[0\] on line 4/);
    expect(err.message).toMatch(/models\[2\]\.parameters: route \/probability\/1 is already served by model "m"/);
  });

  it('rejects a model whose name collides with another model\'s A/B variant', () => {
    const err = errorOf(fleet(model('m', '1', '    ab:\n      variants:\n        - { name: v1, weight: 50 }\n        - { name: v2, weight: 50 }\n'), model('m-v2', '2')));
    expect(err.message).toContain('deploy name "m-v2" of model "m-v2" (models[1].name) is already taken by variant "v2" of model "m" (models[0].ab.variants[1].name) on line 10');
  });

  it('rejects names that would not fit Kubernetes\' 63 characters once suffixed', () => {
    const long = `m${'x'.repeat(DEPLOY_NAME_MAX - 4)}`;
    const err = errorOf(fleet(model(long, '1', '    ab:\n      variants:\n        - { name: v1, weight: 50 }\n        - { name: long, weight: 50 }\n')));
    expect(err.message).toContain(`models[0].ab.variants[1].name: deploy name "${long}-long" is ${long.length + 5} characters; at most ${DEPLOY_NAME_MAX} fit`);
    expect(err.message).not.toContain('variants[0].name: deploy name');
  });

  it.each([
    ['Match_2', 'models[0].name: must be lower-case letters'],
    ['2-match', 'models[0].name: must be lower-case letters'],
    ['match-', 'models[0].name: must be lower-case letters'],
    ['gateway', 'models[0].name: "gateway" is reserved'],
  ])('rejects the model name %j', (name, message) => {
    expect(errorOf(fleet(model(name, '1'))).message).toContain(message);
  });

  it.each(['../outside', '/etc/models', 'models/../../x', 'models/./x', 'C:\\models', 'models/x y'])('rejects the model path %j', (p) => {
    const err = errorOf(`defaults:\n  endpoint: probability\nmodels:\n  - name: m\n    path: ${JSON.stringify(p)}\n`);
    expect(err.message).toContain('models.yaml:5:5 models[0].path: must be a relative path inside the repository');
  });

  it('requires exactly one model source', () => {
    expect(errorOf(`defaults:\n  endpoint: p\nmodels:\n  - name: m\n`).message).toContain('models[0].name: model "m" has no model source');
    expect(errorOf(`defaults:\n  endpoint: p\nmodels:\n  - name: m\n    path: a\n    mlflow: { name: x, version: 1 }\n`).message).toContain(
      'models[0].path: has 2 model sources (mlflow, path)',
    );
    expect(errorOf(`defaults:\n  endpoint: p\nmodels:\n  - name: m\n    mlflow: { name: x }\n`).message).toContain('models[0].mlflow: needs a version or an alias');
  });

  it('points at defaults: when a merged value from there breaks a rule', () => {
    const err = errorOf(`defaults:\n  endpoint: p\n  scaling: { minReplicas: 5 }\nmodels:\n  - name: m\n    path: a\n`);
    expect(err.message).toContain('models.yaml:3:14 models[0].scaling.minReplicas: minReplicas (5) must not exceed maxReplicas (3)');
  });

  it('names the expected type and what was written', () => {
    const err = errorOf(fleet(model('m', '1', '    loadtest: { connections: many, durationSeconds: 1.5 }\n')));
    expect(err.message).toContain('models[0].loadtest.connections: must be a number, not text "many"');
    expect(err.message).toContain('models[0].loadtest.durationSeconds: must be a whole number, not the number 1.5');
  });

  it('shows the first ten problems and counts the rest', () => {
    const models = Array.from({ length: 14 }, (_, i) => `  - name: M${i}\n    path: a\n`).join('');
    const err = errorOf(`defaults:\n  endpoint: p\nmodels:\n${models}`);
    expect(err).toBeInstanceOf(FleetInvalidError);
    expect(err.message.split('\n')[0]).toBe('models.yaml has 14 problems:');
    expect(err.message.match(/^models\.yaml:\d+:\d+ /gm)).toHaveLength(10);
    expect(err.message).toContain('... and 4 more problems');
    expect((err as FleetInvalidError).problems).toHaveLength(14);
  });

  it('reports YAML syntax errors with their line and column', () => {
    const err = errorOf('models:\n  - name: m\n    parameters: [1, 2\n');
    expect(err.code).toBe('FLEET_SYNTAX');
    expect(err.message).toMatch(/^models\.yaml:\d+:\d+: /);
  });

  it('refuses YAML aliases and several documents', () => {
    expect(errorOf('x: &a {}\nmodels: []\ny: *a\n').message).toContain('models.yaml:3:1 y: YAML aliases (*name) are not supported');
    expect(errorOf('models: []\n---\nmodels: []\n').message).toContain('holds 2 YAML documents');
    expect(errorOf('').code).toBe('FLEET_SYNTAX');
  });

  it('reads the file and names it relative to the current folder', () => {
    const dir = tempDir();
    const file = path.join(dir, 'fleet.yaml');
    writeFileSync(file, fleet(model('m', '1')));
    expect(loadFleet(file).file).toBe(file);
    expect(() => loadFleet(path.join(dir, 'missing.yaml'))).toThrow(expect.objectContaining({ code: 'FLEET_NOT_FOUND' }));
  });
});

describe('findDeployable', () => {
  const spec = fleetFromText(fleet(model('match-2-taxi', '1', '    ab:\n      variants:\n        - { name: v1, weight: 50 }\n        - { name: v2, weight: 50 }\n'), model('match-3-moto', '3')));

  it('finds a variant by its deploy name', () => {
    expect(findDeployable(spec, 'match-2-taxi-v2').variant.id).toBe('v2');
    expect(listDeployables(spec).map((d) => d.variant.deployName)).toEqual(['match-2-taxi-v1', 'match-2-taxi-v2', 'match-3-moto']);
  });

  it('suggests the closest name for a typo', () => {
    expect(() => findDeployable(spec, 'match-3-mot')).toThrow(expect.objectContaining({ code: 'UNKNOWN_MODEL', hint: 'did you mean "match-3-moto"?' }));
  });

  it('lists the variants when given the name of an A/B model', () => {
    expect(() => findDeployable(spec, 'match-2-taxi')).toThrow(expect.objectContaining({ hint: expect.stringContaining('match-2-taxi-v1, match-2-taxi-v2') }));
  });
});
