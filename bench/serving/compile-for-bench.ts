import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Compiles the project into build/bench-dist and returns where a source's JavaScript landed. The
 * servers under test run as compiled JavaScript (as in an image), not through tsx, whose loader would
 * add memory and start-up work in proportion to the number of modules.
 */
export function compileForBench(root: string, needed: readonly string[]): (script: string) => string {
  const outDir = join(root, 'build', 'bench-dist');
  const compiled = (script: string) => join(outDir, script.replace(/\.ts$/, '.js'));
  const tsc = spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json', '--outDir', outDir, '--sourceMap', 'false'], { cwd: root, encoding: 'utf8' });
  for (const script of needed) {
    if (!existsSync(compiled(script))) throw new Error(`compiling for the benchmark produced no ${compiled(script)}:\n${tsc.stdout}`);
  }
  return compiled;
}
