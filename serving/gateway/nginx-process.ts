import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';

/** Where Debian's nginx package puts the binary (scripts/setup-nginx.sh installs it). */
const CANDIDATES = ['/usr/sbin/nginx', '/usr/bin/nginx', '/usr/local/sbin/nginx', '/usr/local/nginx/sbin/nginx'];

export interface NginxProcess {
  /** The prefix folder: nginx.conf, nginx.pid, error.log and the temp folders. */
  readonly dir: string;
  readonly pid: number;
  /** The master and its workers (for CPU accounting). */
  pids(): Promise<number[]>;
  /** What nginx wrote to its error log so far. */
  errorLog(): Promise<string>;
  /** Graceful stop (SIGQUIT), then SIGKILL after `graceMs`; removes the folder when it made it. */
  stop(graceMs?: number): Promise<void>;
}

export interface StartNginxOptions {
  /** Prefix folder; a new temp folder (removed by stop()) when omitted. */
  readonly dir?: string;
  /** An http:// URL that answers once nginx listens (e.g. its /healthz). */
  readonly readyUrl: string;
  readonly timeoutMs?: number;
  readonly binary?: string;
}

/** The nginx binary, or undefined when none is installed. */
export function findNginx(): string | undefined {
  return CANDIDATES.find((path) => existsSync(path));
}

/**
 * Runs nginx in the foreground with `config`, as the current user, from its own folder:
 * `nginx -p DIR -c DIR/nginx.conf -e stderr -g 'daemon off;'`, so its pid file, logs and temp files
 * stay in DIR (the config's relative paths) and it stops with this process's handle. As root, the
 * workers are kept on the current user too (nginx would switch them to `nobody`).
 */
export async function startNginx(config: string, options: StartNginxOptions): Promise<NginxProcess> {
  const binary = options.binary ?? findNginx();
  if (binary === undefined) throw new Error(`nginx is not installed (looked in ${CANDIDATES.join(', ')}): run \`bash scripts/setup-nginx.sh\` (as root)`);
  const ownDir = options.dir === undefined;
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'modelfleet-nginx-')));
  await mkdir(dir, { recursive: true });
  const configFile = join(dir, 'nginx.conf');
  await writeFile(configFile, config);
  const user = process.getuid?.() === 0 ? ` user ${userInfo().username};` : '';
  const child = spawn(binary, ['-p', `${dir}/`, '-c', configFile, '-e', 'stderr', '-g', `daemon off;${user}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-8_000);
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const errorLog = async (): Promise<string> => `${stderr}${await readFile(join(dir, 'error.log'), 'utf8').catch(() => '')}`;
  const stop = async (graceMs = 5_000): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGQUIT');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    }
    if (ownDir) await rm(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + (options.timeoutMs ?? 10_000);
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      const log = await errorLog();
      await stop();
      throw new Error(`nginx exited at start (${child.exitCode ?? child.signalCode}): ${log.trim()}`);
    }
    if (await answers(options.readyUrl)) break;
    if (Date.now() > deadline) {
      const log = await errorLog();
      await stop();
      throw new Error(`nginx did not answer ${options.readyUrl} within ${options.timeoutMs ?? 10_000} ms: ${log.trim()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { dir, pid: child.pid as number, pids: () => familyOf(child), errorLog, stop };
}

async function answers(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(1_000) });
    await res.arrayBuffer();
    return true;
  } catch {
    return false;
  }
}

/** The master's pid and those of its children (the workers), from /proc. */
async function familyOf(child: ChildProcess): Promise<number[]> {
  const master = child.pid as number;
  const pids = [master];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[1]) === master) pids.push(Number(entry));
  }
  return pids;
}
