import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cp, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative, sep } from 'node:path';

/**
 * Bump when the selection or pruning rules change, so old cache entries are not reused.
 * The key also covers every copied package's place and version.
 */
const PRUNE_RULES_VERSION = 2;

/** A prepared production dependency tree, identical for every model image built from it. */
export interface RuntimeDependencies {
  /** Folder holding `package.json` and `node_modules/`: what the image's dependency layer copies to /app. */
  readonly dir: string;
  /** Cache key (sha256 hex): packages, their versions and the pruning rules. */
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
 * Copies the production dependency closure of `packages` out of the installed node_modules into
 * a cache folder keyed by the packages and their versions, once; later builds reuse it, so the
 * dependency layer of every model image is built from byte-identical files. onnxruntime-node is
 * pruned to its linux/x64 CPU binaries (the package ships every platform's, hundreds of MB),
 * and declarations, source maps and Markdown are left out.
 */
export async function prepareRuntimeDependencies(options: PrepareRuntimeDependenciesOptions): Promise<RuntimeDependencies> {
  const { packageRoot } = options;
  const { manifest, closure, key } = await planRuntimeDependencies(packageRoot, options.packages);
  const installed = closure.map((pkg) => pkg.target);
  const cacheRoot = options.cacheDir ?? process.env.MODELFLEET_CACHE_DIR ?? join(packageRoot, 'node_modules', '.cache', 'modelfleet', 'runtime-deps');
  const dir = join(cacheRoot, key.slice(0, 16));
  if (existsSync(join(dir, 'package.json'))) return { dir, key, packages: installed };

  // Prepare in a private folder, then rename: concurrent builds never see a half-copied tree.
  const staging = `${dir}.tmp-${process.pid}-${Date.now()}`;
  await rm(staging, { recursive: true, force: true });
  await mkdir(join(staging, 'node_modules'), { recursive: true });
  for (const pkg of closure) {
    const name = pkg.target.split('/node_modules/').at(-1) ?? pkg.target;
    await cp(pkg.source, join(staging, 'node_modules', pkg.target), {
      recursive: true,
      dereference: true,
      filter: (source) => keepFile(relative(pkg.source, source), name),
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
 * The cache key of the dependency tree `prepareRuntimeDependencies` would prepare, without
 * copying anything: what `generate` needs to compute an image's content tag.
 */
export async function runtimeDependenciesKey(packageRoot: string, packages: readonly string[]): Promise<string> {
  return (await planRuntimeDependencies(packageRoot, packages)).key;
}

async function planRuntimeDependencies(packageRoot: string, packages: readonly string[]): Promise<{ manifest: { name?: string; version?: string }; closure: ClosurePackage[]; key: string }> {
  const manifest = JSON.parse(await readFile(join(packageRoot, 'package.json'), 'utf8')) as { name?: string; version?: string };
  const closure = await collectPackageClosure(packageRoot, packages);
  const key = createHash('sha256')
    .update(`rules ${PRUNE_RULES_VERSION}\n`)
    .update(closure.map((pkg) => `${pkg.target}@${pkg.version}`).join('\n'))
    .update(`\n${manifest.version ?? ''}`)
    .digest('hex');
  return { manifest, closure, key };
}

/** One installed package of the closure: where it is on disk, and where the image's node_modules holds it. */
export interface ClosurePackage {
  /** Absolute folder of the installed package. */
  readonly source: string;
  /** Path relative to the image's node_modules (`fastify`, `a/node_modules/b`). */
  readonly target: string;
  readonly version: string;
}

/**
 * Node's resolution, run ahead of time from the modelfleet package folder: every package
 * reachable through `dependencies`, `optionalDependencies` and `peerDependencies` (when
 * installed). Packages are found as Node finds them, in `<dir>/node_modules` and then in every
 * parent folder's, so the closure is the same whether modelfleet is this repository (its own
 * node_modules) or a dependency of another repository (its packages hoisted beside it).
 * In the image they sit under one node_modules: a package found further up goes to the top
 * level, unless another version already holds that place, in which case it is nested below
 * the package that needs it, where Node will look first.
 */
export async function collectPackageClosure(packageRoot: string, roots: readonly string[]): Promise<ClosurePackage[]> {
  // Breadth first, so a package is always met after the package that needs it.
  const found = new Map<string, { name: string; version: string; dependent: string | undefined }>();
  const queue: Array<{ name: string; from: string; dependent: string | undefined }> = roots.map((name) => ({ name, from: packageRoot, dependent: undefined }));
  while (queue.length > 0) {
    const next = queue.shift();
    if (!next) break;
    const source = resolvePackageDir(next.from, next.name);
    if (!source || found.has(source)) continue; // optional and not installed, or seen
    const manifest = JSON.parse(await readFile(join(source, 'package.json'), 'utf8')) as {
      version?: string;
      dependencies?: Record<string, string>;
      optionalDependencies?: Record<string, string>;
      peerDependencies?: Record<string, string>;
    };
    found.set(source, { name: next.name, version: manifest.version ?? '0.0.0', dependent: next.dependent });
    const deps = { ...manifest.peerDependencies, ...manifest.optionalDependencies, ...manifest.dependencies };
    for (const name of Object.keys(deps)) queue.push({ name, from: source, dependent: source });
  }

  // modelfleet's own node_modules already has Node's layout and keeps it; packages found further
  // up go to the top level where free, else below the package that needs them.
  const own = join(packageRoot, 'node_modules') + sep;
  const targetOf = new Map<string, string>();
  const taken = new Set<string>();
  for (const source of found.keys()) {
    if (!source.startsWith(own)) continue;
    const target = source.slice(own.length).split(sep).join('/');
    targetOf.set(source, target);
    taken.add(target);
  }
  for (const [source, { name, dependent }] of found) {
    if (targetOf.has(source)) continue;
    const dependentTarget = dependent === undefined ? undefined : targetOf.get(dependent);
    const target = !taken.has(name) || dependentTarget === undefined ? name : `${dependentTarget}/node_modules/${name}`;
    targetOf.set(source, target);
    taken.add(target);
  }
  return [...found]
    .map(([source, { version }]) => ({ source, target: targetOf.get(source) ?? '', version }))
    .sort((a, b) => (a.target < b.target ? -1 : a.target > b.target ? 1 : 0));
}

/** Looks for `name` in `<from>/node_modules`, then in each parent folder's, as Node does. */
function resolvePackageDir(from: string, name: string): string | undefined {
  let dir = from;
  for (;;) {
    if (basename(dir) !== 'node_modules') {
      const candidate = join(dir, 'node_modules', name);
      if (existsSync(join(candidate, 'package.json'))) return candidate;
    }
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
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
