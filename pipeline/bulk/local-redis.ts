import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, existsSync, openSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { UserError } from '../../lib/errors/user-error.js';
import { findFreePort } from '../../lib/free-port.js';

/** Where Debian's package puts the server; PATH is searched too. */
const REDIS_SERVER_CANDIDATES = ['/usr/bin/redis-server', '/usr/local/bin/redis-server'];

export interface LocalRedisOptions {
  /** Data folder: the append-only file and the log live here, so a restart finds the data again. */
  readonly dir: string;
  /** Port on 127.0.0.1; a free one when absent. */
  readonly port?: number;
  /**
   * `always`: every write is on disk before Redis answers, so even SIGKILL loses nothing
   * acknowledged. `everysec` (Redis' default): at most a second of writes is lost on a crash,
   * none on a clean stop.
   */
  readonly appendFsync?: 'always' | 'everysec';
  /**
   * Detached: the server outlives this process (the local target; `modelfleet down` stops it).
   * Otherwise it is a child that ends with us at the latest (tests, benchmarks).
   */
  readonly detached?: boolean;
  readonly readyTimeoutMs?: number;
}

/** The redis-server binary, or BULK_REDIS_MISSING when Redis 7 is not installed. */
export function findRedisServer(): string {
  const onPath = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' }).stdout.trim();
  const binary = [onPath, ...REDIS_SERVER_CANDIDATES].find((candidate) => candidate !== '' && existsSync(candidate));
  if (!binary) throw new UserError('BULK_REDIS_MISSING', 'redis-server is not installed on this machine', 'Run `bash scripts/setup-redis.sh` (as root); it installs Debian\'s redis-server 7.');
  const version = spawnSync(binary, ['--version'], { encoding: 'utf8' }).stdout;
  const major = Number(/v=(\d+)\./.exec(version)?.[1] ?? 0);
  if (major < 7) throw new UserError('BULK_REDIS_MISSING', `${binary} is ${version.trim() || 'of an unknown version'}; bulk predictions need Redis 7 or newer (consumer-group lag)`, 'Install Redis 7 (`bash scripts/setup-redis.sh` on Debian 12).');
  return binary;
}

/**
 * A real redis-server on 127.0.0.1 with data in a folder of its own: what the local target and the
 * tests use. Persistence is the append-only file, so a stopped and restarted server (same folder,
 * same port) has every stream, group, pending entry and result it had.
 */
export class LocalRedisServer {
  readonly dir: string;
  readonly port: number;
  readonly #options: LocalRedisOptions;
  #child: ChildProcess | undefined;
  #pid: number | undefined;

  private constructor(options: LocalRedisOptions, port: number) {
    this.#options = options;
    this.dir = options.dir;
    this.port = port;
  }

  static async start(options: LocalRedisOptions): Promise<LocalRedisServer> {
    const server = new LocalRedisServer(options, options.port ?? (await findFreePort()));
    await server.startAgain();
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.#pid;
  }

  get logFile(): string {
    return join(this.dir, 'redis.log');
  }

  /** Starts the server (again) on the same port and folder, and waits until it answers PING. */
  async startAgain(): Promise<void> {
    const binary = findRedisServer();
    await mkdir(this.dir, { recursive: true });
    const args = [
      '--bind', '127.0.0.1', '--port', String(this.port), '--protected-mode', 'yes',
      '--dir', this.dir, '--logfile', this.logFile, '--daemonize', 'no',
      '--appendonly', 'yes', '--appendfsync', this.#options.appendFsync ?? 'everysec',
      // The append-only file is the persistence; no RDB snapshots on top.
      '--save', '',
    ];
    const out = openSync(this.logFile, 'a');
    const child = spawn(binary, args, { stdio: ['ignore', out, out], detached: this.#options.detached === true });
    closeSync(out);
    if (this.#options.detached) child.unref();
    this.#child = child;
    this.#pid = child.pid;
    const failed = once(child, 'exit').then(([code]) => { throw new Error(`redis-server exited with code ${String(code)} at start; see ${this.logFile}`); });
    failed.catch(() => undefined);
    await Promise.race([waitForPing(this.url, this.#options.readyTimeoutMs ?? 15_000), failed]);
  }

  /** Clean stop (SIGTERM: Redis flushes the append-only file and exits). */
  async stop(): Promise<void> {
    await this.#signal('SIGTERM');
  }

  /** Crash: SIGKILL, no flush. */
  async kill(): Promise<void> {
    await this.#signal('SIGKILL');
  }

  async #signal(signal: NodeJS.Signals): Promise<void> {
    const child = this.#child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill(signal);
    await exited;
  }
}

/** Resolves once Redis at `url` answers PING; fails after `timeoutMs`. */
export async function waitForPing(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1_000 });
    probe.on('error', () => undefined);
    try {
      await probe.connect();
      if ((await probe.ping()) === 'PONG') return;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    } finally {
      probe.disconnect();
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`Redis at ${url} did not answer PING within ${timeoutMs} ms (${last})`);
}
