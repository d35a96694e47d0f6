/**
 * Bulk predictions end to end on this machine: a CSV of 7,000,000 rows (the five double columns of
 * the example logistic regression) is submitted with `modelfleet bulk submit --results`, scored by
 * `modelfleet worker` processes through a real redis-server, and written back as a results file.
 * Measured from the submit command's start to its exit (results file written).
 *
 *   node --import tsx bench/bulk/run.ts [--rows 7000000] [--workers 2] [--chunk-rows 500] [--rounds 1]
 *
 * Prints rows/s, Redis peak memory (used_memory_peak and the server's peak RSS), and CPU time per
 * 1,000 rows of the workers, the submitter and Redis (from /proc/<pid>/stat: on two shared cores the
 * rate swings, CPU time much less). Everything runs on 127.0.0.1 and stops by itself.
 */
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { findFreePort } from '../../lib/free-port.js';
import { createRandom } from '../../lib/seeded-random.js';
import { LocalRedisServer } from '../../pipeline/bulk/local-redis.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MODEL = 'match-7-moto-baseline';
const COLUMNS = ['route_decision_score', 'farevalueinminor', 'offer_throughput_rate', 'eventtime', 'backtoback'];
const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

const { values: flags } = parseArgs({
  options: {
    rows: { type: 'string', default: '7000000' },
    workers: { type: 'string', default: '2' },
    'chunk-rows': { type: 'string', default: '500' },
    rounds: { type: 'string', default: '1' },
  },
});
const ROWS = Number(flags.rows);
const WORKERS = Number(flags.workers);
const CHUNK_ROWS = Number(flags['chunk-rows']);
const ROUNDS = Number(flags.rounds);

/** user + system CPU seconds of a process so far. */
async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

async function peakRssBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmHWM:\s+(\d+) kB$/m.exec(status)?.[1] ?? 0) * 1024;
}

async function writeInput(file: string, rows: number): Promise<void> {
  const random = createRandom(42);
  const out = createWriteStream(file);
  out.write(`${COLUMNS.join(',')}\n`);
  const BLOCK = 50_000;
  for (let start = 0; start < rows; start += BLOCK) {
    let text = '';
    for (let i = start; i < Math.min(rows, start + BLOCK); i++) {
      text += `${random.float(0, 1).toFixed(6)},${random.int(100, 5000)},${random.float(0, 1).toFixed(4)},${1_767_225_600 + i},${random.int(0, 1)}\n`;
    }
    if (!out.write(text)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

/** Lines of the results file and how many hold an error (the third column not empty). */
async function countResults(file: string): Promise<{ rows: number; errors: number }> {
  let rows = -1;
  let errors = 0;
  let carry = '';
  for await (const block of createReadStream(file, { encoding: 'utf8', highWaterMark: 1 << 20 })) {
    const lines = (carry + (block as string)).split('\n');
    carry = lines.pop() ?? '';
    for (const line of lines) {
      rows++;
      if (!line.endsWith(',')) errors++;
    }
  }
  return { rows, errors: errors - 1 };
}

interface Round {
  readonly seconds: number;
  readonly rowsPerSecond: number;
  readonly redisPeakBytes: number;
  readonly redisPeakRssBytes: number;
  readonly workerCpuPer1000: number;
  readonly submitCpuPer1000: number;
  readonly redisCpuPer1000: number;
}

async function round(dir: string, input: string, index: number): Promise<Round> {
  const redis = await LocalRedisServer.start({ dir: join(dir, `redis-${index}`) });
  const workers: Array<{ pid: number; child: ReturnType<typeof spawn> }> = [];
  try {
    for (let i = 0; i < WORKERS; i++) {
      const port = await findFreePort();
      const child = spawn(process.execPath, [join(ROOT, 'bin', 'modelfleet.js'), 'worker', '--model-dir', join(dir, 'examples', 'models', 'match-logreg-v1'), '--redis', redis.url, '--port', String(port)], {
        env: { ...process.env, MODEL_NAME: MODEL, ORT_DISABLE_TELEMETRY: '1', LOG_LEVEL: 'warn' }, stdio: 'ignore',
      });
      workers.push({ pid: child.pid ?? -1, child });
      for (let t = 0; t < 300; t++) {
        if (await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.ok, () => false)) break;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    const workerCpu0 = await Promise.all(workers.map((w) => cpuSeconds(w.pid)));
    const redisCpu0 = await cpuSeconds(redis.pid ?? -1);
    const results = join(dir, `results-${index}.csv`);
    const started = performance.now();
    const submit = spawn(process.execPath, [join(ROOT, 'bin', 'modelfleet.js'), 'bulk', 'submit', '--model', MODEL, '--input', input, '--file', join(dir, 'models.yaml'), '--redis', redis.url, '--results', results], { stdio: ['ignore', 'pipe', 'ignore'] });
    let submitOut = '';
    submit.stdout.on('data', (d: Buffer) => { submitOut += d.toString(); });
    let submitCpu = 0;
    const sampler = setInterval(() => { void cpuSeconds(submit.pid ?? -1).then((s) => { submitCpu = s; }, () => undefined); }, 100);
    const [code] = (await once(submit, 'exit')) as [number | null];
    clearInterval(sampler);
    const seconds = (performance.now() - started) / 1000;
    if (code !== 0) throw new Error(`bulk submit exited with ${code}: ${submitOut}`);
    const workerCpu = (await Promise.all(workers.map((w) => cpuSeconds(w.pid)))).reduce((s, v, i) => s + v - (workerCpu0[i] ?? 0), 0);
    const redisCpu = (await cpuSeconds(redis.pid ?? -1)) - redisCpu0;
    const client = new Redis(redis.url);
    const info = await client.info('memory');
    client.disconnect();
    const redisPeakBytes = Number(/used_memory_peak:(\d+)/.exec(info)?.[1] ?? 0);
    const redisPeakRssBytes = await peakRssBytes(redis.pid ?? -1);
    const counted = await countResults(results);
    if (counted.rows !== ROWS || counted.errors !== 0) throw new Error(`the results file has ${counted.rows} rows (${counted.errors} errors); expected ${ROWS} answered rows`);
    await rm(results, { force: true });
    return {
      seconds,
      rowsPerSecond: ROWS / seconds,
      redisPeakBytes,
      redisPeakRssBytes,
      workerCpuPer1000: (workerCpu * 1000) / ROWS,
      submitCpuPer1000: (submitCpu * 1000) / ROWS,
      redisCpuPer1000: (redisCpu * 1000) / ROWS,
    };
  } finally {
    for (const w of workers) w.child.kill('SIGTERM');
    await Promise.all(workers.map((w) => (w.child.exitCode === null ? once(w.child, 'exit') : undefined)));
    await redis.stop();
  }
}

const ms = (seconds: number) => `${(seconds * 1000).toFixed(2)} ms`;
const mib = (bytes: number) => `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;

const dir = await mkdtemp(join(tmpdir(), 'modelfleet-bench-bulk-'));
try {
  await cp(join(ROOT, 'examples', 'models', 'match-logreg-v1'), join(dir, 'examples', 'models', 'match-logreg-v1'), { recursive: true });
  await writeFile(join(dir, 'models.yaml'), `models:\n  - name: ${MODEL}\n    endpoint: probability\n    path: examples/models/match-logreg-v1\n    bulk: { chunkRows: ${CHUNK_ROWS}, maxWorkers: ${WORKERS} }\n`);
  const input = join(dir, 'input.csv');
  const t0 = performance.now();
  await writeInput(input, ROWS);
  console.log(`input: ${ROWS.toLocaleString('en-US')} rows of 5 doubles (${((performance.now() - t0) / 1000).toFixed(1)} s to write); ${WORKERS} worker(s), chunks of ${CHUNK_ROWS} rows, ${ROUNDS} round(s)`);
  const rounds: Round[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const r = await round(dir, input, i);
    rounds.push(r);
    console.log(`round ${i + 1}: ${r.seconds.toFixed(1)} s, ${Math.round(r.rowsPerSecond).toLocaleString('en-US')} rows/s, Redis peak ${mib(r.redisPeakBytes)} (RSS ${mib(r.redisPeakRssBytes)}), CPU per 1,000 rows: workers ${ms(r.workerCpuPer1000)}, submitter ${ms(r.submitCpuPer1000)}, Redis ${ms(r.redisCpuPer1000)}`);
  }
  const best = rounds.reduce((a, b) => (b.rowsPerSecond > a.rowsPerSecond ? b : a));
  console.log('');
  console.log(`best of ${ROUNDS}: ${ROWS.toLocaleString('en-US')} rows submit → results file in ${best.seconds.toFixed(1)} s = ${Math.round(best.rowsPerSecond).toLocaleString('en-US')} rows/s (goal ≥ 60,000)`);
  console.log(`Redis peak memory: ${mib(best.redisPeakBytes)} used_memory_peak, ${mib(best.redisPeakRssBytes)} peak RSS`);
  console.log(`worker CPU per 1,000 rows: ${ms(best.workerCpuPer1000)} (all ${WORKERS} workers); submitter ${ms(best.submitCpuPer1000)}; Redis ${ms(best.redisCpuPer1000)}`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
