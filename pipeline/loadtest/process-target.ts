import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../../lib/errors/user-error.js';
import { findPackageRoot } from '../../lib/package-root.js';
import { systemClock, type Clock } from '../seams/clock.js';
import { sampleProcess } from '../seams/process-sampler.js';
import { formatMemoryQuantity } from '../sizing/sizing-policy.js';
import { findFreePort } from './free-port.js';
import type { ServerTarget, TargetLauncher, TargetSample, TargetState } from './server-target.js';

const LOG_LINES_KEPT = 200;

export interface ProcessLauncherOptions {
  readonly modelDir: string;
  /** Extra environment (batching settings, MODEL_NAME). */
  readonly env: Readonly<Record<string, string>>;
  /** The image name the manifests will carry (process mode builds none). */
  readonly image: string;
  readonly clock?: Clock;
}

/**
 * Process mode: runs `node bin/modelfleet.js serve --model-dir DIR --port N` as a child process
 * on 127.0.0.1 and samples it with pidusage. Needs the compiled CLI (`npm run build`).
 */
export function createProcessLauncher(options: ProcessLauncherOptions): TargetLauncher {
  const root = findPackageRoot();
  const bin = join(root, 'bin', 'modelfleet.js');
  if (!existsSync(join(root, 'dist', 'cli', 'entry.js'))) {
    throw new UserError('LOADTEST_NOT_BUILT', `process mode runs ${bin}, but ${join(root, 'dist')} holds no compiled CLI`, 'Run `npm run build`, then the load test again.');
  }
  return {
    mode: 'process',
    image: options.image,
    async start(run) {
      const port = await findFreePort();
      return startProcessTarget({
        args: [bin, 'serve', '--model-dir', options.modelDir, '--port', String(port), '--host', '127.0.0.1'],
        env: options.env,
        port,
        ...(run.memoryCapBytes !== undefined ? { memoryCapBytes: run.memoryCapBytes } : {}),
        ...(options.clock ? { clock: options.clock } : {}),
      });
    },
  };
}

export interface ProcessTargetOptions {
  /** Arguments to `node` (this Node.js binary). */
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  /** The port the process serves on, at 127.0.0.1. */
  readonly port: number;
  readonly memoryCapBytes?: number;
  readonly predictPath?: string;
  readonly readyPath?: string;
  readonly clock?: Clock;
}

/** Starts `node <args>` with HOST=127.0.0.1 PORT=<port> and watches it as a server under test. */
export function startProcessTarget(options: ProcessTargetOptions): ServerTarget {
  const child = spawn(process.execPath, [...options.args], {
    env: { ...process.env, ...options.env, HOST: '127.0.0.1', PORT: String(options.port), ORT_DISABLE_TELEMETRY: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return processTarget(child, options);
}

/**
 * A process cannot be put under a cgroup memory cap from here, so `memoryCapBytes` is kept by a
 * watchdog: the sampler kills the server (SIGKILL, like the OOM killer) when its RSS goes over
 * the cap. It samples every few hundred milliseconds, so a short spike can slip past it.
 */
function processTarget(child: ChildProcess, options: ProcessTargetOptions): ServerTarget {
  const { port, memoryCapBytes } = options;
  const clock = options.clock ?? systemClock;
  const lines: string[] = [];
  const keep = (chunk: Buffer): void => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (line.trim() === '') continue;
      lines.push(line);
      if (lines.length > LOG_LINES_KEPT) lines.shift();
    }
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exited = once(child, 'exit').then(([code, signal]) => {
    exit = { code: code as number | null, signal: signal as NodeJS.Signals | null };
  });
  child.once('error', (err) => lines.push(`failed to start: ${err.message}`));
  const pid = child.pid ?? -1;
  let stopping = false;
  let killedOverCap = false;

  return {
    baseUrl: `http://127.0.0.1:${port}`,
    predictPath: options.predictPath ?? '/invocations',
    readyPath: options.readyPath ?? '/readyz',
    kind: 'process',
    description: `process ${pid} on 127.0.0.1:${port}${memoryCapBytes !== undefined ? `, RSS watchdog at ${formatMemoryQuantity(memoryCapBytes)}` : ''}`,
    memoryCapBytes,
    memoryMetric: 'RSS',

    async *samples(signal, intervalMs): AsyncIterable<TargetSample> {
      while (!signal.aborted && exit === undefined) {
        const sample = await sampleProcess(pid);
        if (sample && memoryCapBytes !== undefined && sample.rssBytes > memoryCapBytes && exit === undefined) {
          killedOverCap = true;
          child.kill('SIGKILL');
        }
        if (sample) yield { atMs: sample.atMs, workingSetBytes: sample.rssBytes, cpuCores: sample.cpuPercent / 100 };
        await clock.sleep(intervalMs, signal);
      }
    },

    async state(): Promise<TargetState> {
      const gone = exit !== undefined || child.exitCode !== null || child.signalCode !== null;
      return {
        running: !gone,
        // The watchdog stands in for the OOM killer; the kernel's own also ends with SIGKILL.
        oomKilled: killedOverCap || (exit?.signal === 'SIGKILL' && !stopping),
        exitCode: gone ? (exit?.code ?? child.exitCode ?? undefined) : undefined,
        restartCount: 0,
      };
    },

    async logs(tail = 100) {
      return lines.slice(-tail).join('\n');
    },

    async stop() {
      if (exit !== undefined) return;
      stopping = true;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
