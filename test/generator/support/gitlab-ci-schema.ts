import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';

/**
 * GitLab's official CI JSON schema (the one GitLab's editor uses), as bundled inside
 * gitlab-ci-local's dist/index.js. The bundle holds it as a JavaScript object literal, so it is
 * cut out by its `$id` and evaluated; gitlab-ci-local's own relaxations (applied after the
 * literal) are not part of it.
 */
export function loadGitlabCiSchema(): Record<string, unknown> {
  const require = createRequire(import.meta.url);
  const entry = require.resolve('gitlab-ci-local/package.json');
  const bundle = readFileSync(path.join(path.dirname(entry), 'dist', 'index.js'), 'utf8');
  const marker = bundle.indexOf('$id:"https://gitlab.com/.gitlab-ci.yml"');
  if (marker < 0) throw new Error('GitLab CI schema not found in gitlab-ci-local (its bundle layout changed)');
  const start = bundle.lastIndexOf('{', marker);
  const end = matchingBrace(bundle, start);
  const literal = bundle.slice(start, end + 1);
  return new Function(`return (${literal});`)() as Record<string, unknown>;
}

/** Index of the `}` closing the `{` at `start`, skipping strings (and braces inside them). */
function matchingBrace(text: string, start: number): number {
  let depth = 0;
  for (let i = start; i < text.length; i++) {
    const c = text[i];
    if (c === '"' || c === "'" || c === '`') {
      for (i++; i < text.length && text[i] !== c; i++) if (text[i] === '\\') i++;
      continue;
    }
    if (c === '{') depth++;
    else if (c === '}' && --depth === 0) return i;
  }
  throw new Error('unbalanced schema literal');
}

let compiled: ValidateFunction | undefined;

/** An ajv validator for GitLab CI files (same ajv settings as gitlab-ci-local uses). */
export function gitlabCiValidator(): ValidateFunction {
  compiled ??= new Ajv({ allErrors: true, allowUnionTypes: true, validateFormats: false, strict: false }).compile(loadGitlabCiSchema());
  return compiled;
}

/** Schema errors as `path message` lines; empty when the document is valid. */
export function gitlabCiSchemaErrors(document: unknown): string[] {
  const validate = gitlabCiValidator();
  if (validate(document)) return [];
  return (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params)}`);
}
