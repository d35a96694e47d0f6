import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../../lib/errors/user-error.js';
import { findFreePort } from '../../lib/free-port.js';
import { findPackageRoot } from '../../lib/package-root.js';
import { modelfleetArgs, startProcessInstance } from '../instance-runtime/process-instance.js';
import type { Clock } from '../seams/clock.js';
import type { TargetLauncher } from './server-target.js';

export interface ProcessLauncherOptions {
  readonly modelDir: string;
  /** Extra environment (batching settings, MODEL_NAME). */
  readonly env: Readonly<Record<string, string>>;
  /** The image name the manifests will carry (process mode builds none). */
  readonly image: string;
  readonly clock?: Clock;
}

/**
 * Process mode: each run is `node bin/modelfleet.js serve --model-dir DIR` on a free port of
 * 127.0.0.1, sampled with pidusage; the run's memory cap arms an RSS watchdog. Needs the
 * compiled CLI (`npm run build`).
 */
export function createProcessLauncher(options: ProcessLauncherOptions): TargetLauncher {
  const root = findPackageRoot();
  if (!existsSync(join(root, 'dist', 'cli', 'entry.js'))) {
    throw new UserError('LOADTEST_NOT_BUILT', `process mode runs ${join(root, 'bin', 'modelfleet.js')}, but ${join(root, 'dist')} holds no compiled CLI`, 'Run `npm run build`, then the load test again.');
  }
  return {
    mode: 'process',
    image: options.image,
    async start(run) {
      const port = await findFreePort();
      const instance = await startProcessInstance({
        args: modelfleetArgs('serve', '--model-dir', options.modelDir, '--port', String(port), '--host', '127.0.0.1'),
        env: options.env,
        port,
        ...(run.memoryCapBytes !== undefined ? { memoryCapBytes: run.memoryCapBytes } : {}),
        ...(options.clock ? { clock: options.clock } : {}),
      });
      return { ...instance, predictPath: '/invocations' };
    },
  };
}
