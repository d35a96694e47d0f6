import { readFile } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';

/** What the image commands load: compiled files (relative to the package root) and npm packages. */
export interface ServeClosure {
  readonly files: readonly string[];
  readonly packages: readonly string[];
}

const STATIC_IMPORT = /(?:^|[;\s}])(?:import|export)\s[^'"`;]*?\sfrom\s*['"]([^'"]+)['"]|(?:^|[;\s])import\s*['"]([^'"]+)['"]/gm;
const DYNAMIC_IMPORT = /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;
const BUILTINS = new Set(builtinModules);

/**
 * The commands images run: `serve` (model images) and `gateway` (the gateway image). Both
 * images copy the closure of all of them, so they share the dependency and code layers.
 */
export const IMAGE_COMMANDS: readonly string[] = ['serve', 'gateway', 'worker'];

/**
 * Follows the imports of the compiled CLI to find what an image must hold for
 * `modelfleet serve` and `modelfleet gateway` (IMAGE_COMMANDS), and nothing else:
 * - from the entry point and the command list, static imports and the lazy command imports
 *   (every command registers itself at start-up);
 * - from other command modules, static imports only (their actions import the heavy parts lazily);
 * - from the image commands, everything, lazy imports included.
 * So Docker and Kubernetes clients, which only other commands' actions load, stay out of the images.
 */
export async function traceServeClosure(packageRoot: string): Promise<ServeClosure> {
  const dist = join(packageRoot, 'dist');
  const entry = join(dist, 'cli', 'entry.js');
  const main = join(dist, 'cli', 'main.js');
  const files = new Set<string>();
  const packages = new Set<string>();
  const visitedLazy = new Set<string>();

  const visit = async (file: string, followLazy: (file: string) => boolean, seen: Set<string>): Promise<void> => {
    if (seen.has(file)) return;
    seen.add(file);
    const source = await readFile(file, 'utf8').catch(() => undefined);
    if (source === undefined) return; // a lazily imported module that is not built (optional command)
    files.add(relative(packageRoot, file).split(sep).join('/'));
    const specifiers = [...matchAll(source, STATIC_IMPORT)];
    if (followLazy(file)) specifiers.push(...matchAll(source, DYNAMIC_IMPORT));
    for (const specifier of specifiers) {
      if (specifier.startsWith('.')) {
        await visit(resolve(dirname(file), specifier), followLazy, seen);
      } else if (!specifier.startsWith('node:') && !BUILTINS.has(specifier)) {
        packages.add(packageNameOf(specifier));
      }
    }
  };

  await visit(entry, (file) => file === entry || file === main, new Set());
  for (const command of IMAGE_COMMANDS) await visit(join(dist, 'cli', 'commands', `${command}.js`), () => true, visitedLazy);
  if (!files.has('dist/cli/entry.js')) {
    throw new Error(`${entry} does not exist: build modelfleet first (npm run build)`);
  }
  return { files: [...files].sort(), packages: [...packages].sort() };
}

function* matchAll(source: string, pattern: RegExp): Iterable<string> {
  for (const match of source.matchAll(pattern)) {
    const specifier = match[1] ?? match[2];
    if (specifier) yield specifier;
  }
}

/** `@scope/name/sub/path` → `@scope/name`; `name/sub` → `name`. */
export function packageNameOf(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] ?? specifier);
}
