import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import pidusage from 'pidusage';
import { findFreePort } from '../../lib/free-port.js';

/**
 * The model server against the bare node:http + onnxruntime-node reference, same model, same machine.
 * Servers run pinned to one core (taskset -c SERVER_CPU), autocannon to another (this process
 * re-executes itself under taskset -c LOAD_CPU). Load goes to 127.0.0.1 only and every run is bounded.
 *
 *   npx tsx bench/serving/run.ts [--model match-mlp] [--duration 5] [--rounds 3] [--connections 32] [--warmup 2]
 *                                [--node-options=--max-semi-space-size=4] [--skip-unbatched]
 *
 * Prints req/s, rows/s, p50/p99 latency, idle and peak RSS for 1 and 100 rows per request, and the
 * ratios to the reference; writes the same as JSON to build/bench/serving.json.
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const { values: args } = parseArgs({
  options: {
    model: { type: 'string', default: 'match-mlp' },
    duration: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '2' },
    connections: { type: 'string', default: '32' },
    'server-cpu': { type: 'string', default: '0' },
    'load-cpu': { type: 'string', default: '1' },
    'skip-unbatched': { type: 'boolean', default: false },
    /** Node flags for every server alike, e.g. --max-semi-space-size=4 (V8's young generation, in MB). */
    'node-options': { type: 'string', default: '' },
  },
});

if (process.env.MODELFLEET_BENCH_PINNED !== '1') {
  const pinned = spawnSync('taskset', ['-c', String(args['load-cpu']), process.execPath, ...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: 'inherit', env: { ...process.env, MODELFLEET_BENCH_PINNED: '1' },
  });
  if (pinned.error) throw new Error(`taskset is needed to pin the load generator: ${pinned.error.message}`);
  process.exit(pinned.status ?? 1);
}

const model = String(args.model);
const modelDir = join(ROOT, 'examples', 'models', model);
const duration = Number(args.duration);
const warmup = Number(args.warmup);
const connections = Number(args.connections);
const rounds = Number(args.rounds);
const results: { label: string; idleRssMb: number; runs: RunResult[] }[] = [];

interface Target {
  readonly label: string;
  readonly start: (port: number) => ChildProcess;
}

// Both servers run as compiled JavaScript (as in an image), not through tsx, whose loader would
// add memory in proportion to the number of modules.
const COMPILED = join(ROOT, 'build', 'bench-dist');
const compiled = (script: string) => join(COMPILED, script.replace(/\.ts$/, '.js'));
const tsc = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json', '--outDir', COMPILED, '--sourceMap', 'false'], { cwd: ROOT, encoding: 'utf8' });
for (const script of ['cli/entry.ts', 'bench/serving/reference-server.ts']) {
  if (!existsSync(compiled(script))) throw new Error(`compiling for the benchmark produced no ${compiled(script)}:\n${tsc.stdout}`);
}

const nodeTs = (script: string, scriptArgs: string[], env: Record<string, string>) => (port: number) =>
  spawn('taskset', ['-c', String(args['server-cpu']), process.execPath, compiled(script), ...scriptArgs], {
    cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, ORT_DISABLE_TELEMETRY: '1', LOG_LEVEL: 'warn', PORT: String(port), NODE_OPTIONS: String(args['node-options']), ...env },
  });

const targets: Target[] = [
  { label: 'reference (node:http + ort)', start: (port) => nodeTs('bench/serving/reference-server.ts', [join(modelDir, 'model.onnx'), String(port)], {})(port) },
  { label: 'modelfleet serve', start: nodeTs('cli/entry.ts', ['serve', '--model-dir', modelDir], { SHUTDOWN_DELAY_MS: '0' }) },
  ...(args['skip-unbatched'] ? [] : [{ label: 'modelfleet serve, BATCHING_ENABLED=false', start: nodeTs('cli/entry.ts', ['serve', '--model-dir', modelDir], { SHUTDOWN_DELAY_MS: '0', BATCHING_ENABLED: 'false' }) }]),
];

/** A body with `rows` rows in the format the model's signature takes (and the reference understands). */
async function bodyFor(rows: number): Promise<string> {
  const example = JSON.parse(await readFile(join(modelDir, 'input_example.json'), 'utf8')) as { inputs?: number[][]; columns?: string[]; data?: number[][] };
  const seed = example.inputs?.[0] ?? example.data?.[0] ?? [];
  const data = Array.from({ length: rows }, (_, r) => seed.map((v) => (typeof v === 'number' ? v * (1 + r / 1000) : v)));
  return example.inputs ? JSON.stringify({ inputs: data }) : JSON.stringify({ dataframe_split: { columns: example.columns, data } });
}

async function waitReady(child: ChildProcess, url: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  createInterface({ input: child.stdout! }).on('line', () => {});
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    const ok = await fetch(`${url}/readyz`).then((r) => r.status === 200 || r.status === 404, () => false);
    if (ok) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`server at ${url} not ready in 60 s`);
}

async function rss(pid: number): Promise<number> {
  return (await pidusage(pid)).memory;
}

/** CPU time the process used so far, in ms (user + system). */
async function cpuMs(pid: number): Promise<number> {
  return (await pidusage(pid)).ctime;
}

interface RunResult {
  readonly rowsPerRequest: number;
  readonly reqPerSec: number;
  readonly rowsPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly peakRssMb: number;
  readonly non2xx: number;
  readonly errors: number;
  /** req/s of each round, to show the spread. */
  readonly rounds: readonly number[];
  /** Server CPU time (user + system) per request, median over rounds: less sensitive than req/s to other work on the machine. */
  readonly cpuUsPerRequest: number;
}

async function load(url: string, body: string, seconds: number): Promise<autocannon.Result> {
  return autocannon({
    url: `${url}/invocations`, method: 'POST', connections, duration: seconds, pipelining: 1,
    headers: { 'content-type': 'application/json' }, body,
  });
}

const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] ?? NaN) : ((s[mid - 1] ?? NaN) + (s[mid] ?? NaN)) / 2;
};

interface Running {
  readonly target: Target;
  readonly child: ChildProcess;
  readonly url: string;
  readonly pid: number;
  idleRssMb: number;
}

// All servers run side by side on the server core (an idle one costs nothing); rounds alternate between
// them so that drift in the machine's load (other work on the same cores) hits every server alike.
const running: Running[] = [];
try {
  for (const target of targets) {
    const port = await findFreePort();
    const child = target.start(port);
    running.push({ target, child, url: `http://127.0.0.1:${port}`, pid: child.pid ?? 0, idleRssMb: 0 });
  }
  for (const r of running) await waitReady(r.child, r.url);
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  for (const r of running) r.idleRssMb = (await rss(r.pid)) / 2 ** 20;

  const measured = new Map<Running, RunResult[]>(running.map((r) => [r, []]));
  for (const rowsPerRequest of [1, 100]) {
    const body = await bodyFor(rowsPerRequest);
    for (const r of running) await load(r.url, body, warmup);
    const samples = new Map<Running, { rps: number[]; p50: number[]; p99: number[]; cpu: number[]; peak: number; non2xx: number; errors: number }>(
      running.map((r) => [r, { rps: [], p50: [], p99: [], cpu: [], peak: 0, non2xx: 0, errors: 0 }]),
    );
    for (let round = 0; round < rounds; round++) {
      const order = running.map((_, i) => running[(i + round) % running.length] as Running);
      for (const r of order) {
        const s = samples.get(r);
        if (!s) continue;
        const sampler = setInterval(() => { void rss(r.pid).then((m) => { s.peak = Math.max(s.peak, m); }, () => {}); }, 100);
        const cpuBefore = await cpuMs(r.pid);
        const result = await load(r.url, body, duration);
        const cpuAfter = await cpuMs(r.pid);
        clearInterval(sampler);
        if (result.requests.total > 0) s.cpu.push(((cpuAfter - cpuBefore) * 1000) / result.requests.total);
        s.peak = Math.max(s.peak, await rss(r.pid));
        s.rps.push(result.requests.average);
        s.p50.push(result.latency.p50);
        s.p99.push(result.latency.p99);
        s.non2xx += result.non2xx;
        s.errors += result.errors + result.timeouts;
      }
    }
    for (const r of running) {
      const s = samples.get(r);
      if (!s) continue;
      const rps = median(s.rps);
      measured.get(r)?.push({
        rowsPerRequest, reqPerSec: rps, rowsPerSec: rps * rowsPerRequest, p50Ms: median(s.p50), p99Ms: median(s.p99),
        peakRssMb: s.peak / 2 ** 20, non2xx: s.non2xx, errors: s.errors, rounds: s.rps, cpuUsPerRequest: median(s.cpu),
      });
    }
  }
  results.push(...running.map((r) => ({ label: r.target.label, idleRssMb: r.idleRssMb, runs: measured.get(r) ?? [] })));
} finally {
  for (const r of running) r.child.kill('SIGTERM');
  await Promise.all(running.map((r) => (r.child.exitCode === null ? new Promise((resolve) => r.child.once('exit', resolve)) : undefined)));
}

const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const reference = results[0];
console.log(`\nmodel ${model}; ${connections} connections; median of ${rounds} alternating rounds of ${duration} s after ${warmup} s warm-up; server on cpu ${args['server-cpu']}, autocannon on cpu ${args['load-cpu']}; NODE_OPTIONS=${JSON.stringify(args['node-options'])}\n`);
console.log(['server', 'rows/req', 'req/s', 'rows/s', 'p50 ms', 'p99 ms', 'idle RSS MB', 'peak RSS MB', 'non-2xx', 'errors', 'server CPU µs/req', 'req/s by round'].join(' | '));
for (const r of results) {
  for (const run of r.runs) {
    console.log([r.label, run.rowsPerRequest, fmt(run.reqPerSec), fmt(run.rowsPerSec), fmt(run.p50Ms, 2), fmt(run.p99Ms, 2), fmt(r.idleRssMb, 1), fmt(run.peakRssMb, 1), run.non2xx, run.errors, fmt(run.cpuUsPerRequest), run.rounds.map((x) => fmt(x)).join(' / ')].join(' | '));
  }
}
const ratios = results.slice(1).map((r) => ({
  label: r.label,
  runs: r.runs.map((run, i) => {
    const ref = reference?.runs[i];
    return {
      rowsPerRequest: run.rowsPerRequest,
      reqPerSec: ref ? run.reqPerSec / ref.reqPerSec : NaN,
      rowsPerSec: ref ? run.rowsPerSec / ref.rowsPerSec : NaN,
      p99: ref ? run.p99Ms / ref.p99Ms : NaN,
      peakRss: ref ? run.peakRssMb / ref.peakRssMb : NaN,
      cpuPerRequest: ref ? run.cpuUsPerRequest / ref.cpuUsPerRequest : NaN,
    };
  }),
}));
console.log('\nratios to the reference (targets: 1 row req/s >= 1.0, 100 rows rows/s >= 0.9, p99 <= 1.5, peak RSS <= 1.2)');
for (const r of ratios) {
  for (const run of r.runs) {
    console.log(`${r.label}, ${run.rowsPerRequest} row(s)/req: req/s ${fmt(run.reqPerSec, 2)}x, rows/s ${fmt(run.rowsPerSec, 2)}x, p99 ${fmt(run.p99, 2)}x, peak RSS ${fmt(run.peakRss, 2)}x, CPU per request ${fmt(run.cpuPerRequest, 2)}x`);
  }
}
await mkdir(join(ROOT, 'build', 'bench'), { recursive: true });
await writeFile(join(ROOT, 'build', 'bench', 'serving.json'), `${JSON.stringify({ model, connections, duration, warmup, rounds, nodeOptions: args['node-options'], results, ratios }, null, 2)}\n`);
