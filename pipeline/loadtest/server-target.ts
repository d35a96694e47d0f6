/**
 * A model server under test, however it runs (a Docker container or a local process): where
 * to send requests, how to sample its memory and CPU, and what became of it.
 */

/** One memory/CPU reading of the server. */
export interface TargetSample {
  /** Milliseconds since the epoch. */
  readonly atMs: number;
  /** Container: usage − inactive_file (what Kubernetes enforces). Process: RSS. */
  readonly workingSetBytes: number;
  /** 1.0 = one full core. */
  readonly cpuCores: number;
}

export interface TargetState {
  readonly running: boolean;
  readonly oomKilled: boolean;
  /** Undefined while running. */
  readonly exitCode: number | undefined;
  readonly restartCount: number;
}

export interface ServerTarget {
  /** `http://127.0.0.1:<port>` */
  readonly baseUrl: string;
  readonly predictPath: string;
  readonly readyPath: string;
  readonly kind: 'container' | 'process';
  /** Human description for the console and the report, e.g. `container 1a2b3c (image ..., memory cap 160Mi)`. */
  readonly description: string;
  /** The memory cap in bytes: a cgroup cap for containers, an RSS watchdog for processes. */
  readonly memoryCapBytes: number | undefined;
  /** What the memory figure means, for the report. */
  readonly memoryMetric: 'working set (usage - inactive_file)' | 'RSS';
  /** Samples about every `intervalMs` until `signal` aborts or the server is gone. */
  samples(signal: AbortSignal, intervalMs: number): AsyncIterable<TargetSample>;
  state(): Promise<TargetState>;
  /** The last lines of the server's output, for failure messages. */
  logs(tail?: number): Promise<string>;
  /** Stops and removes the server; safe to call twice. */
  stop(): Promise<void>;
}

/** How to start a server for one run (the first measurement, then the capped limit proof). */
export interface TargetLauncher {
  readonly mode: 'docker' | 'process';
  /** The image the manifests will name. */
  readonly image: string;
  /** `memoryCapBytes` caps the container (cgroup), or arms the process's RSS watchdog. */
  start(run: { readonly label: string; readonly memoryCapBytes?: number }): Promise<ServerTarget>;
}
