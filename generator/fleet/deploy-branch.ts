import type { DeployBranch } from './types.js';

/**
 * `ci.deploy.branches` entries. Each becomes part of a GitLab rules expression
 * (https://docs.gitlab.com/ci/jobs/job_rules/#cicd-variable-expressions): a branch name as a
 * double-quoted string, a pattern as a `/regex/` literal. Both are held to characters that
 * cannot end the literal early or start another expression: no quotes, no spaces, no
 * backslash escapes other than the harmless ones below.
 */

/** The entry that stands for GitLab's default branch (the built-in default of the list). */
export const DEFAULT_BRANCH_ENTRY = '$CI_DEFAULT_BRANCH';

/**
 * Git branch names (https://git-scm.com/docs/git-check-ref-format), narrowed: components of
 * letters, digits and "_+-" separated by single "/" or ".", not starting with "-", not ending in ".lock".
 */
const BRANCH_NAME = /^(?!-)[A-Za-z0-9_+-]+([./][A-Za-z0-9_+-]+)*$/;
/** What a pattern may hold besides escapes: RE2 syntax without quotes, spaces or `&`. */
const PATTERN_CHARS = /^[A-Za-z0-9_.\-/^$*+?()[\]{}|,:\\]+$/;
/** Escapes allowed in a pattern: escaped punctuation and the \d \w \s classes (no backreferences). */
const PATTERN_ESCAPE = /\\(.)/g;
const ALLOWED_ESCAPED = new Set([...'./+*?()[]{}|^$-dwsDWS']);

/** Why `value` is not a valid entry, or undefined when it is. */
export function deployBranchProblem(value: string): string | undefined {
  if (value === DEFAULT_BRANCH_ENTRY) return undefined;
  if (value.startsWith('$')) return `only ${DEFAULT_BRANCH_ENTRY} may be written as a variable; name other branches literally, or as a /regex/`;
  if (value.startsWith('/')) return patternProblem(value);
  if (value.length > 255) return 'must be at most 255 characters';
  if (!BRANCH_NAME.test(value) || value.endsWith('.lock')) {
    return 'must be a branch name (letters, digits, "_+-", separated by "/" or "."), $CI_DEFAULT_BRANCH, or a /regex/';
  }
  return undefined;
}

function patternProblem(value: string): string | undefined {
  if (value.length < 3 || !value.endsWith('/')) return 'a pattern is written between slashes, like /^release\\/.+$/';
  if (value.length > 257) return 'must be at most 255 characters between the slashes';
  const body = value.slice(1, -1);
  if (!PATTERN_CHARS.test(body)) return 'a pattern may hold letters, digits and the regex characters _.-/^$*+?()[]{}|,: and \\ (no quotes, spaces or &)';
  for (const match of body.matchAll(PATTERN_ESCAPE)) {
    if (!ALLOWED_ESCAPED.has(match[1] ?? '')) return `\\${match[1] ?? ''} is not allowed in a pattern: escape only punctuation, or use \\d \\w \\s`;
  }
  if (/\\$/.test(body.replace(PATTERN_ESCAPE, ''))) return 'a pattern must not end with a lone backslash';
  // `$NAME` inside a pattern is not a variable in GitLab, but some tools expand it; `$` may only end an alternative.
  if (/\$[A-Za-z0-9_{]/.test(body)) return '"$" may only end the pattern or an alternative (like ^main$|^dev$), not start a variable name';
  // RE2 (what GitLab evaluates patterns with) has no lookaround or backreferences; (?: is the only group option kept.
  if (/\(\?(?!:)/.test(body)) return 'only plain groups ( ) and (?: ) are allowed in a pattern (GitLab uses RE2: no lookaround)';
  try {
    new RegExp(escapeSlashes(body));
  } catch (err) {
    return `is not a valid regular expression (${(err as Error).message})`;
  }
  return undefined;
}

/** Every `/` in the pattern escaped once, so it cannot close the `/…/` literal early. */
function escapeSlashes(body: string): string {
  return body.replace(/\\.|\//g, (m) => (m === '/' ? '\\/' : m));
}

/** The resolved form of a valid entry (call `deployBranchProblem` first). */
export function parseDeployBranch(value: string): DeployBranch {
  if (value === DEFAULT_BRANCH_ENTRY) return { kind: 'default' };
  if (value.startsWith('/')) return { kind: 'pattern', pattern: escapeSlashes(value.slice(1, -1)) };
  return { kind: 'name', name: value };
}
