import type { JobRecord } from '../../serving/worker/bulk-protocol.js';
import { formatSeconds, jobProgress } from './job-status.js';

const BAR_WIDTH = 30;

/** One line of progress: bar, rows answered of total, rate and ETA. Pure. */
export function progressLine(job: JobRecord, queuedRows: number, waitingForRoom: boolean, now: number): string {
  const p = jobProgress(job, now);
  const total = Math.max(p.total, queuedRows);
  const fraction = total > 0 ? Math.min(1, p.done / total) : 0;
  const filled = Math.round(fraction * BAR_WIDTH);
  const bar = `${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}`;
  const rate = p.rowsPerSecond === undefined ? '' : `  ${Math.round(p.rowsPerSecond).toLocaleString('en-US')} rows/s`;
  const eta = p.etaSeconds === undefined ? '' : `  ETA ${formatSeconds(p.etaSeconds)}`;
  const queuing = job.state === 'queuing' ? `  queuing${waitingForRoom ? ' (waiting for room: bulk.maxQueuedChunks)' : ''}` : '';
  return `[${bar}] ${(fraction * 100).toFixed(1).padStart(5)}%  ${p.done.toLocaleString('en-US')}/${total.toLocaleString('en-US')}${p.totalKnown ? '' : '+'} rows${rate}${eta}${queuing}`;
}

/**
 * Shows progress on a terminal by rewriting one line; elsewhere (CI logs, pipes) prints a line at
 * most every `everyMs`, so a log stays readable.
 */
export function createProgressPrinter(stream: NodeJS.WriteStream, everyMs = 5_000): { update(line: string): void; done(): void } {
  let last = 0;
  let shown = false;
  return {
    update(line) {
      if (stream.isTTY) {
        stream.write(`\r${line.slice(0, Math.max(20, (stream.columns ?? 120) - 1)).padEnd(Math.min(line.length, (stream.columns ?? 120) - 1))}`);
        shown = true;
        return;
      }
      const now = Date.now();
      if (now - last < everyMs) return;
      last = now;
      stream.write(`${line}\n`);
    },
    done() {
      if (shown) stream.write('\n');
      shown = false;
    },
  };
}
