import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { errorCatalogue } from '../../lib/errors/catalogue.js';
import { renderErrorDocs } from '../../lib/errors/render-error-docs.js';
import { formatUserError, UserError } from '../../lib/errors/user-error.js';

const REPO = join(import.meta.dirname, '../..');
/** Where product code lives; tests, generated dist/ and the catalogue's own files are left out. */
const SOURCE_DIRS = ['cli', 'lib', 'generator', 'serving', 'pipeline', 'scripts'];

/** Whether a `super(...)` call sits in a class that extends UserError (e.g. FleetInvalidError). */
function extendsUserError(node: ts.Node): boolean {
  let at: ts.Node | undefined = node.parent;
  while (at && !ts.isClassLike(at)) at = at.parent;
  return (at?.heritageClauses ?? []).some((clause) => clause.types.some((type) => type.expression.getText() === 'UserError'));
}

/**
 * The error codes the product source throws, read from its syntax tree (so comments and docs do
 * not count): the string literals in the first argument of `new UserError(...)`, of the
 * `userError...(...)` factories and of `super(...)` in subclasses of UserError, by file.
 * A first argument without a literal forwards a code thrown elsewhere (`new UserError(err.code, ...)`);
 * TypeScript already types it as a catalogue code.
 */
function thrownCodes(): Map<string, string[]> {
  const thrown = new Map<string, string[]>();
  const files = SOURCE_DIRS.flatMap((dir) => readdirSync(join(REPO, dir), { recursive: true, encoding: 'utf8' }).map((file) => join(REPO, dir, file)))
    .filter((file) => file.endsWith('.ts') && !file.endsWith('.test.ts'));
  for (const file of files) {
    const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
    const visit = (node: ts.Node): void => {
      const throwsCode = (ts.isNewExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === 'UserError')
        || (ts.isCallExpression(node) && ts.isIdentifier(node.expression) && /^userError/.test(node.expression.text))
        || (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.SuperKeyword && extendsUserError(node));
      const code = throwsCode ? (node as ts.NewExpression | ts.CallExpression).arguments?.[0] : undefined;
      if (code) {
        const collect = (part: ts.Node): void => {
          if (ts.isStringLiteralLike(part)) thrown.set(part.text, [...(thrown.get(part.text) ?? []), relative(REPO, file)]);
          ts.forEachChild(part, collect);
        };
        collect(code);
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return thrown;
}

describe('error catalogue', () => {
  const thrown = thrownCodes();

  it('lists no code that the source never throws (a documented error must be reachable)', () => {
    expect(Object.keys(errorCatalogue).filter((code) => !thrown.has(code))).toEqual([]);
  });

  it('throws no code that the catalogue does not document', () => {
    expect([...thrown].filter(([code]) => !(code in errorCatalogue))).toEqual([]);
  });

  it('finds codes thrown by new UserError, by the userError factories and by UserError subclasses', () => {
    // Guards the scan itself: were it to miss a way of throwing, the two tests above would be wrong.
    expect(thrown.get('GATEWAY_ROUTES_INVALID')).toContain('serving/gateway/route-table-file.ts');
    expect(thrown.get('BUILD_PUSH_FAILED')).toContain('pipeline/build/ensure-image.ts');
    expect(thrown.get('FLEET_INVALID')).toContain('generator/fleet/load-fleet.ts');
  });

  it('keeps docs/errors.md in step with the codes (run `npx tsx scripts/render-error-docs.ts` to refresh)', () => {
    const committed = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
    expect(committed).toBe(renderErrorDocs());
  });

  it('gives every code a summary and a fix', () => {
    for (const [code, info] of Object.entries(errorCatalogue)) {
      expect(code, code).toMatch(/^[A-Z][A-Z0-9_]+$/);
      expect(info.summary.length, code).toBeGreaterThan(10);
      expect(info.fix.length, code).toBeGreaterThan(10);
    }
  });

  it('formats a user error as code, message and hint without a stack', () => {
    const text = formatUserError(new UserError('FILE_NOT_FOUND', 'models.yaml does not exist', 'create it'));
    expect(text).toBe('error[FILE_NOT_FOUND]: models.yaml does not exist\n  hint: create it');
    expect(text).not.toMatch(/\bat .*:\d+:\d+/);
  });
});
