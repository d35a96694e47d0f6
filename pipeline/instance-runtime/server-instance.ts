/**
 * A model server (or the gateway) that modelfleet started, however it runs: a Docker container
 * or a plain process. The load test starts one per run and stops it; the local target starts
 * one per deploy, records it in its state file, and finds it again from that record later.
 */

/** One memory/CPU reading of the instance. */
export interface InstanceSample {
  /** Milliseconds since the epoch. */
  readonly atMs: number;
  /** Container: usage − inactive_file (what Kubernetes enforces). Process: RSS. */
  readonly workingSetBytes: number;
  /** 1.0 = one full core. */
  readonly cpuCores: number;
}

/** What became of the instance. The load-test report carries it as is. */
export interface InstanceState {
  readonly running: boolean;
  readonly oomKilled: boolean;
  /** Undefined while it runs, and when it is gone without a known exit code. */
  readonly exitCode: number | undefined;
  readonly restartCount: number;
  /** The signal that ended a process, when one did. */
  readonly signal?: string;
}

/** Enough to find a running instance again from another command (the local target's state file). */
export interface InstanceRecord {
  readonly runtime: 'docker' | 'process';
  /** Where to connect; 127.0.0.1 when absent (records written before this field existed). */
  readonly host?: string;
  readonly port: number;
  /** Docker: the container's id and name. */
  readonly containerId?: string;
  readonly containerName?: string;
  /** Process: its pid, and its log file when it outlives the command that started it. */
  readonly pid?: number;
  readonly logFile?: string;
  readonly startedAt: string;
}

export type MemoryMetric = 'working set (usage - inactive_file)' | 'RSS';

export interface ServerInstance {
  readonly record: InstanceRecord;
  /** `http://<host>:<port>`: 127.0.0.1, or the Docker engine's host under Docker-in-Docker. */
  readonly baseUrl: string;
  /** Answers 2xx once the server is ready. */
  readonly readyPath: string;
  /** For the console and the report, e.g. `container 1a2b3c4d5e6f (image ..., memory cap 160Mi)`. */
  readonly description: string;
  /** A cgroup cap for containers, an RSS watchdog for processes. */
  readonly memoryCapBytes: number | undefined;
  readonly memoryMetric: MemoryMetric;
  /** Samples about every `intervalMs` (containers: once a second) until `signal` aborts or the instance is gone. */
  samples(signal: AbortSignal, intervalMs: number): AsyncIterable<InstanceSample>;
  state(): Promise<InstanceState>;
  /** The last lines the instance printed, for failure messages. */
  logs(tail?: number): Promise<string>;
  /** SIGTERM (servers drain in-flight requests), SIGKILL after `graceSeconds`; a container is also removed. Safe to call twice. */
  stop(graceSeconds?: number): Promise<void>;
}

export const DEFAULT_READY_PATH = '/readyz';
export const DEFAULT_STOP_GRACE_SECONDS = 10;

export function instanceUrl(record: Pick<InstanceRecord, 'host' | 'port'>): string {
  return `http://${record.host ?? '127.0.0.1'}:${record.port}`;
}

/** The fields a container and a process instance derive alike from the record and what was asked. */
export function commonInstanceFields(
  record: InstanceRecord,
  details: { readonly memoryCapBytes?: number | undefined; readonly readyPath?: string | undefined },
): Pick<ServerInstance, 'record' | 'baseUrl' | 'readyPath' | 'memoryCapBytes'> {
  return { record, baseUrl: instanceUrl(record), readyPath: details.readyPath ?? DEFAULT_READY_PATH, memoryCapBytes: details.memoryCapBytes };
}

/** How an instance that no longer runs ended, as a verb phrase: "exited with code 1". */
export function describeEnd(state: InstanceState, memoryCapBytes?: number): string {
  if (state.oomKilled) {
    const cap = memoryCapBytes !== undefined ? ` (memory cap ${Math.round(memoryCapBytes / 1024 / 1024)} MiB)` : '';
    return `was killed by the out-of-memory killer${cap}`;
  }
  if (state.signal !== undefined) return `was stopped by ${state.signal}`;
  if (state.exitCode !== undefined) return `exited with code ${state.exitCode}`;
  return 'is gone';
}
