import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, posix } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { packageNameOf } from '../../pipeline/build/trace-serve-closure.js';

const ROOT = join(import.meta.dirname, '..', '..');
const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { private?: boolean; bin?: Record<string, string>; dependencies: Record<string, string>; files?: string[] };

const STATIC_IMPORT = /(?:^|[;\s}])(?:import|export)\s[^'"`;]*?\sfrom\s*['"]([^'"]+)['"]|(?:^|[;\s])import\s*['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/gm;

let packed: string[];

beforeAll(() => {
  // What `npm publish` would upload, from the compiled tree the test setup keeps current.
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  packed = (JSON.parse(out) as Array<{ files: Array<{ path: string }> }>)[0]?.files.map((f) => f.path) ?? [];
}, 60_000);

describe('the published package', () => {
  it('can be published and installed as a command', () => {
    expect(manifest.private).toBeUndefined();
    expect(manifest.bin).toEqual({ modelfleet: 'bin/modelfleet.js' });
    expect(packed).toContain('bin/modelfleet.js');
  });

  it('ships the compiled CLI, its templates, the CI/CD component and the example model, and no tests or sources', () => {
    for (const file of ['dist/cli/entry.js', 'dist/cli/commands/serve.js', 'image-templates/model/Dockerfile.hbs', 'image-templates/ci/Dockerfile.hbs', 'k8s-templates/model/deployment.yaml.hbs', 'templates/fleet.yml', 'examples/models/match-logreg-v1/model.onnx']) {
      expect(packed, file).toContain(file);
    }
    expect(packed.filter((file) => file.startsWith('test/') || file.startsWith('dist/bench/') || file.startsWith('dist/scripts/') || (file.endsWith('.ts') && !file.endsWith('.d.ts')))).toEqual([]);
  });

  it('imports at run time only its own files, Node built-ins and its production dependencies', () => {
    const shipped = new Set(packed);
    const builtins = new Set(builtinModules);
    const problems: string[] = [];
    for (const file of packed.filter((f) => f.endsWith('.js'))) {
      const source = readFileSync(join(ROOT, file), 'utf8');
      for (const match of source.matchAll(STATIC_IMPORT)) {
        const specifier = match[1] ?? match[2] ?? match[3] ?? '';
        if (specifier.startsWith('.')) {
          const target = posix.normalize(posix.join(dirname(file), specifier));
          if (!shipped.has(target)) problems.push(`${file} imports ${specifier}, which the package does not ship`);
        } else if (!specifier.startsWith('node:') && !builtins.has(specifier) && !(packageNameOf(specifier) in manifest.dependencies)) {
          problems.push(`${file} imports ${specifier}, which is not a production dependency`);
        }
      }
    }
    expect(problems).toEqual([]);
  });
});
