import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserError } from '../../lib/errors/user-error.js';

/** A Handlebars file from templates/model/; it renders to the same name without `.hbs`. */
export interface ModelTemplate {
  readonly name: string;
  readonly source: string;
}

/** templates/model/ of the modelfleet package, found from this module's location (works from dist/ and sources). */
export function findModelTemplatesDir(from: string = dirname(fileURLToPath(import.meta.url))): string {
  let dir = from;
  for (;;) {
    const candidate = join(dir, 'templates', 'model');
    if (existsSync(join(dir, 'package.json')) && existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) throw new UserError('TEMPLATE_FAILED', `no templates/model/ folder above ${from}`, 'reinstall modelfleet; templates/ ships with the package');
    dir = parent;
  }
}

/** Reads every `*.hbs` file of `dir`, sorted by name so output order never depends on the file system. */
export function readModelTemplates(dir: string = findModelTemplatesDir()): ModelTemplate[] {
  try {
    return readdirSync(dir)
      .filter((name) => name.endsWith('.hbs'))
      .sort()
      .map((name) => ({ name, source: readFileSync(join(dir, name), 'utf8') }));
  } catch (err) {
    throw new UserError('TEMPLATE_FAILED', `cannot read the model templates in ${dir}: ${(err as Error).message}`, 'check that templates/model/ exists and is readable', { cause: err });
  }
}
