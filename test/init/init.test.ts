import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { load } from 'js-yaml';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { applyInit } from '../../generator/init/apply-init.js';
import { DEFAULT_COMPONENT, initFiles } from '../../generator/init/init-files.js';
import { loadFleet } from '../../generator/fleet/load-fleet.js';
import { isUserError } from '../../lib/errors/user-error.js';
import { gitlabCiSchemaErrors } from '../support/gitlab-ci-schema.js';

const GOLDEN = join(import.meta.dirname, '..', 'cases', 'init', 'golden');
const files = () => initFiles({ component: DEFAULT_COMPONENT, version: '0.1.0' });

function listFiles(dir: string, prefix = ''): string[] {
  return readdirSync(dir).flatMap((name) => {
    const rel = prefix ? `${prefix}/${name}` : name;
    return statSync(join(dir, name)).isDirectory() ? listFiles(join(dir, name), rel) : [rel];
  });
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'modelfleet-init-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('modelfleet init', () => {
  it('writes the golden files into an empty repository', () => {
    applyInit(dir, files(), false);
    if (process.env.UPDATE_GOLDEN === '1') {
      rmSync(GOLDEN, { recursive: true, force: true });
      for (const rel of listFiles(dir)) {
        mkdirSync(join(GOLDEN, rel, '..'), { recursive: true });
        writeFileSync(join(GOLDEN, rel), readFileSync(join(dir, rel)));
      }
    }
    expect(listFiles(dir).sort()).toEqual(listFiles(GOLDEN).sort());
    for (const rel of listFiles(GOLDEN)) expect(readFileSync(join(dir, rel)).equals(readFileSync(join(GOLDEN, rel))), rel).toBe(true);
  });

  it('changes nothing when run a second time', () => {
    applyInit(dir, files(), false);
    const before = new Map(listFiles(dir).map((rel) => [rel, readFileSync(join(dir, rel))]));
    const again = applyInit(dir, files(), false);
    expect(again.files.every((f) => f.outcome === 'unchanged')).toBe(true);
    for (const [rel, content] of before) expect(readFileSync(join(dir, rel)).equals(content)).toBe(true);
  });

  it('refuses to overwrite a file with other content, names it, and writes nothing at all', () => {
    writeFileSync(join(dir, '.gitlab-ci.yml'), 'stages: [test]\n');
    let error: unknown;
    try {
      applyInit(dir, files(), false);
    } catch (err) {
      error = err;
    }
    expect(isUserError(error) && error.code).toBe('INIT_WOULD_OVERWRITE');
    expect((error as Error).message).toContain('.gitlab-ci.yml');
    expect(readFileSync(join(dir, '.gitlab-ci.yml'), 'utf8')).toBe('stages: [test]\n');
    expect(existsSync(join(dir, 'models.yaml'))).toBe(false);
  });

  it('replaces with --force', () => {
    writeFileSync(join(dir, '.gitlab-ci.yml'), 'stages: [test]\n');
    const result = applyInit(dir, files(), true);
    expect(result.files.find((f) => f.path === '.gitlab-ci.yml')?.outcome).toBe('replaced');
    expect(readFileSync(join(dir, '.gitlab-ci.yml'), 'utf8')).toBe(readFileSync(join(GOLDEN, '.gitlab-ci.yml'), 'utf8'));
  });

  it('adds the line that skips onnxruntime-node\'s GPU download to .npmrc, keeping the user\'s settings', () => {
    writeFileSync(join(dir, '.npmrc'), 'registry=https://npm.example.com/\n');
    applyInit(dir, files(), false);
    expect(readFileSync(join(dir, '.npmrc'), 'utf8')).toMatch(/^registry=https:\/\/npm\.example\.com\/\n\n# .*\nonnxruntime-node-install=skip\n$/);
  });

  it('adds its .gitignore lines to an existing .gitignore and keeps the user\'s own', () => {
    writeFileSync(join(dir, '.gitignore'), '*.log\nnode_modules/');
    applyInit(dir, files(), false);
    expect(readFileSync(join(dir, '.gitignore'), 'utf8')).toBe('*.log\nnode_modules/\n\n# modelfleet\n/build/\n/.modelfleet/\n');
    applyInit(dir, files(), false);
    expect(readFileSync(join(dir, '.gitignore'), 'utf8')).toBe('*.log\nnode_modules/\n\n# modelfleet\n/build/\n/.modelfleet/\n');
  });

  it('writes a models.yaml that passes validation, with a model folder that exists', () => {
    applyInit(dir, files(), false);
    const fleet = loadFleet(join(dir, 'models.yaml'));
    expect(fleet.models.map((m) => m.name)).toEqual(['example']);
  });

  it('writes a .gitlab-ci.yml that is valid GitLab CI and includes the component of this version', () => {
    applyInit(dir, files(), false);
    const ci = load(readFileSync(join(dir, '.gitlab-ci.yml'), 'utf8')) as { include: Array<{ component: string; inputs: Record<string, unknown> }> };
    expect(gitlabCiSchemaErrors(ci)).toEqual([]);
    expect(ci.include).toHaveLength(1);
    expect(ci.include[0]?.component).toBe('$CI_SERVER_FQDN/modelfleet/modelfleet/fleet@0.1.0');
    expect(ci.include[0]?.inputs).toMatchObject({ 'models-file': 'models.yaml', environment: 'production' });
  });

  it('runs as a command and says what to do next, then nothing to change', () => {
    const cli = join(import.meta.dirname, '..', '..', 'bin', 'modelfleet.js');
    const first = execFileSync(process.execPath, [cli, 'init', '--dir', dir], { encoding: 'utf8' });
    expect(first).toContain('created   models.yaml');
    expect(first).toContain('npx modelfleet validate');
    const second = execFileSync(process.execPath, [cli, 'init', '--dir', dir], { encoding: 'utf8' });
    expect(second).toContain('nothing to change');
  });
});
