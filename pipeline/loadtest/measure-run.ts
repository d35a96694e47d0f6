import type { LoadResult, LoadSecond } from './drive-load.js';
import { driveLoad } from './drive-load.js';
import type { InstanceSample, InstanceState } from '../instance-runtime/server-instance.js';
import type { ServerTarget } from './server-target.js';

/** One sample in a run's timeline, relative to the start of the load. */
export interface RunSample {
  /** Seconds since the load started (negative: before it). */
  readonly atSeconds: number;
  readonly workingSetBytes: number;
  readonly cpuCores: number;
}

/** One load run against one server: the load's result, the memory/CPU timeline, the server's fate. */
export interface RunRecord {
  readonly target: string;
  readonly memoryCapBytes: number | undefined;
  readonly load: LoadResult;
  readonly samples: readonly RunSample[];
  /** The server's state after the load (and `afterLoad`), before it was stopped. */
  readonly state: InstanceState;
  readonly peakWorkingSetBytes: number;
}

export interface MeasureOptions {
  readonly bodies: readonly string[];
  readonly durationSeconds: number;
  readonly connections: number;
  readonly sampleIntervalMs?: number;
  /** Called once a second with the load's second and the latest memory sample. */
  readonly onProgress?: (second: LoadSecond, latest: InstanceSample | undefined) => void;
  /** Runs after the load while sampling goes on (the bad requests); the server's state is read after it. */
  readonly afterLoad?: () => Promise<void>;
}

/** Drives load at the target while sampling its memory and CPU the whole time. */
export async function measureRun(target: ServerTarget, options: MeasureOptions): Promise<RunRecord> {
  const samples: InstanceSample[] = [];
  const stopSampling = new AbortController();
  const sampling = (async () => {
    try {
      for await (const sample of target.samples(stopSampling.signal, options.sampleIntervalMs ?? 250)) samples.push(sample);
    } catch {
      // The server died mid-run: the state check reports it, the samples so far still count.
    }
  })();
  const loadStartedAt = Date.now();
  let load: LoadResult;
  try {
    load = await driveLoad({
      baseUrl: target.baseUrl,
      path: target.predictPath,
      bodies: options.bodies,
      durationSeconds: options.durationSeconds,
      connections: options.connections,
      onSecond: (second) => options.onProgress?.(second, samples[samples.length - 1]),
    });
    await options.afterLoad?.();
  } finally {
    // One more sample after the load, so a short run still has its end state.
    await new Promise((resolve) => setTimeout(resolve, Math.min(1000, options.sampleIntervalMs ?? 250)));
    stopSampling.abort();
    await sampling;
  }
  const state = await target.state();
  const timeline = samples.map((s) => ({
    atSeconds: Math.round((s.atMs - loadStartedAt) / 100) / 10,
    workingSetBytes: s.workingSetBytes,
    cpuCores: Math.round(s.cpuCores * 1000) / 1000,
  }));
  return {
    target: target.description,
    memoryCapBytes: target.memoryCapBytes,
    load,
    samples: timeline,
    state,
    peakWorkingSetBytes: timeline.reduce((max, s) => Math.max(max, s.workingSetBytes), 0),
  };
}
