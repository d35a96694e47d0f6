import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Content digests of file trees: a model's artifact (deploys compare it), the serving code an image
 * carries and the CI image's package (both part of image tags). Same bytes under the same paths, same
 * digest, whatever order the files are listed or read in.
 */

/** Every file under `entries` (files or folders relative to `root`; the whole of `root` by default), as sorted `/`-separated paths. */
export async function listFilesBelow(root: string, entries: readonly string[] = ['']): Promise<string[]> {
  const found: string[] = [];
  const walk = async (relativePath: string): Promise<void> => {
    const path = join(root, relativePath);
    if ((await stat(path)).isDirectory()) {
      for (const name of (await readdir(path)).sort()) await walk(relativePath === '' ? name : `${relativePath}/${name}`);
    } else {
      found.push(relativePath);
    }
  };
  for (const entry of entries) await walk(entry.replace(/\/+$/, ''));
  return [...new Set(found)].sort();
}

/** `sha256:...` over files' paths (relative to `root`) and contents. */
export async function digestFiles(root: string, files: readonly string[]): Promise<string> {
  const outer = createHash('sha256');
  for (const file of [...files].sort()) {
    const inner = createHash('sha256').update(await readFile(join(root, file))).digest('hex');
    outer.update(`${file}\0${inner}\n`);
  }
  return `sha256:${outer.digest('hex')}`;
}

/** `digestFiles` over every file below `root`. */
export async function digestDirectory(root: string): Promise<string> {
  return digestFiles(root, await listFilesBelow(root));
}
