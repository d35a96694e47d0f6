import type { ErrorCode } from './catalogue.js';

/**
 * A problem the user can fix: bad input, a missing tool, a rejected manifest.
 * The CLI prints `error[CODE]: message` plus the hint and exits 1, never a stack.
 * Anything that is not a UserError is a bug in modelfleet and prints its stack.
 */
export class UserError extends Error {
  override readonly name = 'UserError';

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly hint?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function isUserError(err: unknown): err is UserError {
  return err instanceof UserError;
}

/** The text a person reads: the message, then the hint on its own line. */
export function formatUserError(err: UserError): string {
  const hint = err.hint ? `\n  hint: ${err.hint}` : '';
  return `error[${err.code}]: ${err.message}${hint}`;
}
