/**
 * vitest global setup: makes sure dist/ is the build of the sources under test before any test
 * runs. The local target, the process-mode load test, `bin/modelfleet.js` and the images all run
 * the compiled CLI, so a stale dist/ would let a test pass on yesterday's code.
 *
 * Current means: every TypeScript file that tsconfig.build.json compiles has its .js in dist/,
 * no older than the source (and no older than the tsconfig files). When that does not hold,
 * this runs `tsc -p tsconfig.build.json` once and checks again; `npm test` has just built, so
 * there the check costs a few milliseconds.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';

const ROOT = join(import.meta.dirname, '..', '..');
/** The folders tsconfig.build.json compiles (its `include`). */
const COMPILED_DIRS = ['cli', 'lib', 'generator', 'serving', 'pipeline', 'scripts', 'bench'];

/** Sources whose compiled file in dist/ is missing or older, relative to the repository. */
export function staleSources(root = ROOT): string[] {
  const configTime = Math.max(...['tsconfig.json', 'tsconfig.build.json'].map((file) => statSync(join(root, file)).mtimeMs));
  const stale: string[] = [];
  for (const dir of COMPILED_DIRS) {
    if (!existsSync(join(root, dir))) continue;
    for (const entry of readdirSync(join(root, dir), { recursive: true, encoding: 'utf8' })) {
      if (!entry.endsWith('.ts') || entry.endsWith('.d.ts') || entry.endsWith('.test.ts')) continue;
      const source = join(root, dir, entry);
      const compiled = join(root, 'dist', dir, entry.replace(/\.ts$/, '.js'));
      if (!existsSync(compiled)) {
        stale.push(relative(root, source));
        continue;
      }
      const builtAt = statSync(compiled).mtimeMs;
      if (builtAt < statSync(source).mtimeMs || builtAt < configTime) stale.push(relative(root, source));
    }
  }
  return stale;
}

export default function ensureCurrentBuild(): void {
  const before = staleSources();
  if (before.length === 0) return;
  const shown = `${before.slice(0, 3).join(', ')}${before.length > 3 ? ` and ${before.length - 3} more` : ''}`;
  console.log(`[current-build] dist/ is older than ${shown}: running tsc -p tsconfig.build.json`);
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const run = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: ROOT, encoding: 'utf8' });
  const after = staleSources();
  if (after.length > 0) {
    throw new Error(`dist/ is still not current after \`tsc -p tsconfig.build.json\` (exit ${String(run.status)}); stale: ${after.slice(0, 5).join(', ')}\n${run.stdout}${run.stderr}`);
  }
  if (run.status !== 0) {
    // tsc emits JavaScript despite type errors, so dist/ does match the sources; the type errors
    // are `npm run typecheck`'s to report (npm test runs it first).
    console.log(`[current-build] rebuilt dist/; tsc also reported type errors (run \`npm run typecheck\`):\n${run.stdout.split('\n').slice(0, 10).join('\n')}`);
  }
}
