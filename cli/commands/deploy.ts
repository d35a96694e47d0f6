import type { Command } from 'commander';
import { UserError } from '../../lib/errors/user-error.js';
import { parseSeconds, requireDeployTarget } from '../deploy-options.js';

interface DeployFlags {
  model?: string;
  gateway?: boolean;
  remove?: string;
  env?: string;
  namespace?: string;
  file: string;
  out: string;
  target: string;
  runtime: string;
  timeout?: number;
}

/**
 * `modelfleet deploy`: the `<model>:deploy`, `gateway:deploy` and `<model>:remove` jobs.
 * Kubernetes when a kubeconfig is configured (KUBECONFIG or in-cluster), else the local target.
 * Reference: docs/deploy.md.
 */
export function register(program: Command): void {
  program
    .command('deploy')
    .description('Deploy one model (or the gateway) to Kubernetes, or to this machine when no cluster is configured (docs/deploy.md).')
    .option('--model <deployName>', 'the model (or A/B variant) to deploy, as its jobs name it')
    .option('--gateway', 'deploy the gateway with the route table from models.yaml')
    .option('--remove <deployName>', 'remove a model\'s objects (Kubernetes: by label) or its local instance')
    .option('--env <name>', 'environment; Kubernetes namespace modelfleet-<env> (default: $MODELFLEET_ENV or dev)')
    .option('--namespace <name>', 'Kubernetes namespace (default: modelfleet-<env>)')
    .option('--file <models.yaml>', 'the fleet file', 'models.yaml')
    .option('--out <dir>', 'the output folder', 'build')
    .option('--target <kube|local|auto>', 'where to deploy: auto = kube when KUBECONFIG or an in-cluster account is configured, else local', 'auto')
    .option('--runtime <docker|process|auto>', 'local target: container (Docker, memory capped) or plain process', 'auto')
    .option('--timeout <seconds>', 'how long the rollout may take before it is rolled back (default 300 on Kubernetes, 60 locally)', parseSeconds)
    .action(async (flags: DeployFlags) => {
      const chosen = [flags.model !== undefined, flags.gateway === true, flags.remove !== undefined].filter(Boolean).length;
      if (chosen !== 1) {
        throw new UserError('USAGE', 'modelfleet deploy needs exactly one of --model <deployName>, --gateway, --remove <deployName>', '`modelfleet deploy --help` lists the options.');
      }
      const target = requireDeployTarget(flags.target);
      if (!['docker', 'process', 'auto'].includes(flags.runtime)) throw new UserError('USAGE', `--runtime must be docker, process or auto, not "${flags.runtime}"`);
      const { runDeploy } = await import('../../pipeline/deploy/run-deploy.js');
      await runDeploy({
        action: flags.model !== undefined ? { kind: 'model', name: flags.model } : flags.remove !== undefined ? { kind: 'remove', name: flags.remove } : { kind: 'gateway' },
        file: flags.file,
        out: flags.out,
        target,
        runtime: flags.runtime as 'docker' | 'process' | 'auto',
        ...(flags.env ? { environment: flags.env } : {}),
        ...(flags.namespace ? { namespace: flags.namespace } : {}),
        ...(flags.timeout ? { timeoutSeconds: flags.timeout } : {}),
        print: (line) => console.log(line),
      });
    });
}
