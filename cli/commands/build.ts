import type { Command } from 'commander';
import { UserError } from '../../lib/errors/user-error.js';

interface BuildFlags {
  model?: string;
  gateway: boolean;
  ciImage: boolean;
  push: boolean;
  file: string;
  out: string;
  force: boolean;
  env?: string;
}

/**
 * `modelfleet build --model NAME`: the `<model>:build` job. Builds the model's serving image
 * from its generated folder, tagged by content digest (skipped when that tag exists), pushes it
 * when CI_REGISTRY is set, and writes build/models/<NAME>/image.json.
 * `modelfleet build --gateway`: the `gateway:build` job; the same for the gateway image, whose
 * record is build/gateway/image.json (docs/build.md).
 * `modelfleet build --ci-image`: the image generated jobs run in, with the CLI inside.
 */
export function register(program: Command): void {
  program
    .command('build')
    .description('Build one model\'s serving image, or the gateway image (Docker), and write its image.json (docs/build.md).')
    .option('--model <deployName>', 'the model (or A/B variant) to build, as its jobs name it')
    .option('--gateway', 'build the gateway image instead; writes <out>/gateway/image.json', false)
    .option('--ci-image', 'build the CI image (Node, the modelfleet CLI, its dependencies), tagged modelfleet/ci:<version>', false)
    .option('--push', 'with --ci-image: push it to <MODELFLEET_REGISTRY_IMAGE or CI_REGISTRY_IMAGE>/modelfleet-ci:<version>', false)
    .option('--file <models.yaml>', 'the fleet file', 'models.yaml')
    .option('--out <dir>', 'the output folder', 'build')
    .option('--force', 'build even when an image with the same content digest exists', false)
    .option('--env <name>', 'with --model: build the registry version models.yaml pins for this environment (`environments.<name>.version` on the model)')
    .action(async (flags: BuildFlags) => {
      if (flags.ciImage && (flags.model !== undefined || flags.gateway)) {
        throw new UserError('USAGE', 'modelfleet build got more than one of --model, --gateway and --ci-image; one run builds one image', 'run one `modelfleet build` per image (they are separate jobs)');
      }
      if (flags.push && !flags.ciImage) {
        throw new UserError('USAGE', '--push goes with --ci-image', 'model and gateway images are pushed whenever a registry is configured (MODELFLEET_REGISTRY_IMAGE or GitLab\'s CI_REGISTRY_IMAGE); drop --push');
      }
      if (flags.ciImage) {
        await buildCi(flags);
        return;
      }
      if (flags.model && flags.gateway) {
        throw new UserError('USAGE', `modelfleet build got both --model ${flags.model} and --gateway; one run builds one image`,
          'Run `modelfleet build --model <deployName>` for a model image and `modelfleet build --gateway` for the gateway image, as separate commands (they are separate jobs).');
      }
      if (flags.gateway) {
        await buildGateway(flags);
        return;
      }
      if (!flags.model) {
        throw new UserError('USAGE', 'modelfleet build needs --model <deployName> or --gateway', 'Name the model as its jobs do (`<deployName>:build`), or pass --gateway for the gateway image; `modelfleet build --help` lists the options.');
      }
      const [{ resolve }, { loadFleet }, { findDeployable }, { deployableInEnvironment, findEnvironment }, { openDocker }, { buildModelImage }] = await Promise.all([
        import('node:path'),
        import('../../generator/fleet/load-fleet.js'),
        import('../../generator/fleet/find-deployable.js'),
        import('../../generator/fleet/find-environment.js'),
        import('../../pipeline/seams/docker.js'),
        import('../../pipeline/build/build-model-image.js'),
      ]);
      const fleet = loadFleet(flags.file);
      const own = findDeployable(fleet, flags.model);
      // The environment's pin; the image content (and so its tag) follows from the pinned version.
      const deployable = flags.env !== undefined ? deployableInEnvironment(own, findEnvironment(fleet, flags.env)) : own;
      const prefix = `[${deployable.variant.deployName}:build${flags.env !== undefined ? ` for ${flags.env}` : ''}]`;
      const log = (line: string) => console.log(`${prefix} ${line}`);
      // Bring-your-own images need no engine.
      const docker = deployable.variant.source.kind === 'image' ? undefined : await openDocker();
      const result = await buildModelImage({ fleet, deployable, outDir: resolve(flags.out), docker, force: flags.force, log });
      log(`wrote ${result.recordFile}`);
    });
}

async function buildCi(flags: BuildFlags): Promise<void> {
  const [{ openDocker }, { buildCiImage }] = await Promise.all([import('../../pipeline/seams/docker.js'), import('../../pipeline/build/build-ci-image.js')]);
  const log = (line: string) => console.log(`[ci-image] ${line}`);
  const result = await buildCiImage({ docker: await openDocker(), push: flags.push, force: flags.force, log });
  log(`${result.outcome === 'built' ? 'built' : 'reused'} ${result.tag}`);
  if (result.reference) log(`pushed ${result.reference}; jobs use it through the component's ci-image input (or ci.image in models.yaml)`);
  else log('run it as a job image with --push (a registry the runners pull from), or locally: docker run --rm -v "$PWD:/work" -w /work ' + result.tag + ' modelfleet validate');
}

/** The gateway image holds no route table (a ConfigMap brings it), so models.yaml is only used to find the git commit. */
async function buildGateway(flags: BuildFlags): Promise<void> {
  const [{ dirname, resolve }, { openDocker }, { buildGatewayImage }] = await Promise.all([
    import('node:path'),
    import('../../pipeline/seams/docker.js'),
    import('../../pipeline/build/build-gateway-image.js'),
  ]);
  const log = (line: string) => console.log(`[gateway:build] ${line}`);
  const result = await buildGatewayImage({
    outDir: resolve(flags.out),
    docker: await openDocker(),
    cwd: dirname(resolve(flags.file)),
    force: flags.force,
    log,
  });
  log(`wrote ${result.recordFile}`);
}
