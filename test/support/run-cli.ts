import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';

const launcher = join(resolve(import.meta.dirname, '..', '..'), 'bin', 'modelfleet.js');

/** The compiled CLI (as the pipeline runs it) to the end: its exit code and its stdout and stderr together. */
export function runModelfleet(args: readonly string[], options: { readonly cwd: string; readonly env: NodeJS.ProcessEnv }): Promise<{ code: number; output: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [launcher, ...args], { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('close', (code) => done({ code: code ?? 1, output }));
  });
}
