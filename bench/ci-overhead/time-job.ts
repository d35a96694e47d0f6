/**
 * Runs one job of a pipeline with gitlab-ci-local and stamps every output line as it arrives,
 * so the job's own phases can be timed from outside: the `<job> starting` line, the echo of
 * the command that runs modelfleet (`<job> $ npx …`), and modelfleet's first line of output.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { gitlabCiLocal, node22, readJobResults } from '../../test/e2e/gitlab-ci-local.js';

export interface TimeJobOptions {
  readonly cwd: string;
  readonly job: string;
  /** gitlab-ci-local flags besides the job name (executor, isolation, network). */
  readonly flags: readonly string[];
  /** The script line that runs modelfleet, as the job echoes it after `$ `. */
  readonly command: string;
  /** What modelfleet prints first, e.g. /models\.yaml is valid/. */
  readonly firstOutput: RegExp;
  readonly env?: NodeJS.ProcessEnv;
  readonly timeoutMs: number;
}

export interface JobTiming {
  /** Job start → the modelfleet command's echo: checkout copy, install, anything before the CLI. */
  readonly beforeCommandMs: number;
  /** The command's echo → modelfleet's first line: starting the CLI (npx, or a container). */
  readonly commandToOutputMs: number;
  /** Job start → modelfleet's first line: the per-job overhead. */
  readonly totalMs: number;
}

interface StampedLine {
  readonly at: number;
  readonly text: string;
}

export async function timeJob(options: TimeJobOptions): Promise<JobTiming> {
  const { lines, code } = await runStamped(options);
  const output = lines.map((l) => l.text).join('\n');
  const tail = () => lines.slice(-40).map((l) => l.text).join('\n');
  const job = escapeRegExp(options.job);
  const start = lines.find((l) => new RegExp(`^\\s*${job}\\s+starting\\b`).test(l.text));
  const echo = lines.find((l) => new RegExp(`^\\s*${job}\\s+\\$ `).test(l.text) && l.text.includes(`$ ${options.command}`));
  const first = lines.find((l) => new RegExp(`^\\s*${job}\\s+> `).test(l.text) && options.firstOutput.test(l.text));
  const result = readJobResults(output).get(options.job);
  if (!start || !echo || !first || !result?.passed) {
    throw new Error(`job ${options.job} (gitlab-ci-local exit ${code}): ${[
      !start && 'no "starting" line',
      !echo && `no echo of "$ ${options.command}"`,
      !first && `no output line matching ${options.firstOutput}`,
      !result?.passed && (result ? `the job failed (exit ${result.exitCode ?? '?'})` : 'no "finished" line'),
    ].filter(Boolean).join('; ')}; output's end:\n${tail()}`);
  }
  return { beforeCommandMs: echo.at - start.at, commandToOutputMs: first.at - echo.at, totalMs: first.at - start.at };
}

function runStamped(options: TimeJobOptions): Promise<{ lines: StampedLine[]; code: number }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(node22, [gitlabCiLocal, ...options.flags, options.job], {
      cwd: options.cwd,
      env: { ...process.env, ...options.env, FORCE_COLOR: '0', NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines: StampedLine[] = [];
    // Stamped on arrival: gitlab-ci-local writes each job line as its shell prints it.
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream, crlfDelay: Infinity }).on('line', (text) => lines.push({ at: performance.now(), text }));
    }
    const timer = setTimeout(() => {
      child.kill('SIGTERM');
      reject(new Error(`job ${options.job} did not finish within ${options.timeoutMs / 1000} s; output's end:\n${lines.slice(-40).map((l) => l.text).join('\n')}`));
    }, options.timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ lines, code: code ?? 1 });
    });
  });
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
