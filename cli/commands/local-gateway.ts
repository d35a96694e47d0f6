import type { Command } from 'commander';
import { serveGateway, withServeOptions, type ServeFlags } from './gateway.js';

/**
 * `modelfleet local-gateway --local-state DIR`: the gateway as the local target runs it, which
 * also stops idle models that scale to zero and starts them again on demand (containers or
 * processes, from the local state). A command of its own so that the gateway image, which only
 * runs `gateway`, carries no Docker client.
 */
export function register(program: Command): void {
  withServeOptions(program.command('local-gateway'))
    .description('The local target\'s gateway (started by `modelfleet up` and `deploy`): the gateway, plus waking models that scale to zero.')
    .requiredOption('--local-state <dir>', 'the local target\'s .modelfleet folder: models that scale to zero are stopped when idle and started on demand from it')
    .action(async (flags: ServeFlags & { localState: string }) => {
      const [{ createLocalWaker }, { openDocker }] = await Promise.all([import('../../pipeline/local-target/local-waker.js'), import('../../pipeline/seams/docker.js')]);
      let docker: ReturnType<typeof openDocker> | undefined;
      await serveGateway(flags, createLocalWaker({ root: flags.localState, docker: () => (docker ??= openDocker()) }));
    });
}
