/**
 * The process-sampling seam: memory and CPU of a local process, through pidusage. Only this
 * module imports pidusage, so the rest of the code (and its tests) can stand in for it.
 *
 * RSS is what a process holds in RAM; it is close to, but not the same as, the cgroup working
 * set Kubernetes enforces (page cache is not counted, shared pages are). Reports say so.
 */
import pidusage from 'pidusage';

export interface ProcessSample {
  /** Milliseconds since the epoch. */
  readonly atMs: number;
  readonly rssBytes: number;
  /** CPU since the previous sample, 100 = one full core. */
  readonly cpuPercent: number;
}

/** Undefined when the process is gone. */
export async function sampleProcess(pid: number): Promise<ProcessSample | undefined> {
  try {
    const stat = await pidusage(pid);
    return { atMs: stat.timestamp, rssBytes: stat.memory, cpuPercent: stat.cpu };
  } catch {
    return undefined;
  }
}

/** pidusage keeps per-pid history and a timer; drop both once sampling is over. */
export function stopSamplingProcesses(): void {
  pidusage.clear();
}
