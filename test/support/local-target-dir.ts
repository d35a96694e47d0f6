import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runModelfleet } from './run-cli.js';

/** A test's own folder for the local target: its fleet files and its `.modelfleet` state, apart from every other test's. */
export interface LocalTargetDir {
  readonly dir: string;
  /** The CLI's environment: state in `dir`, the given gateway port, no cluster and no MODELFLEET_ENV. */
  readonly env: NodeJS.ProcessEnv;
  /** The compiled CLI run in `dir` with `env`. */
  cli(args: readonly string[]): Promise<{ code: number; output: string }>;
  /** `modelfleet down` (stops every instance and gateway it started), then the folder goes. */
  remove(): Promise<void>;
}

export async function makeLocalTargetDir(prefix: string, gatewayPort: number | string): Promise<LocalTargetDir> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  const env: NodeJS.ProcessEnv = { ...process.env, MODELFLEET_STATE_DIR: join(dir, '.modelfleet'), MODELFLEET_GATEWAY_PORT: String(gatewayPort), ORT_DISABLE_TELEMETRY: '1' };
  delete env.MODELFLEET_ENV;
  delete env.KUBECONFIG;
  const cli = (args: readonly string[]) => runModelfleet(args, { cwd: dir, env });
  return {
    dir,
    env,
    cli,
    async remove() {
      await cli(['down']);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
