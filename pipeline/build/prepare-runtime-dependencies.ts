import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cp, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';

/**
 * Bump when the selection or pruning rules change, so old cache entries are not reused.
 * The key also covers package-lock.json and the package list.
 */
const PRUNE_RULES_VERSION = 1;

/** A prepared production dependency tree, identical for every model image built from it. */
export interface RuntimeDependencies {
  /** Folder holding `package.json` and `node_modules/`: what the image's dependency layer copies to /app. */
  readonly dir: string;
  /** Cache key (sha256 hex): lockfile, packages and pruning rules. */
  readonly key: string;
  /** Installed package folders copied, relative to node_modules (e.g. `fastify`, `a/node_modules/b`). */
  readonly packages: readonly string[];
}

export interface PrepareRuntimeDependenciesOptions {
  readonly packageRoot: string;
  /** Packages `modelfleet serve` imports (from `traceServeClosure`). */
  readonly packages: readonly string[];
  /** Default: `<packageRoot>/node_modules/.cache/modelfleet/runtime-deps` (MODELFLEET_CACHE_DIR overrides). */
  readonly cacheDir?: string;
}

/**
 * Copies the production dependency closure of `packages` out of the host's node_modules into a
 * cache folder keyed by the lockfile hash, once; later builds reuse it, so the dependency layer of
 * every model image is built from byte-identical files. onnxruntime-node is pruned to its
 * linux/x64 CPU binaries (the package ships every platform's, hundreds of MB), and
 * declarations, source maps and Markdown are left out.
 */
export async function prepareRuntimeDependencies(options: PrepareRuntimeDependenciesOptions): Promise<RuntimeDependencies> {
  const { packageRoot } = options;
  const nodeModules = join(packageRoot, 'node_modules');
  const lockfile = await readFile(join(packageRoot, 'package-lock.json')).catch(() => Buffer.from(''));
  const manifest = JSON.parse(await readFile(join(packageRoot, 'package.json'), 'utf8')) as { name?: string; version?: string };
  const installed = await collectPackageClosure(nodeModules, options.packages);
  const key = createHash('sha256')
    .update(`rules ${PRUNE_RULES_VERSION}\n`)
    .update(lockfile)
    .update(`\n${installed.join('\n')}\n${manifest.version ?? ''}`)
    .digest('hex');
  const cacheRoot = options.cacheDir ?? process.env.MODELFLEET_CACHE_DIR ?? join(nodeModules, '.cache', 'modelfleet', 'runtime-deps');
  const dir = join(cacheRoot, key.slice(0, 16));
  if (existsSync(join(dir, 'package.json'))) return { dir, key, packages: installed };

  // Prepare in a private folder, then rename: concurrent builds never see a half-copied tree.
  const staging = `${dir}.tmp-${process.pid}-${Date.now()}`;
  await rm(staging, { recursive: true, force: true });
  await mkdir(join(staging, 'node_modules'), { recursive: true });
  for (const pkg of installed) {
    await cp(join(nodeModules, pkg), join(staging, 'node_modules', pkg), {
      recursive: true,
      dereference: true,
      filter: (source) => keepFile(relative(join(nodeModules, pkg), source), pkg),
    });
  }
  // The serving code is ESM; /app/package.json tells node so and names the version.
  const appManifest = { name: manifest.name ?? 'modelfleet', version: manifest.version ?? '0.0.0', private: true, type: 'module' };
  await writeFile(join(staging, 'package.json'), `${JSON.stringify(appManifest, null, 2)}\n`);
  try {
    await rename(staging, dir);
  } catch (err) {
    await rm(staging, { recursive: true, force: true });
    if (!existsSync(join(dir, 'package.json'))) throw err;
  }
  return { dir, key, packages: installed };
}

/**
 * Node's resolution, run ahead of time: every package reachable through `dependencies`,
 * `optionalDependencies` and `peerDependencies` (when installed), as paths relative to node_modules.
 */
export async function collectPackageClosure(nodeModules: string, roots: readonly string[]): Promise<string[]> {
  const found = new Set<string>();
  const queue: Array<{ name: string; from: string }> = roots.map((name) => ({ name, from: nodeModules }));
  while (queue.length > 0) {
    const next = queue.shift();
    if (!next) break;
    const location = resolvePackageDir(nodeModules, next.from, next.name);
    if (!location) continue; // optional and not installed
    const rel = relative(nodeModules, location).split(sep).join('/');
    if (found.has(rel)) continue;
    found.add(rel);
    const manifest = JSON.parse(await readFile(join(location, 'package.json'), 'utf8')) as {
      dependencies?: Record<string, string>;
      optionalDependencies?: Record<string, string>;
      peerDependencies?: Record<string, string>;
    };
    const deps = { ...manifest.peerDependencies, ...manifest.optionalDependencies, ...manifest.dependencies };
    for (const name of Object.keys(deps)) queue.push({ name, from: location });
  }
  return [...found].sort();
}

/** Looks for `name` in `<from>/node_modules`, then in each parent's, up to the root node_modules. */
function resolvePackageDir(nodeModules: string, from: string, name: string): string | undefined {
  let dir = from;
  for (;;) {
    const candidate = dir === nodeModules ? join(nodeModules, name) : join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dir === nodeModules) return undefined;
    // Step out of `.../node_modules/<pkg>` (or `@scope/<pkg>`) to the folder that holds it.
    let parent = dirname(dir);
    while (parent !== nodeModules && !parent.endsWith(`${sep}node_modules`)) parent = dirname(parent);
    dir = parent === nodeModules ? nodeModules : dirname(parent);
    if (!dir.startsWith(nodeModules)) return undefined;
  }
}

const DROPPED_FILE = /(\.d\.[cm]?ts|\.map|\.md|\.markdown)$/i;

/** Decides, for one path inside a package folder, whether the image needs it. */
export function keepFile(pathInPackage: string, pkg: string): boolean {
  const parts = pathInPackage.split(sep);
  if (parts[0] === 'node_modules') return false; // nested packages are copied on their own when needed
  if (pathInPackage !== '' && DROPPED_FILE.test(pathInPackage) && !/^license/i.test(parts.at(-1) ?? '')) return false;
  if (pkg === 'onnxruntime-node' && parts[0] === 'bin') {
    // bin/napi-v6/<os>/<arch>/...: keep only linux/x64 (the CPU build; no CUDA/TensorRT providers).
    const [, , os, arch] = parts;
    if (os !== undefined && os !== 'linux') return false;
    if (arch !== undefined && arch !== 'x64') return false;
  }
  return true;
}
