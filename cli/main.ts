import { Command, CommanderError } from 'commander';
import { formatUserError, isUserError } from '../lib/errors/user-error.js';
import { packageVersion } from '../lib/package-root.js';

// Each command module registers itself and imports its heavy dependencies lazily inside its
// action, so `modelfleet serve` in a model image loads neither Docker nor Kubernetes clients.
const commandModules: ReadonlyArray<() => Promise<{ register(program: Command): void }>> = [
  () => import('./commands/deploy.js'),
  () => import('./commands/up.js'),
  () => import('./commands/serve.js'),
  () => import('./commands/gateway.js'),
  () => import('./commands/local-gateway.js'),
  () => import('./commands/build.js'),
  () => import('./commands/validate.js'),
  () => import('./commands/generate.js'),
  () => import('./commands/loadtest.js'),
  () => import('./commands/rbac.js'),
  () => import('./commands/status.js'),
  () => import('./commands/promote.js'),
  () => import('./commands/canary.js'),
  () => import('./commands/bulk.js'),
  () => import('./commands/worker.js'),
  () => import('./commands/stream.js'),
  () => import('./commands/init.js'),
];

export async function main(argv: readonly string[]): Promise<number> {
  const program = new Command('modelfleet')
    .description('Ship a fleet of ML models through GitLab CI onto Kubernetes.')
    .version(packageVersion(), '-V, --version', 'print the modelfleet version')
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)');
  for (const load of commandModules) (await load()).register(program);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    if (isUserError(err)) {
      console.error(formatUserError(err));
      return 1;
    }
    throw err;
  }
}
