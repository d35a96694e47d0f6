import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RenderedManifest } from './render-model-manifests.js';

/**
 * Replaces `dir` with one file per manifest: the deploy job's artifact, so people see exactly
 * what was applied. Written beside it and renamed over it, so a crash leaves the old folder whole.
 */
export async function writeManifestFiles(dir: string, manifests: readonly RenderedManifest[]): Promise<void> {
  const staging = `${dir}.tmp-${process.pid}`;
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { recursive: true });
  for (const manifest of manifests) await writeFile(join(staging, manifest.file), manifest.yaml);
  await rm(dir, { recursive: true, force: true });
  await rename(staging, dir);
}
