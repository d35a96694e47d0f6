import { describe, expect, it } from 'vitest';
import { isReservedEnvName, RESERVED_ENV_NAMES } from '../../generator/fleet/fleet-limits.js';
import { DEFAULT_KUBERNETES_SETTINGS } from '../../generator/fleet/resolve-kubernetes.js';
import { toModelJson } from '../../generator/plan/model-json.js';
import { buildConfigDigests } from '../../generator/plan/deployable-config.js';
import { selectChanges } from '../../generator/plan/select-changes.js';
import { listDeployables } from '../../generator/fleet/find-deployable.js';
import { modelServerEnv } from '../../pipeline/manifests/render-model-manifests.js';
import { CONFIG_DEFAULTS } from '../../serving/model-server/server-config.js';
import { deployable as manifestDeployable, modelSpec } from '../manifests/fixtures.js';
import { fleetErrorOf, fleetFromText } from './support/generator-fixtures.js';

const MODELS = 'models:\n  - name: m\n    endpoint: probability\n    path: models/m\n';

describe('the kubernetes: block of models.yaml', () => {
  it('defaults to no namespace creation and no image pull Secrets', () => {
    expect(DEFAULT_KUBERNETES_SETTINGS).toEqual({ createNamespace: false, imagePullSecrets: [] });
    expect(fleetFromText(MODELS).kubernetes).toEqual(DEFAULT_KUBERNETES_SETTINGS);
  });

  it('reads createNamespace and imagePullSecrets, frozen', () => {
    const fleet = fleetFromText(`kubernetes:\n  createNamespace: true\n  imagePullSecrets: [registry-pull, mirror.example.com]\n${MODELS}`);
    expect(fleet.kubernetes).toEqual({ createNamespace: true, imagePullSecrets: ['registry-pull', 'mirror.example.com'] });
    expect(Object.isFrozen(fleet.kubernetes.imagePullSecrets)).toBe(true);
  });

  it('names the place and the fix for a misspelt key, a wrong type and a bad Secret name', () => {
    const err = fleetErrorOf(`kubernetes:\n  createNamespce: true\n  imagePullSecrets: [Registry_Pull]\n${MODELS}`);
    expect(err.code).toBe('FLEET_INVALID');
    expect(err.message).toContain('models.yaml:2:3 kubernetes.createNamespce: unknown key "createNamespce"\n    hint: did you mean "createNamespace"?');
    expect(err.message).toContain('models.yaml:3:22 kubernetes.imagePullSecrets[0]: must be a Secret name: lower-case letters, digits, "-" and "." (a Kubernetes DNS subdomain name), not text "Registry_Pull"');
    expect(fleetErrorOf(`kubernetes:\n  createNamespace: "yes"\n${MODELS}`).message).toContain('models.yaml:2:3 kubernetes.createNamespace: must be true or false, not text "yes"');
    expect(fleetErrorOf(`kubernets: {}\n${MODELS}`).message).toContain('models.yaml:1:1 kubernets: unknown key "kubernets"\n    hint: did you mean "kubernetes"?');
  });

  it('rejects an image pull Secret listed twice', () => {
    const err = fleetErrorOf(`kubernetes:\n  imagePullSecrets:\n    - pull\n    - pull\n${MODELS}`);
    expect(err.message).toContain('models.yaml:4:7 kubernetes.imagePullSecrets[1]: Secret "pull" is listed twice (first at kubernetes.imagePullSecrets[0])\n    hint: remove one of them');
  });
});

describe('secretEnv and envFrom', () => {
  const text = [
    'defaults:',
    '  endpoint: probability',
    '  secretEnv:',
    '    - { name: FEATURE_TOKEN, secret: feature-store, key: token }',
    'models:',
    '  - name: a',
    '    path: models/a',
    '    parameters: [a]',
    '  - name: b',
    '    path: models/b',
    '    parameters: [b]',
    '    secretEnv:',
    '      - { name: API_KEY, secret: b.credentials, key: api-key }',
    '    envFrom: [b-config]',
    '  - name: c',
    '    path: models/c',
    '    parameters: [c]',
    '    secretEnv: []',
    '',
  ].join('\n');

  it('come from defaults, and a model\'s own list replaces the defaults\' list', () => {
    const [a, b, c] = fleetFromText(text).models;
    expect(a?.secretEnv).toEqual([{ name: 'FEATURE_TOKEN', secret: 'feature-store', key: 'token' }]);
    expect(a?.envFromSecrets).toEqual([]);
    expect(b?.secretEnv).toEqual([{ name: 'API_KEY', secret: 'b.credentials', key: 'api-key' }]);
    expect(b?.envFromSecrets).toEqual(['b-config']);
    expect(c?.secretEnv).toEqual([]);
    expect(Object.isFrozen(b?.secretEnv[0])).toBe(true);
  });

  it('name Secrets in model.json and the config digest, and leave both as they were for models without them', () => {
    const fleet = fleetFromText(text);
    const [a, , c] = listDeployables(fleet);
    if (!a || !c) throw new Error('expected deployables');
    expect(toModelJson(a, 'models.yaml').secretEnv).toEqual([{ name: 'FEATURE_TOKEN', secret: 'feature-store', key: 'token' }]);
    expect(Object.keys(toModelJson(c, 'models.yaml'))).not.toContain('secretEnv');
    const without = fleetFromText(text.replace(/ {2}secretEnv:\n {4}- \{ name: FEATURE_TOKEN.*\n/, ''));
    expect(buildConfigDigests(without).get('c')).toBe(buildConfigDigests(fleet).get('c'));
    expect(buildConfigDigests(without).get('a')).not.toBe(buildConfigDigests(fleet).get('a'));
  });

  it('give jobs to the model whose secretEnv changed, and to every model when imagePullSecrets changed', () => {
    const previous = fleetFromText(text);
    const changedOne = selectChanges({ fleet: fleetFromText(text.replace('key: api-key', 'key: api-key-2')), previous, changedFiles: ['models.yaml'], fleetDir: '', since: 'a'.repeat(40) });
    expect([...changedOne.changed.keys()]).toEqual(['b']);
    const pulled = selectChanges({ fleet: fleetFromText(`kubernetes: { imagePullSecrets: [pull] }\n${text}`), previous, changedFiles: ['models.yaml'], fleetDir: '', since: 'a'.repeat(40) });
    expect(pulled.mode).toBe('all');
    expect(pulled.summary).toContain('kubernetes.imagePullSecrets changed');
    const namespaceOnly = selectChanges({ fleet: fleetFromText(`kubernetes: { createNamespace: true }\n${text}`), previous, changedFiles: ['models.yaml'], fleetDir: '', since: 'a'.repeat(40) });
    expect(namespaceOnly.changed.size).toBe(0);
  });

  it('reject a variable the model server sets itself, where it is written (defaults or model), with the fix', () => {
    const err = fleetErrorOf(
      [
        'defaults:',
        '  endpoint: probability',
        '  secretEnv: [{ name: PORT, secret: s, key: k }]',
        'models:',
        '  - name: a',
        '    path: models/a',
        '    secretEnv:',
        '      - { name: MAX_BATCH_SIZE, secret: s, key: k }',
        '      - { name: ORT_DISABLE_TELEMETRY, secret: s, key: k }',
        '',
      ].join('\n'),
    );
    expect(err.message).toContain('models.yaml:3:17 defaults.secretEnv[0].name: PORT is set by modelfleet\'s model server\n    hint: pick another name: modelfleet sets HOST, PORT, MODEL_NAME');
    expect(err.message).toContain('models.yaml:8:11 models[0].secretEnv[0].name: MAX_BATCH_SIZE is set by modelfleet\'s model server');
    expect(err.message).toContain('models.yaml:9:11 models[0].secretEnv[1].name: ORT_DISABLE_TELEMETRY is set by modelfleet\'s model server');
    expect(err.message).toContain('BATCHING_*, MAX_*');
  });

  it('reject bad names, keys and Secret names, unknown keys (with a suggestion) and missing fields', () => {
    const err = fleetErrorOf(
      [
        'models:',
        '  - name: a',
        '    endpoint: probability',
        '    path: models/a',
        '    secretEnv:',
        '      - { name: 1TOKEN, secret: s, key: k }',
        '      - { name: TOKEN, secret: My_Secret, key: "a/b" }',
        '      - { name: OTHER, secrte: s, key: k }',
        '      - { name: THIRD, secret: s }',
        '    envFrom: [Shared]',
        '    envfrom: [x]',
        '',
      ].join('\n'),
    );
    expect(err.message).toContain('models.yaml:6:11 models[0].secretEnv[0].name: must be an environment variable name: letters, digits and "_", not starting with a digit, not text "1TOKEN"');
    expect(err.message).toContain('models[0].secretEnv[1].secret: must be a Secret name');
    expect(err.message).toContain('models[0].secretEnv[1].key: must be a key of the Secret: letters, digits and "-._", not text "a/b"');
    expect(err.message).toContain('models.yaml:8:24 models[0].secretEnv[2].secrte: unknown key "secrte"\n    hint: did you mean "secret"?');
    expect(err.message).toMatch(/models\[0\]\.secretEnv\[2\]\.secret: is required\n {4}hint: add it \(text\)/);
    expect(err.message).toMatch(/models\[0\]\.secretEnv\[3\]\.key: is required/);
    expect(err.message).toContain('models[0].envFrom[0]: must be a Secret name');
    expect(err.message).toContain('models.yaml:11:5 models[0].envfrom: unknown key "envfrom"\n    hint: did you mean "envFrom"?');
  });

  it('reject a variable or an envFrom Secret listed twice', () => {
    const err = fleetErrorOf(
      [
        'models:',
        '  - name: a',
        '    endpoint: probability',
        '    path: models/a',
        '    secretEnv:',
        '      - { name: TOKEN, secret: s, key: k }',
        '      - { name: TOKEN, secret: t, key: k }',
        '    envFrom: [shared, shared]',
        '',
      ].join('\n'),
    );
    expect(err.message).toContain('models.yaml:7:11 models[0].secretEnv[1].name: variable "TOKEN" is listed twice (first at models[0].secretEnv[0])');
    expect(err.message).toContain('models.yaml:8:23 models[0].envFrom[1]: Secret "shared" is listed twice (first at models[0].envFrom[0])');
  });

  it('refuse a load-test secret in ci.variables: its value would be in models.yaml and the generated pipeline', () => {
    const err = fleetErrorOf(`ci:\n  variables:\n    MODELFLEET_SECRET_API_KEY: hunter2\n${MODELS}`);
    expect(err.message).toContain('models.yaml:3:5 ci.variables.MODELFLEET_SECRET_API_KEY: MODELFLEET_SECRET_API_KEY would put a secret value into models.yaml and the generated pipeline\n    hint: set it as a masked CI/CD variable');
  });

  it('reserve every variable the model server and its image set (kept in step with modelServerEnv and the server settings)', () => {
    const busy = manifestDeployable(modelSpec({ loadtest: { durationSeconds: 5, connections: 1, rowsPerRequest: 100_000, p99BudgetMs: 100 } }));
    const names = [...modelServerEnv(busy).map((e) => e.name), ...Object.keys(CONFIG_DEFAULTS), 'MODEL_DIR', 'MODEL_VERSION', 'NODE_ENV', 'NODE_OPTIONS'];
    expect(names).toContain('MAX_ROWS_PER_REQUEST');
    for (const name of names) expect(isReservedEnvName(name), name).toBe(true);
    for (const name of RESERVED_ENV_NAMES) expect(isReservedEnvName(name)).toBe(true);
    for (const name of ['API_KEY', 'FEATURE_STORE_TOKEN', 'port', 'HOSTNAME_SUFFIX', 'MAXIMUM']) expect(isReservedEnvName(name), name).toBe(false);
  });
});
