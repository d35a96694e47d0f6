import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';

/**
 * CPU time and memory of another process, read from /proc (Linux). CPU time is the figure the serving
 * bench compares: on two shared cores requests per second swing ±20% from run to run, while the CPU a
 * server spends on a fixed number of requests barely moves.
 * Fields: https://man7.org/linux/man-pages/man5/proc_pid_stat.5.html
 */

/** Clock ticks per second, the unit of utime and stime (100 on practically every Linux). */
const CLOCK_TICKS = (() => {
  const out = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  const ticks = Number(out.stdout?.trim());
  return Number.isInteger(ticks) && ticks > 0 ? ticks : 100;
})();

/** User and system (kernel: socket reads and writes, wake-ups) CPU time of every thread of `pid` so far, in microseconds (resolution 1/CLK_TCK s). */
export async function cpuTimes(pid: number): Promise<{ readonly userUs: number; readonly systemUs: number }> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) is in parentheses and may hold spaces: count fields after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of the line, so 11 and 12 after the name and state.
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error(`cannot read utime/stime from /proc/${pid}/stat: ${stat.slice(0, 200)}`);
  return { userUs: (utime * 1e6) / CLOCK_TICKS, systemUs: (stime * 1e6) / CLOCK_TICKS };
}

/** user + system CPU time of every thread of `pid` so far, in microseconds. */
export async function cpuMicros(pid: number): Promise<number> {
  const { userUs, systemUs } = await cpuTimes(pid);
  return userUs + systemUs;
}

/** Resident set size of `pid` now, in bytes (VmRSS of /proc/PID/status). */
export async function rssBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kib = /^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1];
  if (kib === undefined) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(kib) * 1024;
}

export const CPU_TIME_RESOLUTION_US = 1e6 / CLOCK_TICKS;
