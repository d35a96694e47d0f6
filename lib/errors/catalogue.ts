import { commonErrors } from './codes-common.js';
import type { ErrorCodeInfo } from './error-code-info.js';

/**
 * Every error code modelfleet can print, with its fix. Each area keeps its codes in its own
 * `codes-<area>.ts`; docs/errors.md is generated from this object and a test keeps the two in step.
 */
export const errorCatalogue = {
  ...commonErrors,
} as const satisfies Record<string, ErrorCodeInfo>;

export type ErrorCode = keyof typeof errorCatalogue;
