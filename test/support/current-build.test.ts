import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { staleSources } from './current-build.js';

describe('the check that dist/ is current', () => {
  const roots: string[] = [];
  afterEach(async () => {
    await Promise.all(roots.splice(0).map((root) => rm(root, { recursive: true, force: true })));
  });

  /** A project with one source file and its compiled file, the source written at `sourceAt`. */
  async function project(files: { sourceAt: Date; compiledAt?: Date; configAt?: Date }) {
    const root = await mkdtemp(join(tmpdir(), 'modelfleet-current-build-'));
    roots.push(root);
    const early = new Date('2026-01-01T00:00:00Z');
    for (const config of ['tsconfig.json', 'tsconfig.build.json']) {
      await writeFile(join(root, config), '{}');
      await utimes(join(root, config), files.configAt ?? early, files.configAt ?? early);
    }
    await mkdir(join(root, 'cli'), { recursive: true });
    await writeFile(join(root, 'cli', 'entry.ts'), 'export {};\n');
    await writeFile(join(root, 'cli', 'entry.test.ts'), 'test files are not compiled\n');
    await utimes(join(root, 'cli', 'entry.ts'), files.sourceAt, files.sourceAt);
    if (files.compiledAt) {
      await mkdir(join(root, 'dist', 'cli'), { recursive: true });
      await writeFile(join(root, 'dist', 'cli', 'entry.js'), 'export {};\n');
      await utimes(join(root, 'dist', 'cli', 'entry.js'), files.compiledAt, files.compiledAt);
    }
    return root;
  }

  const monday = new Date('2026-03-02T10:00:00Z');
  const tuesday = new Date('2026-03-03T10:00:00Z');

  it('accepts a build made after the last source edit', async () => {
    expect(staleSources(await project({ sourceAt: monday, compiledAt: tuesday }))).toEqual([]);
  });

  it('names a source edited after the build', async () => {
    expect(staleSources(await project({ sourceAt: tuesday, compiledAt: monday }))).toEqual([join('cli', 'entry.ts')]);
  });

  it('names a source that was never compiled', async () => {
    expect(staleSources(await project({ sourceAt: monday }))).toEqual([join('cli', 'entry.ts')]);
  });

  it('counts a tsconfig change as making every compiled file stale', async () => {
    expect(staleSources(await project({ sourceAt: monday, compiledAt: tuesday, configAt: new Date('2026-03-04T10:00:00Z') }))).toEqual([join('cli', 'entry.ts')]);
  });
});
