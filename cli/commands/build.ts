import type { Command } from 'commander';
import { UserError } from '../../lib/errors/user-error.js';

interface BuildFlags {
  model?: string;
  file: string;
  out: string;
  force: boolean;
}

/**
 * `modelfleet build --model NAME`: the `<model>:build` job. Builds the model's serving image
 * from its generated folder, tagged by content digest (skipped when that tag exists), pushes it
 * when CI_REGISTRY is set, and writes build/models/<NAME>/image.json (docs/build.md).
 */
export function register(program: Command): void {
  program
    .command('build')
    .description('Build one model\'s serving image (Docker) and write build/models/<NAME>/image.json (docs/build.md).')
    .option('--model <deployName>', 'the model (or A/B variant) to build, as its jobs name it')
    .option('--file <models.yaml>', 'the fleet file', 'models.yaml')
    .option('--out <dir>', 'the output folder', 'build')
    .option('--force', 'build even when an image with the same content digest exists', false)
    .action(async (flags: BuildFlags) => {
      if (!flags.model) {
        throw new UserError('USAGE', 'modelfleet build needs --model <deployName>', 'Name the model as its jobs do (`<deployName>:build`); `modelfleet build --help` lists the options.');
      }
      const [{ resolve }, { loadFleet }, { findDeployable }, { openDocker }, { buildModelImage }] = await Promise.all([
        import('node:path'),
        import('../../generator/fleet/load-fleet.js'),
        import('../../generator/fleet/find-deployable.js'),
        import('../../pipeline/seams/docker.js'),
        import('../../pipeline/build/build-model-image.js'),
      ]);
      const fleet = loadFleet(flags.file);
      const deployable = findDeployable(fleet, flags.model);
      const prefix = `[${deployable.variant.deployName}:build]`;
      const log = (line: string) => console.log(`${prefix} ${line}`);
      // Bring-your-own images need no engine.
      const docker = deployable.variant.source.kind === 'image' ? undefined : await openDocker();
      const result = await buildModelImage({ fleet, deployable, outDir: resolve(flags.out), docker, force: flags.force, log });
      log(`wrote ${result.recordFile}`);
    });
}
