import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { errorCatalogue } from '../../lib/errors/catalogue.js';
import { renderErrorDocs } from '../../lib/errors/render-error-docs.js';
import { formatUserError, UserError } from '../../lib/errors/user-error.js';

describe('error catalogue', () => {
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
