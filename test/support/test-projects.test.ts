import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectOf } from './test-projects.js';

const REPO = join(import.meta.dirname, '../..');
const testFiles = readdirSync(join(REPO, 'test'), { recursive: true, encoding: 'utf8' })
  .filter((file) => file.endsWith('.test.ts'))
  .map((file) => `test/${file}`)
  .sort();

/** What in a test file's text shows it needs the Docker engine or the registry. */
const TALKS_TO_DOCKER = /\brequireDocker(WithBaseImage)?\(|\bnew Docker\(|\bopenDocker\(\s*\{|\brequireRegistry\(|\brequireSecondEngine\(/;

describe('the vitest projects', () => {
  it('sort files by folder and name', () => {
    expect(projectOf('test/e2e/pipeline.test.ts')).toBe('e2e');
    expect(projectOf('test/loadtest/loadtest-docker.test.ts')).toBe('docker');
    expect(projectOf('test/build/gateway-image.test.ts')).toBe('docker');
    expect(projectOf('test/registry/push-pull.test.ts')).toBe('docker');
    expect(projectOf('test/serving/serve-process.test.ts')).toBe('process');
    expect(projectOf('test/gateway/gateway-under-load.test.ts')).toBe('process');
    expect(projectOf('test/generator/cli.test.ts')).toBe('process');
    expect(projectOf('test/deploy/kube-cli.test.ts')).toBe('docker');
    expect(projectOf('test/gateway/pick-variant.test.ts')).toBe('unit');
  });

  it('put every test file that talks to the Docker engine or the registry in the docker or e2e project', () => {
    const misplaced = testFiles
      .filter((file) => TALKS_TO_DOCKER.test(readFileSync(join(REPO, file), 'utf8')))
      .filter((file) => !['docker', 'e2e'].includes(projectOf(file)));
    // Rename such a file to `*-docker.test.ts` (see test/support/test-projects.ts).
    expect(misplaced).toEqual([]);
  });

  it('keep the unit project free of the Docker engine and of the tests that start processes', () => {
    const unit = testFiles.filter((file) => projectOf(file) === 'unit');
    expect(unit.length).toBeGreaterThan(20);
    expect(unit).not.toContain('test/deploy/up.test.ts');
    expect(unit).not.toContain('test/deploy/local-target-docker.test.ts');
  });
});
