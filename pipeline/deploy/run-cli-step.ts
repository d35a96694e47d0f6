import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { findPackageRoot } from '../../lib/package-root.js';

export interface CliStepResult {
  readonly code: number;
  /** The last lines the step printed (stdout and stderr), for messages. */
  readonly tail: string;
}

/**
 * Runs another modelfleet command (`generate`, `build`, `loadtest`) as its own process, the
 * way its CI job would, passing its output through line by line with a prefix. Used to
 * recreate a step's output when the job that made it is gone (expired artifacts).
 */
export function runCliStep(args: readonly string[], options: { prefix?: string; env?: NodeJS.ProcessEnv; print?: (line: string) => void } = {}): Promise<CliStepResult> {
  const print = options.print ?? ((line: string) => console.log(line));
  const bin = join(findPackageRoot(), 'bin', 'modelfleet.js');
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...options.env } });
    const tail: string[] = [];
    let pending = '';
    const onData = (chunk: Buffer): void => {
      pending += chunk.toString('utf8');
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        print(`${options.prefix ?? ''}${line}`);
        tail.push(line);
        if (tail.length > 30) tail.shift();
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('error', (err) => resolve({ code: 127, tail: err.message }));
    child.once('close', (code) => {
      if (pending !== '') {
        print(`${options.prefix ?? ''}${pending}`);
        tail.push(pending);
      }
      resolve({ code: code ?? 1, tail: tail.join('\n') });
    });
  });
}
