import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, existsSync, openSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { findPackageRoot } from '../../lib/package-root.js';
import { systemClock, type Clock } from '../seams/clock.js';
import { sampleProcess } from '../seams/process-sampler.js';
import { formatMemoryQuantity } from '../sizing/sizing-policy.js';
import { commonInstanceFields, DEFAULT_STOP_GRACE_SECONDS, type InstanceRecord, type InstanceSample, type InstanceState, type ServerInstance } from './server-instance.js';

/** Lines of output kept in memory for a process without a log file. */
const LOG_LINES_KEPT = 200;
/** How often `stop()` looks whether the process is gone. */
const STOP_POLL_MS = 100;

export interface ProcessInstanceSpec {
  /** Arguments to `node` (this Node.js binary); `modelfleetArgs(...)` for the modelfleet CLI. */
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  /** The port the process serves on, at 127.0.0.1 (it gets HOST and PORT). */
  readonly port: number;
  /**
   * A process cannot be put under a cgroup cap from here, so the cap is kept by a watchdog while
   * `samples()` runs: above it the process gets SIGKILL, like the OOM killer. It samples every
   * few hundred milliseconds, so a short spike can slip past.
   */
  readonly memoryCapBytes?: number;
  readonly readyPath?: string;
  /**
   * With a log file the process is detached (its own session) and outlives this command, output
   * appended to the file: the local target. Without one its output is kept in memory: the load test.
   */
  readonly logFile?: string;
  readonly clock?: Clock;
}

/** `node` arguments that run the modelfleet CLI of this checkout: `bin/modelfleet.js ARGS`. */
export function modelfleetArgs(...args: readonly string[]): string[] {
  return [join(findPackageRoot(), 'bin', 'modelfleet.js'), ...args];
}

export async function startProcessInstance(spec: ProcessInstanceSpec): Promise<ServerInstance> {
  const env = { ...process.env, ...spec.env, HOST: '127.0.0.1', PORT: String(spec.port), ORT_DISABLE_TELEMETRY: '1' };
  const lines: string[] = [];
  let child;
  if (spec.logFile !== undefined) {
    await mkdir(dirname(spec.logFile), { recursive: true });
    const out = openSync(spec.logFile, 'a');
    child = spawn(process.execPath, [...spec.args], { detached: true, stdio: ['ignore', out, out], env });
    closeSync(out);
    child.unref();
  } else {
    child = spawn(process.execPath, [...spec.args], { stdio: ['ignore', 'pipe', 'pipe'], env });
    const keep = (chunk: Buffer): void => {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line.trim() === '') continue;
        lines.push(line);
        if (lines.length > LOG_LINES_KEPT) lines.shift();
      }
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
  }
  let end: ProcessEnd | undefined;
  const exited = once(child, 'exit').then(([code, signal]) => {
    end = { code: (code as number | null) ?? undefined, signal: (signal as NodeJS.Signals | null) ?? undefined };
  });
  child.once('error', (err) => {
    // No 'exit' follows a failed spawn: record the end here.
    lines.push(`failed to start: ${err.message}`);
    end ??= { code: undefined, signal: undefined };
  });
  const record: InstanceRecord = {
    runtime: 'process',
    host: '127.0.0.1',
    port: spec.port,
    pid: child.pid ?? -1,
    ...(spec.logFile !== undefined ? { logFile: spec.logFile } : {}),
    startedAt: new Date().toISOString(),
  };
  const running = child;
  return processInstance(record, spec, {
    end: async () => end,
    // Our own child: its pid cannot belong to anyone else until it has been reaped.
    signal: async (signal) => {
      if (end === undefined) running.kill(signal);
    },
    waitForEnd: () => exited,
    logs: async (tail) => (spec.logFile !== undefined ? tailFile(spec.logFile, tail) : lines.slice(-tail).join('\n')),
  });
}

/**
 * A process started by an earlier command, from its record. Only a process whose command line is
 * still modelfleet's serving that port counts as it, so a reused pid never gets a signal.
 */
export function attachProcessInstance(record: InstanceRecord, details: { readonly memoryCapBytes?: number; readonly readyPath?: string } = {}): ServerInstance {
  const pid = record.pid ?? -1;
  const isOurs = () => isModelfleetProcess(pid, record.port);
  return processInstance(record, details, {
    end: async () => ((await isOurs()) ? undefined : { code: undefined, signal: undefined }),
    signal: async (signal) => {
      if (!(await isOurs())) return;
      try {
        process.kill(pid, signal);
      } catch {
        // Gone between the check and the signal.
      }
    },
    logs: (tail) => tailFile(record.logFile, tail),
  });
}

interface ProcessEnd {
  readonly code: number | undefined;
  readonly signal: NodeJS.Signals | undefined;
}

/** What differs between a child of ours and a process found again by pid. */
interface ProcessControl {
  /** Undefined while it runs. */
  end(): Promise<ProcessEnd | undefined>;
  signal(signal: NodeJS.Signals): Promise<void>;
  /** Resolves when it ended (a child of ours); without it `stop()` polls. */
  waitForEnd?(): Promise<void>;
  logs(tail: number): Promise<string>;
}

function processInstance(
  record: InstanceRecord,
  details: { readonly memoryCapBytes?: number | undefined; readonly readyPath?: string | undefined; readonly clock?: Clock | undefined },
  control: ProcessControl,
): ServerInstance {
  const pid = record.pid ?? -1;
  const clock = details.clock ?? systemClock;
  const cap = details.memoryCapBytes;
  let stopping = false;
  let killedOverCap = false;

  return {
    ...commonInstanceFields(record, details),
    description: `process ${pid} on 127.0.0.1:${record.port}${cap !== undefined ? `, RSS watchdog at ${formatMemoryQuantity(cap)}` : ''}`,
    memoryMetric: 'RSS',

    async *samples(signal, intervalMs): AsyncIterable<InstanceSample> {
      while (!signal.aborted && (await control.end()) === undefined) {
        const sample = await sampleProcess(pid);
        if (sample && cap !== undefined && sample.rssBytes > cap) {
          killedOverCap = true;
          await control.signal('SIGKILL');
        }
        if (sample) yield { atMs: sample.atMs, workingSetBytes: sample.rssBytes, cpuCores: sample.cpuPercent / 100 };
        await clock.sleep(intervalMs, signal);
      }
    },

    async state(): Promise<InstanceState> {
      const end = await control.end();
      if (end === undefined) return { running: true, oomKilled: false, exitCode: undefined, restartCount: 0 };
      return {
        running: false,
        // The watchdog stands in for the OOM killer; the kernel's own also ends with SIGKILL.
        oomKilled: killedOverCap || (end.signal === 'SIGKILL' && !stopping),
        exitCode: end.code,
        restartCount: 0,
        ...(end.signal !== undefined && !killedOverCap ? { signal: end.signal } : {}),
      };
    },

    logs: (tail = 100) => control.logs(tail),

    async stop(graceSeconds = DEFAULT_STOP_GRACE_SECONDS) {
      if ((await control.end()) !== undefined) return;
      stopping = true;
      await control.signal('SIGTERM');
      const deadline = clock.now() + graceSeconds * 1000;
      while ((await control.end()) === undefined && clock.now() < deadline) {
        if (control.waitForEnd) await Promise.race([control.waitForEnd(), clock.sleep(STOP_POLL_MS)]);
        else await clock.sleep(STOP_POLL_MS);
      }
      if ((await control.end()) === undefined) await control.signal('SIGKILL');
      await control.waitForEnd?.();
    },
  };
}

async function tailFile(file: string | undefined, lines: number): Promise<string> {
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
 * Whether `pid` is still the instance we started: `node …/bin/modelfleet.js serve|gateway|local-gateway …
 * --port <port>`. A pid the system reused for anything else never matches.
 */
/** The commands the local target runs as instances (bulk workers are the bulk supervisor's). */
const INSTANCE_COMMANDS: readonly string[] = ['serve', 'gateway', 'local-gateway'];

const HAS_PROC = existsSync('/proc/self/cmdline');

async function isModelfleetProcess(pid: number, port: number): Promise<boolean> {
  if (!isProcessAlive(pid)) return false;
  // Without /proc (macOS) the pid check alone has to do.
  if (!HAS_PROC) return true;
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => undefined);
  // Gone between the two checks (reaped right after the pid check): not running.
  if (cmdline === undefined) return false;
  // A zombie has an empty command line: it is gone for our purposes.
  const args = cmdline.split('\0');
  const bin = args.findIndex((arg) => arg.endsWith('bin/modelfleet.js'));
  if (bin === -1 || !INSTANCE_COMMANDS.includes(args[bin + 1] ?? '')) return false;
  const portFlag = args.indexOf('--port');
  return portFlag !== -1 && args[portFlag + 1] === String(port);
}
