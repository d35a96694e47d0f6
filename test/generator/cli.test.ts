import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CASES_DIR, REPO_ROOT, useTempDir } from './support/generator-fixtures.js';

const launcher = path.join(REPO_ROOT, 'bin', 'modelfleet.js');

function modelfleet(cwd: string, ...args: string[]) {
  const run = spawnSync(process.execPath, [launcher, ...args], { cwd, encoding: 'utf8', env: { ...process.env, CI_COMMIT_BEFORE_SHA: '' }, timeout: 60_000 });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe('the modelfleet CLI (compiled, as the pipeline runs it)', () => {
  const tempDir = useTempDir('modelfleet-cli-');
  const scenario = readFileSync(path.join(CASES_DIR, 'three-models', 'models.yaml'), 'utf8');

  it('validates a good file and lists its deployables', () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'models.yaml'), scenario);
    const run = modelfleet(dir, 'validate');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('models.yaml is valid: 3 model(s), 4 deployable(s)');
    expect(run.stdout).toMatch(/match-2-taxi-v2 +\/probability\/2\/TAXI\/trafficaware 20% \(path\)/);
  });

  it('exits 1 with every problem located and no stack trace for a bad file', () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'fleet.yaml'), scenario.replace('weight: 20', 'weight: 10').replace('batching:', 'batchin:'));
    const run = modelfleet(dir, 'validate', '--file', 'fleet.yaml');
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^error\[FLEET_INVALID\]: fleet\.yaml has 2 problems:\n/);
    expect(run.stderr).toContain('fleet.yaml:14:23 models[0].ab.variants[1].weight: weights must add up to 100 (they add up to 90)');
    expect(run.stderr).toContain('fleet.yaml:19:5 models[1].batchin: unknown key "batchin"\n    hint: did you mean "batching"?');
    expect(run.stderr).not.toMatch(/^\s+at /m);
  });

  it('exits 1 for a missing file, an unknown model and a bad option, without a stack', () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'models.yaml'), scenario);
    const missing = modelfleet(dir, 'generate', '--file', 'nope.yaml');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^error\[FLEET_NOT_FOUND\]: fleet file nope\.yaml does not exist/);
    const unknown = modelfleet(dir, 'generate', '--model', 'match-7-mot');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('hint: did you mean "match-7-moto"?');
    const badOption = modelfleet(dir, 'generate', '--max-jobs', 'lots');
    expect(badOption.code).toBe(1);
    for (const run of [missing, unknown, badOption]) expect(run.stderr).not.toMatch(/^\s+at /m);
    expect(existsSync(path.join(dir, 'build'))).toBe(false);
  });

  it('generates the folders and the child pipeline', () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'models.yaml'), scenario);
    const run = modelfleet(dir, 'generate', '--all');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('modelfleet generate: all 4 deployables: forced with --all');
    expect(run.stdout).toMatch(/child-pipeline\.yml: 19 job\(s\)/);
    expect(readFileSync(path.join(dir, 'build', 'child-pipeline.yml'), 'utf8')).toContain('match-9-van:deploy:production:');
    expect(existsSync(path.join(dir, 'build', 'models', 'match-2-taxi-v1', 'Dockerfile'))).toBe(true);
  });
});
