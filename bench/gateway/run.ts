/**
 * Gateway overhead: the same model server measured directly and through the gateway, on 127.0.0.1.
 *   npx tsx bench/gateway/run.ts [--duration 5] [--rounds 3] [--connections 16] [--latency-requests 3000] [--upstream auto|model|onnx|fake] [--model examples/models/match-mlp]
 * Upstreams: `model` = `modelfleet serve` on --model (default examples/models/match-logreg-v1; needs `npm run build`);
 * `onnx` = bench/gateway/fake-model-server.ts running the same model with onnxruntime; `fake` = the same
 * server answering a constant (no model work: the gateway's cost relative to a bare HTTP server);
 * `auto` (default) = `model` when built, else `onnx`.
 * Latency: one connection, requests one after another, timed here with hrtime (autocannon's histogram
 * has 1 ms resolution, too coarse for sub-millisecond answers). Throughput: autocannon, N connections,
 * fixed duration. Each server runs in its own process, as in production.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import autocannon from 'autocannon';
import pidusage from 'pidusage';
import { Pool } from 'undici';
import { findFreePort } from '../../lib/free-port.js';
import { percentile } from '../../lib/percentile.js';
import { waitForReady } from '../../pipeline/instance-runtime/wait-for-ready.js';
import { readMlflowModel } from '../../serving/mlflow/read-mlflow-model.js';
import { writeRouteTable } from '../../serving/gateway/route-table-file.js';
import { ROUTE_TABLE_FORMAT } from '../../serving/gateway/route-table.js';

const ROOT = resolve(import.meta.dirname, '../..');
const ROUTE = '/probability/2/TAXI/trafficaware';
const UPSTREAM_LABEL = {
  model: 'modelfleet serve (onnxruntime)',
  onnx: 'stand-in model server running the model with onnxruntime (bench/gateway/fake-model-server.ts)',
  fake: 'bare HTTP server answering a constant (bench/gateway/fake-model-server.ts, no model work)',
} as const;

interface Args {
  duration: number;
  connections: number;
  latencyRequests: number;
  upstream: 'auto' | 'model' | 'onnx' | 'fake';
  rounds: number;
  model: string;
}

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { duration: 5, connections: 16, latencyRequests: 3000, upstream: 'auto', rounds: 3, model: 'examples/models/match-logreg-v1' };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1] ?? ''];
    if (flag === '--duration') args.duration = Number(value);
    else if (flag === '--connections') args.connections = Number(value);
    else if (flag === '--latency-requests') args.latencyRequests = Number(value);
    else if (flag === '--rounds') args.rounds = Math.max(1, Number(value));
    else if (flag === '--model') args.model = value;
    else if (flag === '--upstream' && (value === 'auto' || value === 'model' || value === 'onnx' || value === 'fake')) args.upstream = value;
    else throw new Error(`unknown argument ${flag ?? ''} (see the usage at the top of bench/gateway/run.ts)`);
  }
  return args;
}

function modelServerAvailable(): boolean {
  if (!existsSync(join(ROOT, 'dist/cli/entry.js'))) return false;
  const probe = spawnSync(process.execPath, [join(ROOT, 'bin/modelfleet.js'), 'serve', '--help'], { encoding: 'utf8', timeout: 20_000 });
  return probe.status === 0 && probe.stdout.includes('--model-dir');
}

function start(args: readonly string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ORT_DISABLE_TELEMETRY: '1', LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', 'ignore', 'inherit'] });
  return child;
}

async function waitReady(baseUrl: string, timeoutMs = 30_000): Promise<void> {
  const outcome = await waitForReady({ baseUrl, readyPath: '/readyz' }, { timeoutMs, intervalMs: 100 });
  if (!outcome.ready) throw new Error(`${baseUrl}/readyz did not become ready within ${timeoutMs} ms (${outcome.lastProblem})`);
}

/** Sequential requests on one keep-alive connection; returns per-request latencies in ms. */
async function measureLatency(origin: string, path: string, body: string, count: number): Promise<number[]> {
  const pool = new Pool(origin, { connections: 1 });
  const samples: number[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const t0 = process.hrtime.bigint();
      const res = await pool.request({ path, method: 'POST', headers: { 'content-type': 'application/json' }, body });
      await res.body.arrayBuffer();
      if (res.statusCode !== 200) throw new Error(`${origin}${path} answered ${res.statusCode}`);
      samples.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
  } finally {
    await pool.close();
  }
  return samples.sort((a, b) => a - b);
}

/** CPU time (user + system, ms) a process used so far. */
async function cpuMs(pid: number | undefined): Promise<number> {
  return pid === undefined ? Number.NaN : (await pidusage(pid)).ctime;
}

interface Throughput {
  readonly result: autocannon.Result;
  /** CPU microseconds each process spent per answered request, by role. */
  readonly cpuPerRequest: Record<string, number>;
}

/** Runs autocannon and charges each server process's CPU time to the requests it answered. */
async function measureWithCpu(url: string, body: string, seconds: number, connections: number, pids: Record<string, number | undefined>): Promise<Throughput> {
  const before = Object.fromEntries(await Promise.all(Object.entries(pids).map(async ([role, pid]) => [role, await cpuMs(pid)] as const)));
  const result = await measureThroughput(url, body, seconds, connections);
  const cpuPerRequest: Record<string, number> = {};
  for (const [role, pid] of Object.entries(pids)) cpuPerRequest[role] = ((await cpuMs(pid)) - (before[role] ?? 0)) * 1000 / result.requests.total;
  return { result, cpuPerRequest };
}

async function measureThroughput(url: string, body: string, seconds: number, connections: number): Promise<autocannon.Result> {
  const result = await autocannon({ url, method: 'POST', body, headers: { 'content-type': 'application/json' }, connections, duration: seconds, timeout: 10 });
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${url}: ${result.non2xx} non-2xx answers and ${result.errors} errors under load`);
  return result;
}

function perRoundText(args: Args): string {
  return `${Math.ceil(args.latencyRequests / args.rounds)} sequential requests on 1 connection (latency), then autocannon ${args.connections} connections x ${args.duration} s (req/s), each direct then through the gateway`;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const built = args.upstream === 'model' || args.upstream === 'auto' ? modelServerAvailable() : false;
  if (args.upstream === 'model' && !built) throw new Error('the model server is not built: run `npm run build` first');
  const kind = args.upstream === 'auto' ? (built ? 'model' : 'onnx') : args.upstream;
  const MODEL_DIR = resolve(ROOT, args.model);
  const model = await readMlflowModel(MODEL_DIR);
  const example = model.inputExample;
  if (!example) throw new Error(`${args.model} has no input example; the benchmark sends its first row`);
  // One row of the model's own input example: column models in split orientation, tensor models as `inputs`.
  const body = JSON.stringify(example.columns.length > 0
    ? { dataframe_split: { columns: example.columns, data: example.data.slice(0, 1) } }
    : { inputs: example.data.slice(0, 1) });

  const dir = await mkdtemp(join(tmpdir(), 'modelfleet-bench-gateway-'));
  const children: ChildProcess[] = [];
  try {
    const upstreamPort = await findFreePort();
    const gatewayPort = await findFreePort();
    const upstream = `http://127.0.0.1:${upstreamPort}`;
    children.push(kind === 'model'
      ? start([join(ROOT, 'bin/modelfleet.js'), 'serve', '--model-dir', MODEL_DIR, '--port', String(upstreamPort)])
      : start(['--import', 'tsx', join(ROOT, 'bench/gateway/fake-model-server.ts'), String(upstreamPort), ...(kind === 'onnx' ? [MODEL_DIR] : [])]));
    await waitReady(upstream);

    const routes = join(dir, 'routes.json');
    await writeRouteTable(routes, {
      format: ROUTE_TABLE_FORMAT,
      routes: [{ route: ROUTE, model: 'bench-model', stickyHeader: 'x-user-id', variants: [
        { id: 'main', deployName: 'bench-model', upstream, predictPath: '/invocations', weight: 100, shadow: false, source: `path:${args.model}` },
      ] }],
    });
    children.push(start(['--import', 'tsx', join(ROOT, 'cli/entry.ts'), 'gateway', '--routes', routes, '--port', String(gatewayPort), '--no-watch']));
    const gateway = `http://127.0.0.1:${gatewayPort}`;
    await waitReady(gateway);

    console.log(`upstream: ${UPSTREAM_LABEL[kind]}, model ${args.model}`);
    console.log(`node ${process.version}, ${cpus().length} CPUs, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
    console.log(`${args.rounds} rounds of: ${perRoundText(args)}\n`);

    // Warm both paths (JIT, connection pools, onnxruntime's first runs).
    await measureThroughput(`${upstream}/invocations`, body, 1, args.connections);
    await measureThroughput(`${gateway}${ROUTE}`, body, 1, args.connections);

    // Alternate direct and gateway runs so background load on a shared machine hits both alike;
    // report the median round.
    const directLat: number[] = [];
    const viaLat: number[] = [];
    const rounds: { direct: autocannon.Result; via: autocannon.Result; cpu: { direct: number; upstreamViaGateway: number; gateway: number } }[] = [];
    const [upstreamPid, gatewayPid] = [children[0]?.pid, children[1]?.pid];
    const perRound = Math.ceil(args.latencyRequests / args.rounds);
    for (let round = 0; round < args.rounds; round++) {
      directLat.push(...(await measureLatency(upstream, '/invocations', body, perRound)));
      viaLat.push(...(await measureLatency(gateway, ROUTE, body, perRound)));
      const { result: direct, cpuPerRequest: directCpu } = await measureWithCpu(`${upstream}/invocations`, body, args.duration, args.connections, { upstream: upstreamPid });
      const { result: via, cpuPerRequest: viaCpu } = await measureWithCpu(`${gateway}${ROUTE}`, body, args.duration, args.connections, { upstream: upstreamPid, gateway: gatewayPid });
      const cpu = { direct: directCpu.upstream ?? Number.NaN, upstreamViaGateway: viaCpu.upstream ?? Number.NaN, gateway: viaCpu.gateway ?? Number.NaN };
      rounds.push({ direct, via, cpu });
      console.log(`round ${round + 1}: direct ${direct.requests.average.toFixed(0)} req/s, gateway ${via.requests.average.toFixed(0)} req/s (${(via.requests.average / direct.requests.average).toFixed(2)}x); `
        + `CPU per request: model server ${cpu.direct.toFixed(0)} µs direct, ${cpu.upstreamViaGateway.toFixed(0)} µs behind the gateway, gateway ${cpu.gateway.toFixed(0)} µs`);
    }
    directLat.sort((a, b) => a - b);
    viaLat.sort((a, b) => a - b);
    const byRatio = [...rounds].sort((a, b) => a.via.requests.average / a.direct.requests.average - b.via.requests.average / b.direct.requests.average);
    const { direct, via, cpu } = byRatio[Math.floor(byRatio.length / 2)] as (typeof rounds)[number];

    const rows = [
      ['', 'direct', 'gateway', 'ratio'],
      ['p50 latency (ms, 1 conn)', percentile(directLat, 50).toFixed(3), percentile(viaLat, 50).toFixed(3), (percentile(viaLat, 50) / percentile(directLat, 50)).toFixed(2)],
      ['p99 latency (ms, 1 conn)', percentile(directLat, 99).toFixed(3), percentile(viaLat, 99).toFixed(3), (percentile(viaLat, 99) / percentile(directLat, 99)).toFixed(2)],
      [`req/s (${args.connections} conns, median round)`, direct.requests.average.toFixed(0), via.requests.average.toFixed(0), (via.requests.average / direct.requests.average).toFixed(2)],
      [`p50 latency (ms, ${args.connections} conns)`, String(direct.latency.p50), String(via.latency.p50), ''],
      ['CPU per request (µs, all processes)', cpu.direct.toFixed(0), (cpu.upstreamViaGateway + cpu.gateway).toFixed(0), ((cpu.upstreamViaGateway + cpu.gateway) / cpu.direct).toFixed(2)],
    ];
    console.log('');
    for (const row of rows) console.log(`${(row[0] ?? '').padEnd(36)}${(row[1] ?? '').padStart(10)}${(row[2] ?? '').padStart(10)}${(row[3] ?? '').padStart(8)}`);
    const added = percentile(viaLat, 50) - percentile(directLat, 50);
    const addedP50 = percentile(viaLat, 50) / percentile(directLat, 50) - 1;
    const rps = via.requests.average / direct.requests.average;
    console.log(`\nadded p50: +${(added * 1000).toFixed(0)} µs = ${(addedP50 * 100).toFixed(1)}% (target <= 15%): ${addedP50 <= 0.15 ? 'met' : 'NOT met'}`);
    console.log(`req/s ratio: ${rps.toFixed(2)}x (target >= 0.7x): ${rps >= 0.7 ? 'met' : 'NOT met'}`);
  } finally {
    for (const child of children) child.kill('SIGTERM');
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
