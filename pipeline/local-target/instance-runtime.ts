/**
 * Starting, watching and stopping the local target's instances: a container (through the
 * Docker seam, host networking, memory cap) or a detached process running the modelfleet CLI.
 * Both outlive the command that started them; their ids go into the local state.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { findPackageRoot } from '../../lib/package-root.js';
import type { DockerSeam } from '../seams/docker.js';
import type { LocalInstance } from './local-state.js';

export const LOCAL_LABEL = 'modelfleet.local';

export interface RunningInstance {
  readonly instance: LocalInstance;
  /** Why it stopped, or undefined while it runs. */
  exitReason(): Promise<string | undefined>;
  /** The last lines it printed. */
  logs(lines: number): Promise<string>;
}

export interface ContainerSpec {
  readonly name: string;
  readonly image: string;
  readonly port: number;
  readonly env: Readonly<Record<string, string>>;
  readonly memoryLimitBytes?: number;
  readonly label: string;
}

export async function startContainer(docker: DockerSeam, spec: ContainerSpec): Promise<RunningInstance> {
  const handle = await docker.runContainer({
    image: spec.image,
    name: spec.name,
    env: { ...spec.env, HOST: '127.0.0.1', PORT: String(spec.port), ORT_DISABLE_TELEMETRY: '1' },
    labels: { [LOCAL_LABEL]: spec.label },
    ...(spec.memoryLimitBytes ? { memoryBytes: spec.memoryLimitBytes } : {}),
    readOnlyRootFs: true,
    tmpfs: { '/tmp': 'rw,size=64m' },
  });
  const instance: LocalInstance = { runtime: 'docker', port: spec.port, containerId: handle.id, containerName: spec.name, startedAt: new Date().toISOString() };
  return {
    instance,
    async exitReason() {
      const state = await handle.inspect().catch(() => undefined);
      if (!state) return 'the container is gone';
      if (state.running) return undefined;
      if (state.oomKilled) return `killed by the out-of-memory killer (memory cap ${formatMiB(spec.memoryLimitBytes)})`;
      return `the container exited with code ${state.exitCode}`;
    },
    logs: (lines) => handle.logs(lines).catch(() => ''),
  };
}

export interface ProcessSpec {
  /** Arguments after `node bin/modelfleet.js`. */
  readonly args: readonly string[];
  readonly port: number;
  readonly env: Readonly<Record<string, string>>;
  readonly logFile: string;
}

/** Starts `node bin/modelfleet.js ARGS` detached (own session), output to logFile. */
export async function startProcess(spec: ProcessSpec): Promise<RunningInstance> {
  await mkdir(dirname(spec.logFile), { recursive: true });
  const out = openSync(spec.logFile, 'a');
  const bin = join(findPackageRoot(), 'bin', 'modelfleet.js');
  const child = spawn(process.execPath, [bin, ...spec.args], {
    detached: true,
    stdio: ['ignore', out, out],
    env: { ...process.env, ...spec.env, HOST: '127.0.0.1', PORT: String(spec.port), ORT_DISABLE_TELEMETRY: '1' },
  });
  closeSync(out);
  let exit: string | undefined;
  child.once('exit', (code, signal) => {
    exit = signal ? `the process was stopped by ${signal}` : `the process exited with code ${code ?? '?'}`;
  });
  child.once('error', (err) => {
    exit = `the process did not start: ${err.message}`;
  });
  child.unref();
  const instance: LocalInstance = { runtime: 'process', port: spec.port, pid: child.pid ?? -1, logFile: spec.logFile, startedAt: new Date().toISOString() };
  return {
    instance,
    exitReason: () => Promise.resolve(exit ?? (isProcessAlive(instance.pid ?? -1) ? undefined : 'the process is gone')),
    logs: (lines) => tailFile(spec.logFile, lines),
  };
}

/** Whether a recorded instance still runs (a container that is up, a process that exists). */
export async function isInstanceAlive(instance: LocalInstance, docker: DockerSeam | undefined): Promise<boolean> {
  if (instance.runtime === 'process') return isModelfleetProcess(instance.pid, instance.port);
  if (!docker || !instance.containerId) return false;
  const state = await docker.container(instance.containerId).inspect().catch(() => undefined);
  return state?.running ?? false;
}

/**
 * Stops a recorded instance: SIGTERM (the servers drain in-flight requests), SIGKILL after the
 * grace period. Only processes whose command line is modelfleet's are signalled, so a reused
 * pid never hits a stranger.
 */
export async function stopInstance(instance: LocalInstance, docker: DockerSeam | undefined, graceSeconds = 10): Promise<void> {
  if (instance.runtime === 'docker') {
    if (!docker || !instance.containerId) return;
    const handle = docker.container(instance.containerId);
    await handle.stop(graceSeconds).catch(() => undefined);
    await handle.remove().catch(() => undefined);
    return;
  }
  const pid = instance.pid;
  if (!(await isModelfleetProcess(pid, instance.port))) return;
  try {
    process.kill(pid as number, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + graceSeconds * 1000;
  while (Date.now() < deadline) {
    if (!isProcessAlive(pid as number)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  try {
    process.kill(pid as number, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

export async function tailFile(file: string | undefined, lines: number): Promise<string> {
  if (!file) return '';
  const text = await readFile(file, 'utf8').catch(() => '');
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

function isProcessAlive(pid: number): boolean {
  if (pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Whether `pid` is still the instance we started: `node …/bin/modelfleet.js serve|gateway …
 * --port <port>`. A pid the system reused for anything else never matches.
 */
async function isModelfleetProcess(pid: number | undefined, port: number): Promise<boolean> {
  if (pid === undefined || !isProcessAlive(pid)) return false;
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => undefined);
  // Without /proc (macOS) the pid check alone has to do.
  if (cmdline === undefined) return true;
  // A zombie has an empty command line: it is gone for our purposes.
  const args = cmdline.split('\0');
  const bin = args.findIndex((arg) => arg.endsWith('bin/modelfleet.js'));
  if (bin === -1 || !['serve', 'gateway'].includes(args[bin + 1] ?? '')) return false;
  const portFlag = args.indexOf('--port');
  return portFlag !== -1 && args[portFlag + 1] === String(port);
}

function formatMiB(bytes: number | undefined): string {
  return bytes === undefined ? 'none' : `${Math.round(bytes / 1024 / 1024)} MiB`;
}
