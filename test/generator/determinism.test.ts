import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runGenerate } from '../../generator/run-generate.js';
import { GENERATED_LIST_FILE } from '../../generator/write/write-plan.js';
import { UserError } from '../../lib/errors/user-error.js';
import { CASES_DIR, manyModelsYaml, planAll, useTempDir } from './support/generator-fixtures.js';

function snapshot(dir: string, prefix = ''): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(dir).sort()) {
    const full = path.join(dir, name);
    const rel = prefix ? `${prefix}/${name}` : name;
    if (statSync(full).isDirectory()) Object.assign(out, snapshot(full, rel));
    else out[rel] = readFileSync(full, 'utf8');
  }
  return out;
}

describe('generation', () => {
  const tempDir = useTempDir('modelfleet-det-');
  const scenario = readFileSync(path.join(CASES_DIR, 'three-models', 'models.yaml'), 'utf8');

  it('is deterministic: the same input gives byte-identical files', () => {
    const a = planAll(manyModelsYaml(60), { maxJobs: 50 });
    const b = planAll(manyModelsYaml(60), { maxJobs: 50 });
    expect(a.files.length).toBeGreaterThan(100);
    expect(b.files).toEqual(a.files);
  });

  it('writes the same bytes twice, and the folder holds exactly the planned files', async () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'models.yaml'), scenario);
    const first = await runGenerate({ file: 'models.yaml', out: 'build', all: true, cwd: dir, env: {} });
    const once = snapshot(path.join(dir, 'build'));
    await runGenerate({ file: 'models.yaml', out: 'build', all: true, cwd: dir, env: {} });
    expect(snapshot(path.join(dir, 'build'))).toEqual(once);
    expect(Object.keys(once).sort()).toEqual([...first.plan.files.map((f) => f.path), GENERATED_LIST_FILE].sort());
  });

  it('leaves the previous output untouched when a run fails', async () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'models.yaml'), scenario);
    await runGenerate({ file: 'models.yaml', out: 'build', all: true, cwd: dir, env: {} });
    const before = snapshot(path.join(dir, 'build'));
    writeFileSync(path.join(dir, 'models.yaml'), scenario.replace('weight: 20', 'weight: 25'));
    await expect(runGenerate({ file: 'models.yaml', out: 'build', all: true, cwd: dir, env: {} })).rejects.toThrow(UserError);
    const brokenTemplate = [{ name: 'broken.txt.hbs', source: '{{#if}}' }];
    writeFileSync(path.join(dir, 'models.yaml'), scenario.replace('durationSeconds: 5', 'durationSeconds: 6'));
    await expect(runGenerate({ file: 'models.yaml', out: 'build', all: true, cwd: dir, env: {}, templates: brokenTemplate })).rejects.toThrow(
      expect.objectContaining({ code: 'TEMPLATE_FAILED' }),
    );
    expect(snapshot(path.join(dir, 'build'))).toEqual(before);
  });

  it('reports an unwritable output folder as a user error and leaves it as it was', async () => {
    if (process.getuid?.() === 0) {
      // root writes through permissions; a file in the way of a folder fails for everyone.
      const dir = tempDir();
      writeFileSync(path.join(dir, 'models.yaml'), scenario);
      writeFileSync(path.join(dir, 'build'), 'not a folder');
      await expect(runGenerate({ file: 'models.yaml', out: 'build', all: true, cwd: dir, env: {} })).rejects.toThrow(expect.objectContaining({ code: 'OUTPUT_FAILED' }));
      expect(readFileSync(path.join(dir, 'build'), 'utf8')).toBe('not a folder');
      return;
    }
    const dir = tempDir();
    writeFileSync(path.join(dir, 'models.yaml'), scenario);
    mkdirSync(path.join(dir, 'build'));
    chmodSync(path.join(dir, 'build'), 0o500);
    await expect(runGenerate({ file: 'models.yaml', out: 'build', all: true, cwd: dir, env: {} })).rejects.toThrow(expect.objectContaining({ code: 'OUTPUT_FAILED' }));
    chmodSync(path.join(dir, 'build'), 0o700);
  });

  it('keeps files later jobs added, and removes folders of models that left the fleet', async () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'models.yaml'), scenario);
    await runGenerate({ file: 'models.yaml', out: 'build', all: true, cwd: dir, env: {} });
    writeFileSync(path.join(dir, 'build', 'models', 'match-7-moto', 'image.json'), '{"tag":"x"}\n');
    const withoutVan = scenario.slice(0, scenario.indexOf('  - name: match-9-van'));
    writeFileSync(path.join(dir, 'models.yaml'), withoutVan);
    const result = await runGenerate({ file: 'models.yaml', out: 'build', all: true, cwd: dir, env: {} });
    expect(result.written?.removed).toBeGreaterThan(0);
    expect(existsSync(path.join(dir, 'build', 'models', 'match-9-van'))).toBe(false);
    expect(readFileSync(path.join(dir, 'build', 'models', 'match-7-moto', 'image.json'), 'utf8')).toBe('{"tag":"x"}\n');
  });

  it('regenerates one model folder with --model, byte-identical to the full run, touching nothing else', async () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'models.yaml'), scenario);
    await runGenerate({ file: 'models.yaml', out: 'full', all: true, cwd: dir, env: {} });
    const result = await runGenerate({ file: 'models.yaml', out: 'one', model: 'match-2-taxi-v2', cwd: dir, env: {} });
    expect(result.plan.pipelines).toEqual([]);
    const one = snapshot(path.join(dir, 'one', 'models'));
    const full = snapshot(path.join(dir, 'full', 'models', 'match-2-taxi-v2'), 'match-2-taxi-v2');
    expect(one).toEqual(full);
    await expect(runGenerate({ file: 'models.yaml', out: 'one', model: 'match-2-taxi', cwd: dir, env: {} })).rejects.toThrow(
      expect.objectContaining({ code: 'UNKNOWN_MODEL' }),
    );
  });

  it('writes nothing on --dry-run', async () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'models.yaml'), scenario);
    const result = await runGenerate({ file: 'models.yaml', out: 'build', all: true, dryRun: true, cwd: dir, env: {} });
    expect(result.plan.files.length).toBeGreaterThan(0);
    expect(existsSync(path.join(dir, 'build'))).toBe(false);
  });
});
