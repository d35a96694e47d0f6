import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The modelfleet package folder (the one holding package.json, dist/ and node_modules/),
 * found from this module's own location so it works both from dist/ and from sources (tsx, vitest).
 */
export function findPackageRoot(from: string = dirname(fileURLToPath(import.meta.url))): string {
  let dir = from;
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && readPackageName(manifest) === 'modelfleet') return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no modelfleet package.json above ${from}`);
    dir = parent;
  }
}

/** The version in modelfleet's own package.json: what `--version` prints and what tags the CI image. */
export function packageVersion(root: string = findPackageRoot()): string {
  const parsed = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version?: unknown };
  return typeof parsed.version === 'string' ? parsed.version : '0.0.0';
}

function readPackageName(manifest: string): string | undefined {
  try {
    const parsed = JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown };
    return typeof parsed.name === 'string' ? parsed.name : undefined;
  } catch {
    return undefined;
  }
}
