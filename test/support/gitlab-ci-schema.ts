import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';

/**
 * GitLab's CI JSON schema, vendored in test/support/gitlab-ci-schema/ (SOURCE.md names the commit;
 * scripts/refresh-gitlab-ci-schema.sh updates it). It declares draft-07, which is what ajv's
 * default `Ajv` class implements (https://ajv.js.org/json-schema.html#draft-07).
 */
export const GITLAB_CI_SCHEMA_DIR = join(import.meta.dirname, 'gitlab-ci-schema');

export function loadGitlabCiSchema(): Record<string, unknown> {
  return JSON.parse(readFileSync(join(GITLAB_CI_SCHEMA_DIR, 'ci.json'), 'utf8')) as Record<string, unknown>;
}

let compiled: ValidateFunction | undefined;

/**
 * An ajv validator for GitLab CI files. Strict about the schema itself (an unknown keyword or
 * format in a refreshed copy fails loudly) except where upstream is loose on purpose:
 * - `markdownDescription` is the editor's documentation keyword, not a validation rule;
 * - union types (`"type": ["string", "integer"]`) and keywords without a `type` beside them are
 *   how upstream writes the schema (strictTypes would only log about them);
 * - the four formats it uses are accepted unchecked: they are hints for the editor, and every
 *   place they appear carries a `pattern` that states the rule GitLab enforces (e.g. include
 *   paths end in .yml/.yaml, environment URLs start with http(s):// or a variable).
 */
export function gitlabCiValidator(): ValidateFunction {
  if (!compiled) {
    const ajv = new Ajv({
      allErrors: true,
      allowUnionTypes: true,
      strictTypes: false,
      formats: { uri: true, 'uri-reference': true, 'date-time': true, regex: true },
    });
    ajv.addVocabulary(['markdownDescription']);
    compiled = ajv.compile(loadGitlabCiSchema());
  }
  return compiled;
}

/** Schema errors as `path message params` lines; empty when the document is valid. */
export function gitlabCiSchemaErrors(document: unknown): string[] {
  const validate = gitlabCiValidator();
  if (validate(document)) return [];
  return (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params)}`);
}
