import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { findFreePort } from '../../lib/free-port.js';
import { compileForBench } from './compile-for-bench.js';
import { bodyFor } from './request-body.js';

/**
 * The same comparison as run.ts, counted in instructions instead of CPU time: each server runs under
 * valgrind's callgrind, is warmed up uninstrumented (so that V8 has compiled the hot paths), and then
 * counts the user-space instructions of a fixed number of requests. The count does not move with other
 * work on the machine (run.ts's CPU time moves ±10% on these two shared cores), so it settles whether
 * a change made the server cheaper. Kernel time (reads, writes) is not counted; it is the same for both.
 * Each count is printed twice: all instructions, and the steady ones, without V8's optimizing compiler and
 * garbage collector, which under valgrind lag behind and land in the counted window by chance.
 *
 *   npx tsx bench/serving/instructions.ts [--model match-logreg-v2] [--rows 100,1000] [--requests 3000,500] [--warmup 20000]
 *
 * Single-row requests are better compared by run.ts: there the model server's figure depends on how many
 * requests arrive together to be batched, and under valgrind's slowdown far more do than in real life.
 * Needs valgrind (Debian's `valgrind`). Under callgrind a server runs 10–50× slower: a full run takes
 * several minutes. 127.0.0.1 only; every load is bounded.
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const { values: args } = parseArgs({
  options: {
    model: { type: 'string', default: 'match-logreg-v2' },
    rows: { type: 'string', default: '100,1000' },
    requests: { type: 'string', default: '3000,500' },
    /** Requests before counting starts, per rows/request (JIT warm-up). */
    warmup: { type: 'string', default: '20000' },
    connections: { type: 'string', default: '8' },
  },
});

if (spawnSync('valgrind', ['--version'], { stdio: 'ignore' }).status !== 0) {
  throw new Error('valgrind is needed (apt-get install -y valgrind)');
}
const model = String(args.model);
const modelDir = join(ROOT, 'examples', 'models', model);
const rowCounts = String(args.rows).split(',').map(Number);
const requestCounts = String(args.requests).split(',').map(Number);
const compiled = compileForBench(ROOT, ['cli/entry.ts', 'bench/serving/reference-server.ts']);
const outDir = join(ROOT, 'build', 'bench', 'callgrind');
await rm(outDir, { recursive: true, force: true });
await mkdir(outDir, { recursive: true });

const servers = [
  { label: 'reference (node:http + ort)', argv: (port: number) => [compiled('bench/serving/reference-server.ts'), join(modelDir, 'model.onnx'), String(port)] },
  { label: 'modelfleet serve', argv: () => [compiled('cli/entry.ts'), 'serve', '--model-dir', modelDir] },
];

async function waitReady(child: ChildProcess, url: string): Promise<void> {
  const deadline = Date.now() + 600_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    if (await fetch(`${url}/readyz`).then((r) => r.ok, () => false)) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`server at ${url} not ready under valgrind in 10 minutes`);
}

/**
 * V8's optimizing compiler and garbage collector: real work, but under valgrind the compiler thread falls
 * far behind, so a counted window may or may not catch it; the steady figure leaves both out.
 */
const BURSTY = /v8::internal::compiler::|v8::internal::maglev::|Scaveng|Marking|Sweep|Heap::|heap::|Evacuat|MemoryChunk|IterateObjectCache|Compactor|Remembered|GCTracer/;

/** Instructions of the functions matching BURSTY in a callgrind output file (via callgrind_annotate). */
function burstyInstructions(file: string): number {
  const annotated = spawnSync('callgrind_annotate', ['--threshold=100', file], { encoding: 'utf8', maxBuffer: 256 * 2 ** 20 }).stdout;
  let total = 0;
  for (const line of annotated.split('\n')) {
    const match = /^\s*([\d,]+)\s+\([\s\d.]+%\)\s+(.*)$/.exec(line);
    if (match && !line.includes('PROGRAM TOTALS') && BURSTY.test(match[2] ?? '')) total += Number((match[1] ?? '0').replace(/,/g, ''));
  }
  return total;
}

interface Counted {
  /** All user-space instructions per request. */
  readonly all: number;
  /** The same without V8's compiler and garbage collector. */
  readonly steady: number;
}

/** Instructions per request of one server at one body size. */
async function count(server: (typeof servers)[number], rows: number, amount: number): Promise<Counted> {
  const port = await findFreePort();
  const file = join(outDir, `${server.label.split(' ')[0]}-${rows}.out`);
  const child = spawn('valgrind', ['--tool=callgrind', `--callgrind-out-file=${file}`, '--instr-atstart=no', process.execPath, ...server.argv(port)], {
    cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, ORT_DISABLE_TELEMETRY: '1', LOG_LEVEL: 'warn', PORT: String(port), SHUTDOWN_DELAY_MS: '0' },
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitReady(child, url);
    const body = await bodyFor(modelDir, rows);
    const fire = (n: number) => autocannon({
      url: `${url}/invocations`, method: 'POST', connections: Number(args.connections), amount: n, timeout: 120,
      headers: { 'content-type': 'application/json' }, body,
    });
    await fire(Number(args.warmup));
    execFileSync('callgrind_control', ['--instr=on', String(child.pid)], { stdio: 'ignore' });
    const result = await fire(amount);
    execFileSync('callgrind_control', ['--instr=off', String(child.pid)], { stdio: 'ignore' });
    if (result.non2xx > 0 || result.errors > 0) throw new Error(`${server.label}: ${result.non2xx} non-2xx answers, ${result.errors} errors`);
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
    const collected = /Collected : (\d+)/.exec(stderr)?.[1];
    if (!collected) throw new Error(`no instruction count from callgrind:\n${stderr.slice(-800)}`);
    const requests = result.requests.total;
    return { all: Number(collected) / requests, steady: (Number(collected) - burstyInstructions(file)) / requests };
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
}

console.log(`model ${model}; node ${process.version}; user-space instructions per request (callgrind), after ${args.warmup} warm-up requests`);
console.log(['rows/req', 'requests counted', ...servers.map((s) => `${s.label} all / steady`), 'ratio all', 'ratio steady'].join(' | '));
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
for (const [i, rows] of rowCounts.entries()) {
  const amount = requestCounts[Math.min(i, requestCounts.length - 1)] ?? 1000;
  // Both servers at once: instruction counts do not depend on sharing the cores.
  const counted = await Promise.all(servers.map((s) => count(s, rows, amount)));
  const [reference, ours] = counted as [Counted, Counted];
  console.log([rows, amount, ...counted.map((c) => `${fmt(c.all)} / ${fmt(c.steady)}`), (ours.all / reference.all).toFixed(3), (ours.steady / reference.steady).toFixed(3)].join(' | '));
}
console.log(`callgrind files: ${outDir} (callgrind_annotate FILE shows where the instructions go)`);
