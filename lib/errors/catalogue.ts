import { commonErrors } from './codes-common.js';
import { generatorErrors } from './codes-generator.js';
import { servingErrors } from './codes-serving.js';
import { deployErrors } from './codes-deploy.js';
import { loadtestErrors } from './codes-loadtest.js';
import { gatewayErrors } from './codes-gateway.js';
import { buildErrors } from './codes-build.js';
import { bulkErrors } from './codes-bulk.js';
import { streamErrors } from './codes-stream.js';
import type { ErrorCodeInfo } from './error-code-info.js';

/**
 * Every error code modelfleet can print, with its fix. Each area keeps its codes in its own
 * `codes-<area>.ts`; docs/errors.md is generated from this object and a test keeps the two in step.
 */
export const errorCatalogue = {
  ...commonErrors,
  ...generatorErrors,
  ...deployErrors,
  ...servingErrors,
  ...loadtestErrors,
  ...gatewayErrors,
  ...buildErrors,
  ...bulkErrors,
  ...streamErrors,
} as const satisfies Record<string, ErrorCodeInfo>;

export type ErrorCode = keyof typeof errorCatalogue;
