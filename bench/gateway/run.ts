/**
 * The gateway next to nginx, in one run, in front of the same model servers on 127.0.0.1.
 *   node --import tsx bench/gateway/run.ts [--rounds 5] [--duration 5] [--connections 16] [--latency-requests 1500] [--upstream auto|model|onnx|fake]
 *
 * One route with a sticky A/B split (v1 80% / v2 20%, header x-user-id), each variant its own model
 * server: `modelfleet serve` on examples/models/match-logreg-v1 and -v2 when built (`npm run build`),
 * else the stand-in of fake-model-server.ts running the same ONNX models (`onnx`) or answering a
 * constant (`fake`). nginx (Debian's, scripts/setup-nginx.sh) runs the configuration that
 * `modelfleet gateway nginx-config` writes for the same route table (split_clients on the sticky
 * header with the same weights, a kept-alive upstream per variant), with one worker process, as
 * the gateway is one process.
 *
 * Each round measures, in rotating order: direct to the v1 model server, through the gateway,
 * through nginx. Latency: one connection, requests one after another, timed here with hrtime.
 * Throughput: autocannon, N connections, every request with its own x-user-id. CPU: user + system
 * time of each proxy process (nginx: master and worker) from /proc/<pid>/stat, divided by the
 * requests it answered. The summary shows the best round of each figure (background load only
 * ever makes a figure worse) and the median.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import autocannon from 'autocannon';
import { Pool } from 'undici';
import { findFreePort } from '../../lib/free-port.js';
import { percentile } from '../../lib/percentile.js';
import { waitForReady } from '../../pipeline/instance-runtime/wait-for-ready.js';
import { readMlflowModel } from '../../serving/mlflow/read-mlflow-model.js';
import { findNginx, startNginx, type NginxProcess } from '../../serving/gateway/nginx-process.js';
import { renderNginxConfig } from '../../serving/gateway/render-nginx-config.js';
import { writeRouteTable } from '../../serving/gateway/route-table-file.js';
import { ROUTE_TABLE_FORMAT, type RouteTable } from '../../serving/gateway/route-table.js';
import { cpuMicros } from '../serving/proc-stats.js';

const ROOT = resolve(import.meta.dirname, '../..');
const ROUTE = '/probability/2/TAXI/trafficaware';
const MODEL = 'match-2-taxi-trafficaware';
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
}

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { duration: 5, connections: 16, latencyRequests: 1500, upstream: 'auto', rounds: 5 };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1] ?? ''];
    if (flag === '--duration') args.duration = Number(value);
    else if (flag === '--connections') args.connections = Number(value);
    else if (flag === '--latency-requests') args.latencyRequests = Number(value);
    else if (flag === '--rounds') args.rounds = Math.max(1, Number(value));
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

function start(args: readonly string[]): ChildProcess {
  return spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ORT_DISABLE_TELEMETRY: '1', LOG_LEVEL: 'warn' }, stdio: ['ignore', 'ignore', 'inherit'] });
}

async function waitReady(baseUrl: string, readyPath = '/readyz', timeoutMs = 30_000): Promise<void> {
  const outcome = await waitForReady({ baseUrl, readyPath }, { timeoutMs, intervalMs: 100 });
  if (!outcome.ready) throw new Error(`${baseUrl}${readyPath} did not become ready within ${timeoutMs} ms (${outcome.lastProblem})`);
}

/** Sequential requests on one kept-alive connection, each with its own caller key; latencies in ms. */
async function measureLatency(origin: string, path: string, body: string, count: number): Promise<number[]> {
  const pool = new Pool(origin, { connections: 1 });
  const samples: number[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const t0 = process.hrtime.bigint();
      const res = await pool.request({ path, method: 'POST', headers: { 'content-type': 'application/json', 'x-user-id': `rider-${i}` }, body });
      await res.body.arrayBuffer();
      if (res.statusCode !== 200) throw new Error(`${origin}${path} answered ${res.statusCode}`);
      samples.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
  } finally {
    await pool.close();
  }
  return samples;
}

/** Runs autocannon (every request its own x-user-id) and charges the processes' CPU time to the requests answered. */
async function measureThroughput(url: string, body: string, args: Args, pids: readonly number[]): Promise<{ rps: number; cpuUs: number; p50: number; p99: number }> {
  const before = await Promise.all(pids.map(cpuMicros));
  let caller = 0;
  const result = await autocannon({
    url,
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json' },
    connections: args.connections,
    duration: args.duration,
    timeout: 10,
    requests: [{ setupRequest: (req) => ({ ...req, headers: { ...req.headers, 'x-user-id': `rider-${caller++ % 100_000}` } }) }],
  });
  const after = await Promise.all(pids.map(cpuMicros));
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${url}: ${result.non2xx} non-2xx answers and ${result.errors} errors under load`);
  const used = after.reduce((sum, v, i) => sum + v - (before[i] as number), 0);
  return { rps: result.requests.average, cpuUs: pids.length === 0 ? Number.NaN : used / result.requests.total, p50: result.latency.p50, p99: result.latency.p99 };
}

/** How many of `keys` callers each proxy sends to the same variant (by the x-modelfleet-variant header). */
async function compareSplits(gateway: string, nginx: string, body: string, keys: number): Promise<{ same: number; gatewayV1: number; nginxV1: number }> {
  const variantOf = async (origin: string, key: string): Promise<string> => {
    const res = await fetch(`${origin}${ROUTE}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-user-id': key }, body });
    await res.arrayBuffer();
    return res.headers.get('x-modelfleet-variant') ?? '?';
  };
  let same = 0;
  let gatewayV1 = 0;
  let nginxV1 = 0;
  for (let i = 0; i < keys; i++) {
    const key = `caller-${i}`;
    const [g, n] = await Promise.all([variantOf(gateway, key), variantOf(nginx, key)]);
    if (g === n) same++;
    if (g === 'v1') gatewayV1++;
    if (n === 'v1') nginxV1++;
  }
  return { same, gatewayV1, nginxV1 };
}

interface Round {
  readonly lat: number[];
  readonly rps: number;
  readonly cpuUs: number;
  readonly p50: number;
  readonly p99: number;
}

const median = (xs: readonly number[]): number => percentile(xs, 50);
const best = (xs: readonly number[], lowest: boolean): number => (lowest ? Math.min(...xs) : Math.max(...xs));

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (findNginx() === undefined) throw new Error('nginx is not installed: run `bash scripts/setup-nginx.sh` (as root) first');
  const built = args.upstream === 'model' || args.upstream === 'auto' ? modelServerAvailable() : false;
  if (args.upstream === 'model' && !built) throw new Error('the model server is not built: run `npm run build` first');
  const kind = args.upstream === 'auto' ? (built ? 'model' : 'onnx') : args.upstream;
  const modelDirs = ['examples/models/match-logreg-v1', 'examples/models/match-logreg-v2'].map((d) => resolve(ROOT, d));
  const example = (await readMlflowModel(modelDirs[0] as string)).inputExample;
  if (!example) throw new Error('match-logreg-v1 has no input example; the benchmark sends its first row');
  const body = JSON.stringify({ dataframe_split: { columns: example.columns, data: example.data.slice(0, 1) } });

  const dir = await mkdtemp(join(tmpdir(), 'modelfleet-bench-gateway-'));
  const children: ChildProcess[] = [];
  let nginx: NginxProcess | undefined;
  try {
    const ports = { v1: await findFreePort(), v2: await findFreePort(), gateway: await findFreePort(), nginx: await findFreePort() };
    const upstreams = [`http://127.0.0.1:${ports.v1}`, `http://127.0.0.1:${ports.v2}`];
    modelDirs.forEach((modelDir, i) => {
      const port = String(i === 0 ? ports.v1 : ports.v2);
      children.push(kind === 'model'
        ? start([join(ROOT, 'bin/modelfleet.js'), 'serve', '--model-dir', modelDir, '--port', port])
        : start(['--import', 'tsx', join(ROOT, 'bench/gateway/fake-model-server.ts'), port, ...(kind === 'onnx' ? [modelDir] : [])]));
    });
    await Promise.all(upstreams.map((u) => waitReady(u)));

    const table: RouteTable = {
      format: ROUTE_TABLE_FORMAT,
      routes: [{ route: ROUTE, model: MODEL, stickyHeader: 'x-user-id', variants: [
        { id: 'v1', deployName: `${MODEL}-v1`, upstream: upstreams[0] as string, predictPath: '/invocations', weight: 80, shadow: false, source: 'path:examples/models/match-logreg-v1' },
        { id: 'v2', deployName: `${MODEL}-v2`, upstream: upstreams[1] as string, predictPath: '/invocations', weight: 20, shadow: false, source: 'path:examples/models/match-logreg-v2' },
      ] }],
    };
    const routes = join(dir, 'routes.json');
    await writeRouteTable(routes, table);
    children.push(start(['--import', 'tsx', join(ROOT, 'cli/entry.ts'), 'gateway', '--routes', routes, '--port', String(ports.gateway), '--no-watch']));
    const gateway = `http://127.0.0.1:${ports.gateway}`;
    await waitReady(gateway);
    const nginxOrigin = `http://127.0.0.1:${ports.nginx}`;
    nginx = await startNginx(renderNginxConfig(table, { listen: `127.0.0.1:${ports.nginx}`, workerProcesses: 1, source: 'the bench route table' }), { dir: join(dir, 'nginx'), readyUrl: `${nginxOrigin}/healthz` });
    const gatewayPid = children[2]?.pid as number;
    const nginxPids = await nginx.pids();

    const nginxVersion = spawnSync(findNginx() as string, ['-v'], { encoding: 'utf8' }).stderr.trim();
    console.log(`upstreams: ${UPSTREAM_LABEL[kind]}, match-logreg-v1 (80%) and -v2 (20%), sticky on x-user-id`);
    console.log(`node ${process.version}, ${nginxVersion} (1 worker), ${cpus().length} CPUs, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
    console.log(`${args.rounds} rounds of: ${Math.ceil(args.latencyRequests / args.rounds)} sequential requests on 1 connection (latency), then autocannon ${args.connections} connections x ${args.duration} s (req/s, CPU); direct, gateway and nginx in rotating order\n`);

    const split = await compareSplits(gateway, nginxOrigin, body, 500);
    console.log(`A/B: 500 callers, the same variant through both for ${split.same}; v1 share ${(split.gatewayV1 / 5).toFixed(1)}% (gateway), ${(split.nginxV1 / 5).toFixed(1)}% (nginx)\n`);

    const targets = {
      direct: { origin: upstreams[0] as string, path: '/invocations', pids: [] as number[] },
      gateway: { origin: gateway, path: ROUTE, pids: [gatewayPid] },
      nginx: { origin: nginxOrigin, path: ROUTE, pids: nginxPids },
    };
    type Target = keyof typeof targets;
    const order: Target[] = ['direct', 'gateway', 'nginx'];
    // Warm every path (JIT, kept-alive connections, onnxruntime's first runs).
    for (const name of order) await autocannon({ url: `${targets[name].origin}${targets[name].path}`, method: 'POST', body, headers: { 'content-type': 'application/json' }, connections: args.connections, duration: 1 });

    const rounds: Record<Target, Round[]> = { direct: [], gateway: [], nginx: [] };
    const perRound = Math.ceil(args.latencyRequests / args.rounds);
    for (let r = 0; r < args.rounds; r++) {
      const rotated = order.map((_, i) => order[(i + r) % order.length] as Target);
      for (const name of rotated) {
        const t = targets[name];
        const lat = await measureLatency(t.origin, t.path, body, perRound);
        const load = await measureThroughput(`${t.origin}${t.path}`, body, args, t.pids);
        rounds[name].push({ lat, ...load });
      }
      const g = rounds.gateway[r] as Round;
      const n = rounds.nginx[r] as Round;
      const d = rounds.direct[r] as Round;
      console.log(`round ${r + 1}: req/s direct ${d.rps.toFixed(0)}, gateway ${g.rps.toFixed(0)}, nginx ${n.rps.toFixed(0)}; `
        + `CPU µs/request gateway ${g.cpuUs.toFixed(1)}, nginx ${n.cpuUs.toFixed(1)} (${(g.cpuUs / n.cpuUs).toFixed(2)}x); `
        + `p50 (1 conn) direct ${median(d.lat).toFixed(3)}, gateway ${median(g.lat).toFixed(3)}, nginx ${median(n.lat).toFixed(3)} ms`);
    }

    const all = (name: Target): number[] => rounds[name].flatMap((x) => x.lat);
    const directP50 = median(all('direct'));
    const row = (name: Target): string[] => {
      const rs = rounds[name];
      const lat = all(name);
      const cpu = rs.map((x) => x.cpuUs);
      const rps = rs.map((x) => x.rps);
      return [
        name,
        name === 'direct' ? '—' : `${best(cpu, true).toFixed(1)} (${median(cpu).toFixed(1)})`,
        `${best(rps, false).toFixed(0)} (${median(rps).toFixed(0)})`,
        median(lat).toFixed(3),
        percentile(lat, 99).toFixed(3),
        name === 'direct' ? '—' : `+${((median(lat) - directP50) * 1000).toFixed(0)}`,
        `${median(rs.map((x) => x.p50))} / ${median(rs.map((x) => x.p99))}`,
      ];
    };
    const header = ['', 'CPU µs/req best (median)', 'req/s best (median)', 'p50 ms', 'p99 ms', 'added p50 µs', `p50/p99 ms @${args.connections}`];
    const widths = [9, 26, 22, 9, 9, 14, 16];
    console.log('');
    for (const cells of [header, row('direct'), row('gateway'), row('nginx')]) console.log(cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join(''));
    const gCpu = best(rounds.gateway.map((x) => x.cpuUs), true);
    const nCpu = best(rounds.nginx.map((x) => x.cpuUs), true);
    const addedUs = (median(all('gateway')) - directP50) * 1000;
    console.log(`\ngateway CPU per request / nginx's (best rounds): ${(gCpu / nCpu).toFixed(2)}x (goal <= 1.5x): ${gCpu / nCpu <= 1.5 ? 'met' : 'NOT met'}`);
    console.log(`gateway added p50 vs direct: ${addedUs.toFixed(0)} µs (goal <= 100 µs): ${addedUs <= 100 ? 'met' : 'NOT met'}; nginx added ${((median(all('nginx')) - directP50) * 1000).toFixed(0)} µs`);
    const log = (await readFile(join(dir, 'nginx', 'error.log'), 'utf8').catch(() => '')).trim();
    if (log !== '') console.log(`\nnginx error.log:\n${log.split('\n').slice(-5).join('\n')}`);
  } finally {
    await nginx?.stop();
    for (const child of children) child.kill('SIGTERM');
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
