import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Handlebars from 'handlebars';
import { load } from 'js-yaml';
import { findPackageRoot } from '../../lib/package-root.js';

const handlebars = Handlebars.create();
// JSON is YAML's flow syntax: a JSON-encoded value is always one YAML scalar, list or map,
// whatever text it holds, so no model name or label can add structure to a manifest.
handlebars.registerHelper('json', (value: unknown) => new handlebars.SafeString(JSON.stringify(value ?? null)));

const compiled = new Map<string, HandlebarsTemplateDelegate>();

/**
 * Renders `k8s-templates/<folder>/<file>` with `values` and parses the result back into an object.
 * Templates only place values (through `json`); the structure is the template's own.
 */
export function renderK8sTemplate(folder: string, file: string, values: object): Record<string, unknown> {
  const path = join(findPackageRoot(), 'k8s-templates', folder, file);
  let template = compiled.get(path);
  if (!template) {
    template = handlebars.compile(readFileSync(path, 'utf8'), { strict: true, noEscape: true });
    compiled.set(path, template);
  }
  return load(template(values)) as Record<string, unknown>;
}
