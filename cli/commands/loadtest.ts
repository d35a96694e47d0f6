import type { Command } from 'commander';
import { UserError } from '../../lib/errors/user-error.js';

interface LoadtestFlags {
  model: string;
  file: string;
  out: string;
  mode: string;
  duration?: string;
  connections?: string;
  seed?: string;
  maxMemory?: string;
  env?: string;
}

const MODES = ['docker', 'process', 'auto'] as const;

/**
 * `modelfleet loadtest --model NAME`: the `<model>:test` job. Load-tests the model's server with
 * random inputs that conform to its signature, sizes it, proves the memory limit, and writes
 * build/models/<name>/{report/, sizing.json}, and the sizing record in the registry (docs/loadtest.md).
 */
export function register(program: Command): void {
  program
    .command('loadtest')
    .description('Load-test one model with random schema-conforming inputs, size it, prove its memory limit, store the sizing beside its image.')
    .requiredOption('--model <name>', 'deploy name of the model or A/B variant (as in `<name>:test`)')
    .option('--file <models.yaml>', 'the fleet file', 'models.yaml')
    .option('--out <dir>', 'build folder: writes models/<name>/report/ and sizing.json', 'build')
    .option('--mode <mode>', 'docker (run the built image), process (run `modelfleet serve` as a child process), or auto (docker when an engine answers)', 'auto')
    .option('--duration <seconds>', "override the model's loadtest.durationSeconds (e.g. a quick local run)")
    .option('--connections <n>', "override the model's loadtest.connections")
    .option('--seed <n>', 'seed of the random inputs (default: derived from the model name, so runs repeat)')
    .option('--env <name>', 'measure the registry version models.yaml pins for this environment (`environments.<name>.version` on the model)')
    .option('--max-memory <MiB>', 'memory cap of the measuring run, so a leaking model is stopped instead of filling the machine (default 4096)')
    .action(async (flags: LoadtestFlags) => {
      if (!(MODES as readonly string[]).includes(flags.mode)) {
        throw new UserError('USAGE', `--mode ${flags.mode} is not one of ${MODES.join(', ')}`, 'Use --mode docker, --mode process or --mode auto.');
      }
      const overrides = {
        ...optionalInt('--duration', flags.duration, 'durationSeconds', 1, 3600),
        ...optionalInt('--connections', flags.connections, 'connections', 1, 1000),
        ...optionalInt('--seed', flags.seed, 'seed', 0, 2 ** 32 - 1),
        ...mebibytes(optionalInt('--max-memory', flags.maxMemory, 'safetyCapBytes', 16, 1024 * 1024)),
      };
      const [{ loadFleet }, { findDeployable }, { deployableInEnvironment, findEnvironment }, { runLoadtest }, { openDocker }] = await Promise.all([
        import('../../generator/fleet/load-fleet.js'),
        import('../../generator/fleet/find-deployable.js'),
        import('../../generator/fleet/find-environment.js'),
        import('../../pipeline/loadtest/run-loadtest.js'),
        import('../../pipeline/seams/docker.js'),
      ]);
      const fleet = loadFleet(flags.file);
      const own = findDeployable(fleet, flags.model);
      const deployable = flags.env !== undefined ? deployableInEnvironment(own, findEnvironment(fleet, flags.env)) : own;
      await runLoadtest({
        fleet,
        deployable,
        outDir: flags.out,
        mode: flags.mode as (typeof MODES)[number],
        ...overrides,
        openDocker: () => openDocker(),
        log: (line) => console.log(line),
      });
    });
}

function mebibytes(value: { safetyCapBytes?: number }): { safetyCapBytes?: number } {
  return value.safetyCapBytes === undefined ? {} : { safetyCapBytes: value.safetyCapBytes * 1024 * 1024 };
}

function optionalInt<K extends string>(flag: string, value: string | undefined, key: K, min: number, max: number): Partial<Record<K, number>> {
  if (value === undefined) return {};
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new UserError('USAGE', `${flag} ${value} must be a whole number from ${min} to ${max}`, `Run \`modelfleet loadtest --help\` for the options.`);
  }
  return { [key]: n } as Partial<Record<K, number>>;
}
