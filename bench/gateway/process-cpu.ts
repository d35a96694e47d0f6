import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';

/** Clock ticks per second, the unit of utime and stime in /proc/<pid>/stat (100 on practically every Linux). */
const CLOCK_TICKS = (() => {
  const ticks = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout?.trim());
  return Number.isInteger(ticks) && ticks > 0 ? ticks : 100;
})();

/**
 * User + system CPU time of every thread of `pid` so far, in microseconds, from /proc/<pid>/stat
 * (fields 14 and 15: https://man7.org/linux/man-pages/man5/proc_pid_stat.5.html). On two shared
 * cores req/s swing from run to run; the CPU time a proxy spends per request moves far less.
 */
export async function cpuMicros(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) is in parentheses and may hold spaces: count from the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error(`cannot read utime/stime from /proc/${pid}/stat`);
  return ((utime + stime) * 1e6) / CLOCK_TICKS;
}
