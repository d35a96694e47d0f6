import type { Command } from 'commander';
import { parseSeconds, requireDeployTarget, targetOption } from '../deploy-options.js';

interface CanaryFlags {
  model: string;
  file: string;
  env?: string;
  target: string;
  window?: number;
}

/**
 * `modelfleet canary`: the check behind `gate: canary` (the generated `<model>:canary:<env>` job),
 * also for a person deciding whether to promote.
 */
export function register(program: Command): void {
  program
    .command('canary')
    .description('Check whether a model may go into an environment: its requests through the previous environment\'s gateway over a window must meet the canary settings (count, success rate, p99). Changes nothing.')
    .requiredOption('--model <name>', 'the model (or A/B variant) deploy name')
    .option('--file <models.yaml>', 'the fleet file', 'models.yaml')
    .option('--env <name>', 'the environment the model would go into (default: $MODELFLEET_ENV); the one before it is measured')
    .addOption(targetOption('kube, local or auto: where the previous environment\'s gateway runs (default: $MODELFLEET_DEPLOY_TARGET, else auto)'))
    .option('--window <seconds>', 'how long to watch (default: the environment\'s canary.windowSeconds)', parseSeconds)
    .action(async (flags: CanaryFlags) => {
      const [{ runCanary }, { chooseTarget }] = await Promise.all([import('../../pipeline/canary/run-canary.js'), import('../../pipeline/deploy/run-deploy.js')]);
      await runCanary({
        file: flags.file,
        model: flags.model,
        environment: flags.env,
        target: chooseTarget(requireDeployTarget(flags.target)),
        ...(flags.window !== undefined ? { windowSeconds: flags.window } : {}),
        print: (line) => console.log(line),
      });
    });
}
