import type { ErrorCodeInfo } from './error-code-info.js';

/** Errors of bulk predictions: `modelfleet bulk`, `modelfleet worker` and the local Redis. */
export const bulkErrors = {
  BULK_NOT_ENABLED: {
    summary: 'The model named by `bulk submit` does not take bulk jobs.',
    fix: 'Add `bulk: { enabled: true }` to the model in models.yaml (docs/bulk.md), deploy it, then submit again. Models that bring their own image cannot run the worker.',
  },
  BULK_INPUT_INVALID: {
    summary: 'The input file of `bulk submit` cannot be read as CSV with a header or as JSON Lines.',
    fix: 'Pass a .csv file (a header row, then one row per line) or a .jsonl file (one JSON object per line); `--format csv|jsonl` names the format of other file names.',
  },
  BULK_HEADER_MISMATCH: {
    summary: 'The columns of the input file do not fit the model\'s signature; nothing was queued.',
    fix: 'Rename, add or drop columns so that the header names exactly the signature\'s inputs (the message lists them); optional columns may be left out.',
  },
  BULK_REDIS_UNAVAILABLE: {
    summary: 'Redis does not answer at the address given, or the address is not a redis:// URL.',
    fix: 'Start Redis (locally `modelfleet up` starts one for models with `bulk:`; `bash scripts/setup-redis.sh` installs it), or pass --redis redis://HOST:PORT / set REDIS_URL and REDIS_PASSWORD.',
  },
  BULK_REDIS_MISSING: {
    summary: 'redis-server is not installed on this machine, or it is older than 7.0.',
    fix: 'Run `bash scripts/setup-redis.sh` (as root): it installs Debian\'s redis-server 7.',
  },
  BULK_JOB_NOT_FOUND: {
    summary: 'No bulk job with this id exists in Redis: it never did, or its results expired (bulk.resultTtl).',
    fix: 'Check the id `bulk submit` printed; a job past its result TTL must be submitted again.',
  },
  BULK_JOB_NOT_DONE: {
    summary: '`bulk results` was asked for a job that has not finished, or was cancelled or failed.',
    fix: 'Wait for it (`bulk status JOB`, or `bulk results JOB --wait`); a cancelled or failed job has no complete results: submit it again.',
  },
  WORKER_CONFIG_INVALID: {
    summary: 'A setting of `modelfleet worker` (an environment variable) has an invalid value.',
    fix: 'See docs/bulk.md for every MODELFLEET_BULK_* variable, its range and default.',
  },
} as const satisfies Record<string, ErrorCodeInfo>;
