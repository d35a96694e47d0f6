import type { Command } from 'commander';
import { parseSeconds, requireDeployTarget, targetOption } from '../deploy-options.js';

interface RedeployFlags {
  model: string;
  file: string;
  target: string;
  timeout: number;
}

/**
 * `modelfleet promote` and `modelfleet rollback`: deploy what a recorded deployment ran again,
 * never building or measuring (docs/deploy.md, "Promote and roll back").
 */
export function register(program: Command): void {
  program
    .command('promote')
    .description('Deploy the image and measured limits the source environment runs (its newest record) to the target environment; nothing is built or measured.')
    .requiredOption('--model <name>', 'the model (or A/B variant) deploy name')
    .requiredOption('--from <env>', 'the environment whose deployment is promoted, e.g. staging')
    .requiredOption('--to <env>', 'the environment it goes to, e.g. production')
    .option('--file <models.yaml>', 'the fleet file', 'models.yaml')
    .addOption(targetOption())
    .option('--timeout <seconds>', 'how long the rollout may take', parseSeconds, 300)
    .action(async (flags: RedeployFlags & { from: string; to: string }) => {
      const { promote, options } = await load(flags);
      await promote({ ...options, model: flags.model, from: flags.from, to: flags.to });
    });

  program
    .command('rollback')
    .description('Deploy an earlier recorded revision of a model in one environment again (default: the newest one that ran another image); nothing is built or measured.')
    .requiredOption('--model <name>', 'the model (or A/B variant) deploy name')
    .option('--env <env>', 'an environment of models.yaml (default: $MODELFLEET_ENV, else the first)')
    .option('--to <revision|version>', 'a revision number or a model version from `modelfleet history`')
    .option('--file <models.yaml>', 'the fleet file', 'models.yaml')
    .addOption(targetOption())
    .option('--timeout <seconds>', 'how long the rollout may take', parseSeconds, 300)
    .action(async (flags: RedeployFlags & { env?: string; to?: string }) => {
      const { rollback, options } = await load(flags);
      await rollback({ ...options, model: flags.model, environment: flags.env, to: flags.to });
    });
}

async function load(flags: RedeployFlags) {
  const target = requireDeployTarget(flags.target);
  const [{ promote, rollback }, { chooseTarget }] = await Promise.all([
    import('../../pipeline/history/redeploy.js'),
    import('../../pipeline/deploy/run-deploy.js'),
  ]);
  const options = {
    file: flags.file,
    target: chooseTarget(target),
    timeoutSeconds: flags.timeout,
    env: process.env,
    print: (line: string) => console.log(line),
  };
  return { promote, rollback, options };
}
