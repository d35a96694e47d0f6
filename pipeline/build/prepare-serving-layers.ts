import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { digestFiles } from '../../lib/file-digest.js';
import { prepareRuntimeDependencies, runtimeDependenciesKey, type RuntimeDependencies } from './prepare-runtime-dependencies.js';
import { IMAGE_COMMANDS, traceServeClosure } from './trace-serve-closure.js';
import { userErrorWithFix } from './user-error-with-fix.js';

/** The two layers every modelfleet image shares: production dependencies and compiled code. */
export interface ServingLayers {
  readonly runtime: RuntimeDependencies;
  /** `bin/modelfleet.js` and the compiled files the image commands reach, relative to the package root. */
  readonly appFiles: readonly string[];
  /** `sha256:...` over appFiles' paths and contents. */
  readonly servingCodeDigest: string;
}

/**
 * Traces what `serve` and `gateway` load and prepares the dependency tree for it. Model images
 * and the gateway image take these layers from here, so they hold the same files.
 */
export async function prepareServingLayers(options: { readonly packageRoot: string; readonly cacheDir?: string }): Promise<ServingLayers> {
  const { packageRoot } = options;
  const { appFiles, packages } = await servingFiles(packageRoot);
  const runtime = await prepareRuntimeDependencies({ packageRoot, packages, ...(options.cacheDir ? { cacheDir: options.cacheDir } : {}) });
  return { runtime, appFiles, servingCodeDigest: await digestFiles(packageRoot, appFiles) };
}

/** What identifies the two layers in an image's content: the same values `prepareServingLayers` gives, with nothing copied. */
export interface ServingLayerDigests {
  readonly runtimeDependenciesKey: string;
  readonly servingCodeDigest: string;
}

export async function servingLayerDigests(packageRoot: string): Promise<ServingLayerDigests> {
  const { appFiles, packages } = await servingFiles(packageRoot);
  return { runtimeDependenciesKey: await runtimeDependenciesKey(packageRoot, packages), servingCodeDigest: await digestFiles(packageRoot, appFiles) };
}

/** The compiled files the image commands reach (appFiles) and the packages they import. */
async function servingFiles(packageRoot: string): Promise<{ readonly appFiles: readonly string[]; readonly packages: readonly string[] }> {
  const commands = IMAGE_COMMANDS.map((command) => join(packageRoot, 'dist', 'cli', 'commands', `${command}.js`));
  if (![join(packageRoot, 'dist', 'cli', 'entry.js'), ...commands].every((file) => existsSync(file))) {
    throw userErrorWithFix('BUILD_NOT_COMPILED', `${join(packageRoot, 'dist')} holds no compiled CLI; images copy the serving code from there`);
  }
  const closure = await traceServeClosure(packageRoot);
  return { appFiles: ['bin/modelfleet.js', ...closure.files], packages: closure.packages };
}

