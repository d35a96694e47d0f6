import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The modelfleet folder (the one holding k8s-templates/), found by walking up from this file.
 * Works both from the sources (pipeline/manifests/) and from the compiled dist/pipeline/manifests/.
 */
export function findPackageRoot(from: string = dirname(fileURLToPath(import.meta.url))): string {
  let dir = from;
  for (;;) {
    if (existsSync(join(dir, 'k8s-templates')) && existsSync(join(dir, 'package.json'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no modelfleet package root (with k8s-templates/) above ${from}`);
    dir = parent;
  }
}
