import type { Command } from 'commander';

interface ValidateFlags {
  file: string;
}

/** `modelfleet validate [--file models.yaml]`: checks the fleet file, writes nothing. */
export function register(program: Command): void {
  program
    .command('validate')
    .description('Check models.yaml (every problem at once, with file:line:col); writes nothing.')
    .option('--file <path>', 'the fleet file', 'models.yaml')
    .action(async (flags: ValidateFlags) => {
      const [{ loadFleet }, { listDeployables }, { displayFileName }] = await Promise.all([
        import('../../generator/fleet/load-fleet.js'),
        import('../../generator/fleet/find-deployable.js'),
        import('../../generator/fleet/fleet-problem.js'),
      ]);
      const fleet = loadFleet(flags.file);
      const deployables = listDeployables(fleet);
      console.log(`${displayFileName(fleet.file)} is valid: ${fleet.models.length} model(s), ${deployables.length} deployable(s)`);
      for (const { model, variant } of deployables) {
        const split = model.variants.length > 1 ? ` ${variant.shadow ? 'shadow' : `${variant.weight}%`}` : '';
        console.log(`  ${variant.deployName.padEnd(40)} ${model.route}${split} (${variant.source.kind})`);
      }
    });
}
