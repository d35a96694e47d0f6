import { randomBytes } from 'node:crypto';
import { UserError } from '../../lib/errors/user-error.js';
import { JOB_ID_PATTERN } from '../../serving/worker/bulk-protocol.js';

/** `<model>-<base36 time>-<random>`, cut to fit Redis key and file name rules; sorts by time within a model. */
export function newJobId(deployName: string, now = Date.now()): string {
  const random = randomBytes(5).toString('hex');
  const prefix = deployName.slice(0, 40).replace(/-+$/, '');
  return `${prefix}-${now.toString(36)}-${random}`;
}

export function checkJobId(id: string): string {
  if (!JOB_ID_PATTERN.test(id)) {
    throw new UserError('BULK_JOB_NOT_FOUND', `${JSON.stringify(id)} is not a bulk job id`, 'Pass the id `bulk submit` printed, e.g. match-7-moto-baseline-m5x2k1a0-3f9c1a2b7d.');
  }
  return id;
}
