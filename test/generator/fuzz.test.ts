import { readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { dump, load } from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { FleetInvalidError, parseFleet } from '../../generator/fleet/load-fleet.js';
import type { FleetSpec } from '../../generator/fleet/types.js';
import { planGeneration } from '../../generator/plan/plan-generation.js';
import { selectAll } from '../../generator/plan/select-changes.js';
import { readModelTemplates } from '../../generator/render/model-templates.js';
import { UserError } from '../../lib/errors/user-error.js';
import { gitlabCiSchemaErrors } from '../support/gitlab-ci-schema.js';
import { CASES_DIR } from './support/generator-fixtures.js';
import { artifactDependenciesOf, jobNamesOf } from '../support/gitlab-artifact-rule.js';
import { listDeployables } from '../../generator/fleet/find-deployable.js';
import { renderGatewayManifests } from '../../pipeline/deploy/gateway/render-gateway-manifests.js';
import { modelServerEnv, renderModelManifests } from '../../pipeline/manifests/render-model-manifests.js';

const baseText = readFileSync(path.join(CASES_DIR, 'three-models', 'models.yaml'), 'utf8');
const templates = readModelTemplates();
const SIZING = { resources: { requests: { cpu: '50m', memory: '96Mi' }, limits: { memory: '128Mi' } } };

/**
 * The property: whatever the file holds, loading either succeeds (and then generating works
 * and gives a schema-valid pipeline) or fails with a UserError that names models.yaml and,
 * for rule violations, a line and column for every problem. Never any other exception.
 */
function checkOutcome(text: string): void {
  let fleet;
  try {
    fleet = parseFleet(text, '/repo/models.yaml', 'models.yaml');
  } catch (err) {
    if (!(err instanceof UserError)) throw err;
    expect(err.message.startsWith('models.yaml')).toBe(true);
    if (err instanceof FleetInvalidError) {
      expect(err.problems.length).toBeGreaterThan(0);
      for (const line of err.message.split('\n').slice(1)) {
        expect(line).toMatch(/^(models\.yaml:\d+:\d+ \S.*: .+| {4}hint: .+|\.\.\. and \d+ more problems? .*)$/);
      }
    }
    return;
  }
  const plan = planGeneration({ fleet, fleetFile: 'models.yaml', outDir: 'build', templates, changes: selectAll(fleet, 'fuzz'), maxJobs: 500 });
  for (const p of plan.pipelines) expect(gitlabCiSchemaErrors(p.pipeline)).toEqual([]);
}

const yamlChars = fc.constantFrom(...' :-[]{},#&*!|>\'"%@`\n\t0123456789abcxyzMV_./\\'.split(''));

/** Text edits: delete, insert, duplicate or swap lines, re-indent. */
const textMutation = fc.oneof(
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 12 }) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), text: fc.string({ unit: yamlChars, minLength: 1, maxLength: 8 }) }),
  fc.record({ kind: fc.constant('duplicateLine' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('swapLines' as const), at: fc.nat(), with: fc.nat() }),
  fc.record({ kind: fc.constant('indent' as const), at: fc.nat(), by: fc.integer({ min: -4, max: 4 }) }),
);
type TextMutation = typeof textMutation extends fc.Arbitrary<infer T> ? T : never;

function applyText(text: string, m: TextMutation): string {
  const lines = text.split('\n');
  switch (m.kind) {
    case 'delete': {
      const at = m.at % text.length;
      return text.slice(0, at) + text.slice(at + m.length);
    }
    case 'insert': {
      const at = m.at % (text.length + 1);
      return text.slice(0, at) + m.text + text.slice(at);
    }
    case 'duplicateLine': {
      const at = m.at % lines.length;
      lines.splice(at, 0, lines[at] ?? '');
      return lines.join('\n');
    }
    case 'swapLines': {
      const a = m.at % lines.length;
      const b = m.with % lines.length;
      [lines[a], lines[b]] = [lines[b] ?? '', lines[a] ?? ''];
      return lines.join('\n');
    }
    case 'indent': {
      const at = m.at % lines.length;
      const line = lines[at] ?? '';
      lines[at] = m.by >= 0 ? ' '.repeat(m.by) + line : line.replace(new RegExp(`^ {0,${-m.by}}`), '');
      return lines.join('\n');
    }
  }
}

/** Structure edits on the parsed document: replace, delete or rename a key anywhere, or add one. */
const structureMutation = fc.record({
  pick: fc.nat(),
  kind: fc.constantFrom('replace', 'delete', 'rename', 'add'),
  value: fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constantFrom('../etc', 'a: b', '$(rm -rf /)', 'x\ny', 'Match_Taxi', -1, 1e9, 100, 0, '')),
  key: fc.oneof(fc.constantFrom('name', 'weight', 'path', 'mlflow', 'ab', 'shadow', 'version', 'bathcing', 'scaling'), fc.string({ maxLength: 6 })),
});

function containers(value: unknown, out: Record<string, unknown>[] = []): Record<string, unknown>[] {
  if (value !== null && typeof value === 'object') {
    if (!Array.isArray(value)) out.push(value as Record<string, unknown>);
    for (const child of Object.values(value)) containers(child, out);
  }
  return out;
}

describe('mutated models.yaml files', () => {
  it('give a located UserError or a valid pipeline after text edits, never another exception', () => {
    fc.assert(
      fc.property(fc.array(textMutation, { minLength: 1, maxLength: 4 }), (mutations) => {
        checkOutcome(mutations.reduce(applyText, baseText));
      }),
      { numRuns: 400, seed: 20_240_611 },
    );
  });

  it('give a located UserError or a valid pipeline after structural edits, never another exception', () => {
    fc.assert(
      fc.property(fc.array(structureMutation, { minLength: 1, maxLength: 3 }), (mutations) => {
        const doc = load(baseText);
        for (const m of mutations) {
          const all = containers(doc);
          const target = all[m.pick % all.length];
          if (!target) continue;
          const keys = Object.keys(target);
          const key = keys[m.pick % Math.max(1, keys.length)] ?? m.key;
          if (m.kind === 'replace') target[key] = m.value;
          else if (m.kind === 'delete') delete target[key];
          else if (m.kind === 'rename') {
            target[m.key] = target[key];
            delete target[key];
          } else target[m.key] = m.value;
        }
        checkOutcome(dump(doc));
      }),
      { numRuns: 400, seed: 20_240_612 },
    );
  });

  it('accept the unmutated scenario (the property is not vacuous)', () => {
    expect(() => parseFleet(baseText, '/repo/models.yaml', 'models.yaml')).not.toThrow();
  });
});

const dindText = readFileSync(path.join(CASES_DIR, 'docker-dind', 'models.yaml'), 'utf8');

/** Values that try to break out of YAML, a shell, a rules expression or a regular expression. */
const hostileCiValue = fc.oneof(
  fc.constantFrom(
    'a\nb',
    '$(rm -rf /)',
    '"; echo pwned; "',
    "x' || 'y",
    'x || true',
    '$CI_COMMIT_BRANCH',
    '$CI_DEFAULT_BRANCH',
    '/^release\\/.+$/',
    '/x/ || true || /y/',
    'main',
    'docker:27-dind',
    'tcp://docker:2375',
    '',
    '\u0000',
    2375,
    true,
    null,
  ),
  fc.string({ unit: yamlChars, maxLength: 12 }),
  fc.jsonValue({ maxDepth: 2 }),
);

const ciMutation = fc.record({
  pick: fc.nat(),
  kind: fc.constantFrom('replace', 'delete', 'add', 'push'),
  value: hostileCiValue,
  key: fc.constantFrom('tags', 'image', 'services', 'variables', 'jobs', 'build', 'test', 'deploy', 'branches', 'deployTarget', 'mergeRequests', 'alias', 'command', 'name', 'DOCKER_HOST', 'MODELFLEET_ENV', 'CI_X', 'bad-name'),
});

/** The fleet `text` describes, or undefined when it is refused (checkOutcome has judged the refusal). */
function fleetIfValid(text: string): FleetSpec | undefined {
  try {
    return parseFleet(text, '/repo/models.yaml', 'models.yaml');
  } catch {
    return undefined;
  }
}

/** Every `rules:if` the generator writes: the merge-request guard, or deploy branches joined by ||. */
const RULE_IF = /^(\$MODELFLEET_PARENT_PIPELINE_SOURCE == "merge_request_event"|\$CI_COMMIT_BRANCH (== \$CI_DEFAULT_BRANCH|== "[A-Za-z0-9_./+-]+"|=~ \/([^/\\ "'&]|\\[^\\])+\/)( \|\| \$CI_COMMIT_BRANCH (== \$CI_DEFAULT_BRANCH|== "[A-Za-z0-9_./+-]+"|=~ \/([^/\\ "'&]|\\[^\\])+\/))*)$/;

/** Whatever the ci: block holds, a generated pipeline is schema-valid, inert and takes no artifacts. */
function checkCiOutcome(text: string): void {
  checkOutcome(text);
  const fleet = fleetIfValid(text);
  if (!fleet) return;
  const plan = planGeneration({ fleet, fleetFile: 'models.yaml', outDir: 'build', templates, changes: selectAll(fleet, 'fuzz'), maxJobs: 500 });
  for (const p of plan.pipelines) {
    expect(load(p.yaml)).toEqual(JSON.parse(JSON.stringify(p.pipeline)));
    for (const job of jobNamesOf(p.pipeline)) {
      expect(artifactDependenciesOf(p.pipeline, job), job).toEqual([]);
      const body = p.pipeline[job] as { rules?: { if: string }[]; variables?: Record<string, unknown>; tags?: unknown[] };
      for (const rule of body.rules ?? []) expect(rule.if).toMatch(RULE_IF);
      for (const value of Object.values(body.variables ?? {})) expect([...String(value)].some((c) => c.charCodeAt(0) < 0x20), String(value)).toBe(false);
    }
  }
}

describe('mutated ci: blocks', () => {
  it('give a located UserError or a valid, inert pipeline without artifact dependencies, never another exception', () => {
    fc.assert(
      fc.property(fc.array(ciMutation, { minLength: 1, maxLength: 3 }), (mutations) => {
        const doc = load(dindText) as { ci: Record<string, unknown> };
        for (const m of mutations) {
          const all = [doc.ci, ...containers(doc.ci)];
          const target = all[m.pick % all.length] ?? doc.ci;
          const keys = Object.keys(target);
          const key = keys[m.pick % Math.max(1, keys.length)] ?? m.key;
          if (m.kind === 'replace') target[key] = m.value;
          else if (m.kind === 'delete') delete target[key];
          else if (m.kind === 'add') target[m.key] = m.value;
          else if (Array.isArray(target[key])) (target[key] as unknown[]).push(m.value);
          else target[m.key] = [m.value];
        }
        checkCiOutcome(dump(doc));
      }),
      { numRuns: 300, seed: 20_240_613 },
    );
  });

  it('accept a deploy branch only when its rule stays one plain comparison', () => {
    const plausible = fc.string({ unit: fc.constantFrom(...'ab1/._-+^$*'.split('')), minLength: 1, maxLength: 8 });
    const anyChars = fc.string({ unit: fc.constantFrom(...'/\\^$.*+?()[]{}|"\' &a1-_'.split('')), maxLength: 10 });
    fc.assert(
      fc.property(fc.oneof(hostileCiValue, anyChars, plausible, plausible.map((p) => `/${p}/`)), (branch) => {
        checkCiOutcome(dump({ ci: { deploy: { branches: [branch] } }, defaults: { endpoint: 'p' }, models: [{ name: 'm', path: 'models/m' }] }));
      }),
      { numRuns: 300, seed: 20_240_614 },
    );
  });

  it('accept the unmutated Docker-in-Docker scenario (the property is not vacuous)', () => {
    expect(() => parseFleet(dindText, '/repo/models.yaml', 'models.yaml')).not.toThrow();
  });
});

/** The three-model scenario with every Kubernetes Secret setting in use. */
const secretsDoc = (): Record<string, unknown> => {
  const doc = load(baseText) as { defaults: Record<string, unknown>; models: Record<string, unknown>[] };
  doc.defaults.secretEnv = [{ name: 'FEATURE_TOKEN', secret: 'feature-store', key: 'token' }];
  const [first, second] = doc.models;
  if (first) first.envFrom = ['match-shared'];
  if (second) second.secretEnv = [{ name: 'API_KEY', secret: 'moto.credentials', key: 'api-key' }, { name: 'OTHER', secret: 'moto', key: 'x.y' }];
  return { kubernetes: { createNamespace: false, imagePullSecrets: ['registry-pull'] }, ...doc };
};

const hostileSecretValue = fc.oneof(
  fc.constantFrom('PORT', 'MAX_X', 'HOST', 'a\nkind: Secret', '{a: b}', '"x"', '../x', 'A-B', '1A', 'UPPER', 'ok-name', 'ok.name', '', ' ', 'x'.repeat(300), 42, true, null),
  fc.string({ unit: yamlChars, maxLength: 12 }),
  fc.jsonValue({ maxDepth: 2 }),
);

const secretMutation = fc.record({
  pick: fc.nat(),
  kind: fc.constantFrom('replace', 'delete', 'add', 'push', 'duplicate'),
  value: hostileSecretValue,
  key: fc.constantFrom('kubernetes', 'createNamespace', 'imagePullSecrets', 'secretEnv', 'envFrom', 'name', 'secret', 'key', 'secrte', 'valueFrom'),
});

/** Whatever the Secret settings hold, a fleet that loads renders Deployments that pass the schema and name Secrets only as data. */
function checkSecretsOutcome(text: string): void {
  checkOutcome(text);
  const fleet = fleetIfValid(text);
  if (!fleet) return;
  for (const deployable of listDeployables(fleet)) {
    const manifests = renderModelManifests(deployable, SIZING, { namespace: 'ns', image: 'modelfleet/x:0123456789ab', imagePullSecrets: fleet.kubernetes.imagePullSecrets });
    const deployment = manifests[0]?.object as { spec: { template: { spec: Record<string, unknown> } } };
    const pod = deployment.spec.template.spec;
    const container = (pod.containers as Record<string, unknown>[])[0] ?? {};
    const env = container.env as { name: string; value?: string }[];
    // The server's own variables come first and unchanged; names stay unique (Kubernetes keys env by name).
    const own = deployable.variant.source.kind === 'image' ? [] : modelServerEnv(deployable);
    expect(env.slice(0, own.length)).toEqual(own);
    expect(new Set(env.map((e) => e.name)).size).toBe(env.length);
    expect(env.slice(own.length)).toEqual(deployable.model.secretEnv.map((s) => ({ name: s.name, valueFrom: { secretKeyRef: { name: s.secret, key: s.key } } })));
    expect(pod.imagePullSecrets ?? []).toEqual(fleet.kubernetes.imagePullSecrets.map((name) => ({ name })));
    expect(Object.keys(deployment)).toEqual(['apiVersion', 'kind', 'metadata', 'spec']);
  }
  renderGatewayManifests({ namespace: 'ns', image: 'modelfleet/gateway:0123456789ab', routesJson: '{}', imagePullSecrets: fleet.kubernetes.imagePullSecrets });
}

describe('mutated kubernetes: and secretEnv settings', () => {
  it('give a located UserError, or Deployments that pass the Kubernetes schema and only name Secrets, never another exception', () => {
    fc.assert(
      fc.property(fc.array(secretMutation, { minLength: 1, maxLength: 3 }), (mutations) => {
        const doc = secretsDoc();
        for (const m of mutations) {
          const all = containers(doc).filter((c) => c !== doc);
          const target = all[m.pick % all.length] ?? doc;
          const keys = Object.keys(target);
          const key = keys[m.pick % Math.max(1, keys.length)] ?? m.key;
          if (m.kind === 'replace') target[key] = m.value;
          else if (m.kind === 'delete') delete target[key];
          else if (m.kind === 'add') target[m.key] = m.value;
          else if (m.kind === 'duplicate' && Array.isArray(target[key])) (target[key] as unknown[]).push(...(target[key] as unknown[]).slice(0, 1));
          else if (Array.isArray(target[key])) (target[key] as unknown[]).push(m.value);
          else target[m.key] = [m.value];
        }
        checkSecretsOutcome(dump(doc));
      }),
      { numRuns: 300, seed: 20_240_615 },
    );
  });

  it('accept the unmutated scenario with every Secret setting (the property is not vacuous)', () => {
    const fleet = parseFleet(dump(secretsDoc()), '/repo/models.yaml', 'models.yaml');
    expect(fleet.kubernetes.imagePullSecrets).toEqual(['registry-pull']);
    expect(fleet.models[1]?.secretEnv).toHaveLength(2);
    checkSecretsOutcome(dump(secretsDoc()));
  });
});
