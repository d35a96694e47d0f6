import type { Command } from 'commander';
import { requireDeployTarget, targetOption } from '../deploy-options.js';

interface StatusFlags {
  file: string;
  env?: string;
  target: string;
}

interface HistoryFlags extends StatusFlags {
  model: string;
}

/**
 * `modelfleet status` (what runs where) and `modelfleet history --model M` (every deployment of
 * a model), read from the cluster or the local target and the records each deploy keeps beside
 * its model (docs/deploy.md, "Status and history").
 */
export function register(program: Command): void {
  program
    .command('status')
    .description('Show what runs where: for each model and environment the version, image, memory limit, replicas ready, and when and by which job it was deployed.')
    .option('--file <models.yaml>', 'the fleet file', 'models.yaml')
    .option('--env <name>', 'one environment of models.yaml (default: all, in promotion order)')
    .addOption(targetOption())
    .action(async (flags: StatusFlags) => {
      const { loadFleet, show, rows } = await loaders();
      const fleet = loadFleet(flags.file);
      process.stdout.write(show.formatStatus(await rows(fleet, flags)));
    });

  program
    .command('history')
    .description('List every recorded deployment of one model in one environment, newest first: revision, time, version, image, limits, result, commit and CI job.')
    .requiredOption('--model <name>', 'the model (or A/B variant) deploy name, as in `modelfleet status`')
    .option('--file <models.yaml>', 'the fleet file', 'models.yaml')
    .option('--env <name>', 'an environment of models.yaml (default: $MODELFLEET_ENV, else the first)')
    .addOption(targetOption())
    .action(async (flags: HistoryFlags) => {
      const { loadFleet, show, records } = await loaders();
      const fleet = loadFleet(flags.file);
      process.stdout.write(show.formatHistory(await records(fleet, flags)));
    });
}

async function loaders() {
  const [{ loadFleet }, { findDeployable }, { findEnvironment }, show, { chooseTarget }, { openKube }, { environmentStateRoot, readLocalState }, { readKubeRecords }, { localRecords }] = await Promise.all([
    import('../../generator/fleet/load-fleet.js'),
    import('../../generator/fleet/find-deployable.js'),
    import('../../generator/fleet/find-environment.js'),
    import('../../pipeline/history/show-deployments.js'),
    import('../../pipeline/deploy/run-deploy.js'),
    import('../../pipeline/seams/kube.js'),
    import('../../pipeline/local-target/local-state.js'),
    import('../../pipeline/history/kube-history.js'),
    import('../../pipeline/history/local-history.js'),
  ]);
  type Fleet = ReturnType<typeof loadFleet>;
  const targetOf = (flag: string) => chooseTarget(requireDeployTarget(flag));
  const kubeFor = (context: string | undefined) => openKube(context !== undefined ? { context } : {});
  return {
    loadFleet,
    show,
    async rows(fleet: Fleet, flags: StatusFlags) {
      const environments = show.selectEnvironments(fleet, flags.env);
      return targetOf(flags.target) === 'kube'
        ? show.kubeStatus(fleet, environments, (environment) => kubeFor(environment.context))
        : show.localStatus(fleet, environments);
    },
    async records(fleet: Fleet, flags: HistoryFlags) {
      const name = findDeployable(fleet, flags.model).variant.deployName;
      const environment = findEnvironment(fleet, flags.env);
      if (targetOf(flags.target) === 'kube') return readKubeRecords(await kubeFor(environment.context), environment.namespace, name);
      return localRecords(await readLocalState(environmentStateRoot(fleet.environments, environment.name)), name);
    },
  };
}
