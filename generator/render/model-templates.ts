import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../../lib/errors/user-error.js';
import { findPackageRoot } from '../../lib/package-root.js';

/** A Handlebars file from image-templates/model/; it renders to the same name without `.hbs`. */
export interface ModelTemplate {
  readonly name: string;
  readonly source: string;
}

/** image-templates/model/ of the modelfleet package (works from dist/ and sources). */
export function findModelTemplatesDir(): string {
  return join(findPackageRoot(), 'image-templates', 'model');
}

/** Reads every `*.hbs` file of `dir`, sorted by name so output order never depends on the file system. */
export function readModelTemplates(dir: string = findModelTemplatesDir()): ModelTemplate[] {
  try {
    return readdirSync(dir)
      .filter((name) => name.endsWith('.hbs'))
      .sort()
      .map((name) => ({ name, source: readFileSync(join(dir, name), 'utf8') }));
  } catch (err) {
    throw new UserError('TEMPLATE_FAILED', `cannot read the model templates in ${dir}: ${(err as Error).message}`, 'check that image-templates/model/ exists and is readable', { cause: err });
  }
}
