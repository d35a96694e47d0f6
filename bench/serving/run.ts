import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { findFreePort } from '../../lib/free-port.js';
import { compileForBench } from './compile-for-bench.js';
import { CPU_TIME_RESOLUTION_US, cpuTimes, rssBytes } from './proc-stats.js';
import { bodyFor } from './request-body.js';

/**
 * `modelfleet serve` against a lean node:http + onnxruntime-node server (reference-server.ts), same
 * model, same machine, same load. The figure compared is the servers' CPU time per request, read from
 * /proc over a fixed number of requests: on two shared cores req/s moves ±20% between runs, CPU time
 * per request does not. req/s and p99 are printed beside it.
 *
 *   npx tsx bench/serving/run.ts [--model match-logreg-v2] [--rows 1,10,100,1000] [--requests 30000,20000,8000,2000]
 *                                [--rounds 3] [--connections 32] [--unbatched] [--node-options=--max-semi-space-size=4]
 *
 * Servers run pinned to --server-cpu and autocannon (this process) to --load-cpu with taskset, when
 * taskset exists. For each rows/request the servers get a warm-up of one round's requests, then
 * --rounds rounds that alternate between them; each figure is the best of its rounds (least CPU per
 * request, most req/s, lowest p99). Load goes to 127.0.0.1 only and every run is bounded in time.
 * Writes the same as JSON to build/bench/serving-<model>.json.
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const { values: args } = parseArgs({
  options: {
    model: { type: 'string', default: 'match-logreg-v2' },
    rows: { type: 'string', default: '1,10,100,1000' },
    /** Requests per round, one number per --rows entry (or one for all). */
    requests: { type: 'string', default: '30000,20000,8000,2000' },
    rounds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '32' },
    'server-cpu': { type: 'string', default: '0' },
    'load-cpu': { type: 'string', default: '1' },
    /** Also measure `modelfleet serve` with BATCHING_ENABLED=false. */
    unbatched: { type: 'boolean', default: false },
    /** Node flags for every server alike, e.g. --max-semi-space-size=4 (V8's young generation, in MB). */
    'node-options': { type: 'string', default: '' },
  },
});

const hasTaskset = spawnSync('taskset', ['-V'], { stdio: 'ignore' }).status === 0;
if (hasTaskset && process.env.MODELFLEET_BENCH_PINNED !== '1') {
  const pinned = spawnSync('taskset', ['-c', String(args['load-cpu']), process.execPath, ...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: 'inherit', env: { ...process.env, MODELFLEET_BENCH_PINNED: '1' },
  });
  process.exit(pinned.status ?? 1);
}

const model = String(args.model);
const modelDir = join(ROOT, 'examples', 'models', model);
const rowCounts = String(args.rows).split(',').map(Number);
const requestCounts = String(args.requests).split(',').map(Number);
const requestsFor = (i: number) => requestCounts[Math.min(i, requestCounts.length - 1)] ?? 1000;
const connections = Number(args.connections);
const rounds = Math.max(1, Number(args.rounds));
if (rowCounts.some((n) => !Number.isInteger(n) || n < 1) || requestCounts.some((n) => !Number.isInteger(n) || n < 1)) {
  throw new Error(`--rows and --requests take comma-separated positive integers, got ${args.rows} and ${args.requests}`);
}
/** Longest one load run may take; autocannon is stopped after it (a stuck server must not hang the bench). */
const RUN_TIMEOUT_MS = 120_000;

const compiled = compileForBench(ROOT, ['cli/entry.ts', 'bench/serving/reference-server.ts']);

interface Target {
  readonly label: string;
  readonly script: string;
  readonly args: (port: number) => string[];
  readonly env: Record<string, string>;
}

const targets: Target[] = [
  { label: 'reference (node:http + ort)', script: 'bench/serving/reference-server.ts', args: (port) => [join(modelDir, 'model.onnx'), String(port)], env: {} },
  { label: 'modelfleet serve', script: 'cli/entry.ts', args: () => ['serve', '--model-dir', modelDir], env: { SHUTDOWN_DELAY_MS: '0' } },
  ...(args.unbatched ? [{ label: 'modelfleet serve, BATCHING_ENABLED=false', script: 'cli/entry.ts', args: () => ['serve', '--model-dir', modelDir], env: { SHUTDOWN_DELAY_MS: '0', BATCHING_ENABLED: 'false' } }] : []),
];

function startServer(target: Target, port: number): ChildProcess {
  const command = [process.execPath, compiled(target.script), ...target.args(port)];
  const env = { ...process.env, ORT_DISABLE_TELEMETRY: '1', LOG_LEVEL: 'warn', PORT: String(port), NODE_OPTIONS: String(args['node-options']), ...target.env };
  const [file, ...argv] = hasTaskset ? ['taskset', '-c', String(args['server-cpu']), ...command] : command;
  // taskset execs the program in place, so the child's pid is the server's.
  return spawn(file as string, argv, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'], env });
}

async function waitReady(child: ChildProcess, url: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  createInterface({ input: child.stdout! }).on('line', () => {});
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    const ok = await fetch(`${url}/readyz`).then((r) => r.status === 200, () => false);
    if (ok) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`server at ${url} not ready in 60 s`);
}

/**
 * Fires exactly `amount` requests over `connections` keep-alive connections. `seconds` runs from the
 * start to the last answer (autocannon itself only ends a run on its next 1 s sampling tick).
 */
function load(url: string, body: string, amount: number): Promise<{ result: autocannon.Result; seconds: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    let lastAnswer = started;
    const instance = autocannon({
      url: `${url}/invocations`, method: 'POST', connections, amount, pipelining: 1, timeout: 30, sampleInt: 100,
      headers: { 'content-type': 'application/json' }, body,
    }, (err, result) => (err ? reject(err) : resolve({ result, seconds: (lastAnswer - started) / 1000 })));
    instance.on('response', () => { lastAnswer = performance.now(); });
    const timer = setTimeout(() => instance.stop(), RUN_TIMEOUT_MS);
    instance.once('done', () => clearTimeout(timer));
  });
}

interface Round {
  readonly cpuUsPerRequest: number;
  /** The kernel's part of cpuUsPerRequest (socket system calls and what they do on loopback). */
  readonly systemUsPerRequest: number;
  readonly reqPerSec: number;
  readonly p99Ms: number;
  readonly peakRssMb: number;
  readonly requests: number;
  readonly non2xx: number;
  readonly errors: number;
}

async function measure(pid: number, url: string, body: string, amount: number): Promise<Round> {
  let peak = await rssBytes(pid);
  const sampler = setInterval(() => { void rssBytes(pid).then((b) => { peak = Math.max(peak, b); }, () => {}); }, 100);
  const cpuBefore = await cpuTimes(pid);
  const { result, seconds } = await load(url, body, amount);
  const cpuAfter = await cpuTimes(pid);
  clearInterval(sampler);
  const requests = result.requests.total;
  return {
    cpuUsPerRequest: requests > 0 ? (cpuAfter.userUs + cpuAfter.systemUs - cpuBefore.userUs - cpuBefore.systemUs) / requests : NaN,
    systemUsPerRequest: requests > 0 ? (cpuAfter.systemUs - cpuBefore.systemUs) / requests : NaN,
    reqPerSec: requests / seconds,
    p99Ms: result.latency.p99,
    peakRssMb: Math.max(peak, await rssBytes(pid)) / 2 ** 20,
    requests,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  };
}

interface Running {
  readonly target: Target;
  readonly child: ChildProcess;
  readonly url: string;
  readonly pid: number;
}

interface SizeResult {
  readonly label: string;
  readonly rowsPerRequest: number;
  readonly requestsPerRound: number;
  /** Best (least) CPU per request over the rounds, then the best req/s and p99, each over the rounds. */
  readonly cpuUsPerRequest: number;
  readonly reqPerSec: number;
  readonly p99Ms: number;
  readonly peakRssMb: number;
  readonly idleRssMb: number;
  readonly non2xx: number;
  readonly errors: number;
  readonly rounds: readonly Round[];
}

const loadBefore = loadavg();
const results: SizeResult[] = [];
const running: Running[] = [];
try {
  for (const target of targets) {
    const port = await findFreePort();
    const child = startServer(target, port);
    running.push({ target, child, url: `http://127.0.0.1:${port}`, pid: child.pid ?? 0 });
  }
  for (const r of running) await waitReady(r.child, r.url);
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  const idleRss = new Map(await Promise.all(running.map(async (r) => [r, (await rssBytes(r.pid)) / 2 ** 20] as const)));

  for (const [i, rowsPerRequest] of rowCounts.entries()) {
    const amount = requestsFor(i);
    const body = await bodyFor(modelDir, rowsPerRequest);
    // Warm-up: one round's worth, so that V8 has compiled the paths this body size takes before any
    // round counts (a server runs for hours; its steady state is the figure wanted).
    for (const r of running) await load(r.url, body, amount);
    const byServer = new Map<Running, Round[]>(running.map((r) => [r, []]));
    // Rounds alternate between the servers so that drift in the machine's load hits every server alike.
    for (let round = 0; round < rounds; round++) {
      for (let k = 0; k < running.length; k++) {
        const r = running[(k + round) % running.length] as Running;
        const measured = await measure(r.pid, r.url, body, amount);
        byServer.get(r)?.push(measured);
        console.log(`  ${rowsPerRequest} row(s)/req, round ${round + 1}, ${r.target.label}: ${measured.cpuUsPerRequest.toFixed(1)} µs CPU/req (kernel ${measured.systemUsPerRequest.toFixed(1)}), ${measured.reqPerSec.toFixed(0)} req/s, p99 ${measured.p99Ms} ms`);
      }
    }
    for (const r of running) {
      const list = byServer.get(r) ?? [];
      results.push({
        label: r.target.label, rowsPerRequest, requestsPerRound: amount,
        cpuUsPerRequest: Math.min(...list.map((x) => x.cpuUsPerRequest)),
        reqPerSec: Math.max(...list.map((x) => x.reqPerSec)),
        p99Ms: Math.min(...list.map((x) => x.p99Ms)),
        peakRssMb: Math.max(...list.map((x) => x.peakRssMb)),
        idleRssMb: idleRss.get(r) ?? NaN,
        non2xx: list.reduce((n, x) => n + x.non2xx, 0),
        errors: list.reduce((n, x) => n + x.errors, 0),
        rounds: list,
      });
    }
  }
} finally {
  for (const r of running) r.child.kill('SIGTERM');
  await Promise.all(running.map((r) => (r.child.exitCode === null ? new Promise((resolve) => r.child.once('exit', resolve)) : undefined)));
}

const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
console.log(`\nmodel ${model}; node ${process.version}; ${connections} connections; best of ${rounds} alternating rounds of a fixed request count; `
  + (hasTaskset ? `servers on cpu ${args['server-cpu']}, autocannon on cpu ${args['load-cpu']}` : 'no taskset: nothing pinned')
  + `; CPU from /proc/PID/stat (resolution ${CPU_TIME_RESOLUTION_US / 1000} ms); load average ${loadBefore.map((l) => l.toFixed(2)).join(' ')} before, ${loadavg().map((l) => l.toFixed(2)).join(' ')} after; NODE_OPTIONS=${JSON.stringify(args['node-options'])}\n`);
console.log(['server', 'rows/req', 'requests/round', 'CPU µs/req', 'CPU µs/row', 'CPU µs/req by round', 'req/s', 'rows/s', 'p99 ms', 'idle RSS MB', 'peak RSS MB', 'non-2xx', 'errors'].join(' | '));
for (const r of results) {
  console.log([
    r.label, r.rowsPerRequest, fmt(r.requestsPerRound), fmt(r.cpuUsPerRequest, 1), fmt(r.cpuUsPerRequest / r.rowsPerRequest, 2),
    r.rounds.map((x) => fmt(x.cpuUsPerRequest, 1)).join(' / '), fmt(r.reqPerSec), fmt(r.reqPerSec * r.rowsPerRequest), fmt(r.p99Ms),
    fmt(r.idleRssMb, 1), fmt(r.peakRssMb, 1), r.non2xx, r.errors,
  ].join(' | '));
}

/** The floor: CPU per request at most this many times the reference's. */
const GOAL: Readonly<Record<number, number>> = { 1: 1.0, 100: 1.1, 1000: 1.1 };
const reference = targets[0]?.label;
const ratios = results.filter((r) => r.label !== reference).map((r) => {
  const ref = results.find((x) => x.label === reference && x.rowsPerRequest === r.rowsPerRequest);
  const goal = GOAL[r.rowsPerRequest];
  const cpu = ref ? r.cpuUsPerRequest / ref.cpuUsPerRequest : NaN;
  return {
    label: r.label, rowsPerRequest: r.rowsPerRequest, cpuPerRequest: cpu, goal,
    met: goal === undefined ? undefined : cpu <= goal,
    reqPerSec: ref ? r.reqPerSec / ref.reqPerSec : NaN,
    p99: ref ? r.p99Ms / ref.p99Ms : NaN,
    peakRss: ref ? r.peakRssMb / ref.peakRssMb : NaN,
  };
});
console.log('\nratios to the reference (CPU per request: goal <= 1.0 at 1 row, <= 1.1 at 100 and 1,000 rows)');
for (const r of ratios) {
  const verdict = r.goal === undefined ? '' : r.met ? ` (goal <= ${fmt(r.goal, 1)}: met)` : ` (goal <= ${fmt(r.goal, 1)}: NOT met)`;
  console.log(`${r.label}, ${r.rowsPerRequest} row(s)/req: CPU per request ${fmt(r.cpuPerRequest, 2)}x${verdict}, req/s ${fmt(r.reqPerSec, 2)}x, p99 ${fmt(r.p99, 2)}x, peak RSS ${fmt(r.peakRss, 2)}x`);
}
const failed = results.filter((r) => r.non2xx > 0 || r.errors > 0);
for (const r of failed) console.log(`WARNING: ${r.label} at ${r.rowsPerRequest} row(s)/req had ${r.non2xx} non-2xx answers and ${r.errors} errors`);
await mkdir(join(ROOT, 'build', 'bench'), { recursive: true });
await writeFile(join(ROOT, 'build', 'bench', `serving-${model}.json`), `${JSON.stringify({
  model, node: process.version, connections, rounds, rowCounts, requestCounts, pinned: hasTaskset, nodeOptions: args['node-options'],
  loadAverage: { before: loadBefore, after: loadavg() }, results, ratios,
}, null, 2)}\n`);
if (failed.length > 0) process.exitCode = 1;
