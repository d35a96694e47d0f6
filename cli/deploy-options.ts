import { InvalidArgumentError, Option } from 'commander';
import { UserError } from '../lib/errors/user-error.js';

/**
 * Options the commands that deploy or read deployments share (`deploy`, `status`, `history`,
 * `promote`, `rollback`), parsed one way.
 */

export type DeployTargetFlag = 'kube' | 'local' | 'auto';

/** `--timeout <seconds>` as commander's argument parser. */
export function parseSeconds(value: string): number {
  const n = Number(value);
  if (!/^[0-9]+$/.test(value) || n < 1) throw new InvalidArgumentError('expected a whole number of seconds');
  return n;
}

/** `--target`: kube, local or auto; anything else is a usage error. */
export function requireDeployTarget(flag: string): DeployTargetFlag {
  if (flag !== 'kube' && flag !== 'local' && flag !== 'auto') throw new UserError('USAGE', `--target must be kube, local or auto, not "${flag}"`);
  return flag;
}

const TARGET_HELP = 'kube, local or auto (default: $MODELFLEET_DEPLOY_TARGET, else auto: Kubernetes when a cluster is configured, else this machine)';

/** `--target` of the commands that read or redeploy what runs, defaulting to $MODELFLEET_DEPLOY_TARGET as the generated jobs set it. */
export function targetOption(help = TARGET_HELP): Option {
  return new Option('--target <target>', help).default(process.env.MODELFLEET_DEPLOY_TARGET ?? 'auto');
}
