import type { Command } from 'commander';
import { UserError } from '../../lib/errors/user-error.js';

interface UpFlags {
  file: string;
  out: string;
  runtime: string;
  remeasure: boolean;
}

/**
 * `modelfleet up` (`npm start`): the whole pipeline for the fleet on this machine, then the
 * routes and a curl that works. `modelfleet down` stops what it left running. docs/deploy.md.
 */
export function register(program: Command): void {
  program
    .command('up')
    .description('Run the whole pipeline locally (generate, build, loadtest, deploy, gateway) and leave the fleet running (docs/deploy.md).')
    .option('--file <models.yaml>', 'the fleet file', 'models.yaml')
    .option('--out <dir>', 'the output folder', 'build')
    .option('--runtime <docker|process|auto>', 'containers (Docker + base image) or plain processes; auto picks Docker when it can', 'auto')
    .option('--remeasure', 'run every load test even when a current sizing.json exists', false)
    .action(async (flags: UpFlags) => {
      if (!['docker', 'process', 'auto'].includes(flags.runtime)) throw new UserError('USAGE', `--runtime must be docker, process or auto, not "${flags.runtime}"`);
      const [{ runUp }, { gatewayPortSetting }] = await Promise.all([import('../../pipeline/up/run-up.js'), import('../../pipeline/local-target/gateway-port.js')]);
      // Refused here, before minutes of builds and load tests, rather than at the gateway step.
      gatewayPortSetting();
      await runUp({ file: flags.file, out: flags.out, runtime: flags.runtime as 'docker' | 'process' | 'auto', remeasure: flags.remeasure, print: (line) => console.log(line) });
    });

  program
    .command('down')
    .description('Stop the models and the gateway that `modelfleet up` / `modelfleet deploy` left running on this machine.')
    .action(async () => {
      const { runDown } = await import('../../pipeline/up/run-up.js');
      await runDown((line) => console.log(line));
    });
}
