import { buildErrors } from '../../lib/errors/codes-build.js';
import { UserError } from '../../lib/errors/user-error.js';

/** A UserError whose hint is the catalogue's fix for its code, so every build error says what to do. */
export function userErrorWithFix(code: keyof typeof buildErrors, message: string, cause?: unknown): UserError {
  return new UserError(code, message, buildErrors[code].fix, cause === undefined ? undefined : { cause });
}
