import { spawn, spawnSync } from 'node:child_process';
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { findFreePort } from '../../lib/free-port.js';
import { compileForBench } from './compile-for-bench.js';
import { bodyFor } from './request-body.js';

/**
 * Where `modelfleet serve` spends its CPU on one request size: runs the compiled server under
 * `node --cpu-prof`, fires a fixed number of requests at it (127.0.0.1), stops it, and prints the
 * functions with the most self time. The .cpuprofile stays in build/bench/profile/ for Chrome DevTools.
 *
 *   npx tsx bench/serving/profile.ts [--server model|reference] [--model match-logreg-v2] [--rows 100] [--requests 20000] [--warmup 10000]
 *                                    [--connections 32] [--top 30]
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const { values: args } = parseArgs({
  options: {
    model: { type: 'string', default: 'match-logreg-v2' },
    rows: { type: 'string', default: '100' },
    requests: { type: 'string', default: '20000' },
    /** Requests fired before the profiled window (JIT warm-up), not counted. */
    warmup: { type: 'string', default: '10000' },
    connections: { type: 'string', default: '32' },
    top: { type: 'string', default: '30' },
    'server-cpu': { type: 'string', default: '0' },
    /** `model` (modelfleet serve) or `reference` (bench/serving/reference-server.ts), to compare the two. */
    server: { type: 'string', default: 'model' },
  },
});

const modelDir = join(ROOT, 'examples', 'models', String(args.model));
const compiled = compileForBench(ROOT, ['cli/entry.ts', 'bench/serving/reference-server.ts']);
const serverArgs = args.server === 'reference'
  ? [compiled('bench/serving/reference-server.ts'), join(modelDir, 'model.onnx')]
  : [compiled('cli/entry.ts'), 'serve', '--model-dir', modelDir];
const outDir = join(ROOT, 'build', 'bench', 'profile');
await rm(outDir, { recursive: true, force: true });
await mkdir(outDir, { recursive: true });

const port = await findFreePort();
const hasTaskset = spawnSync('taskset', ['-V'], { stdio: 'ignore' }).status === 0;
const command = [process.execPath, '--cpu-prof', `--cpu-prof-dir=${outDir}`, ...serverArgs, ...(args.server === 'reference' ? [String(port)] : [])];
const [file, ...argv] = hasTaskset ? ['taskset', '-c', String(args['server-cpu']), ...command] : command;
const child = spawn(file as string, argv, {
  cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'],
  env: { ...process.env, ORT_DISABLE_TELEMETRY: '1', LOG_LEVEL: 'warn', PORT: String(port), SHUTDOWN_DELAY_MS: '0' },
});
const url = `http://127.0.0.1:${port}`;
const deadline = Date.now() + 60_000;
while (!(await fetch(`${url}/readyz`).then((r) => r.ok, () => false))) {
  if (Date.now() > deadline || child.exitCode !== null) throw new Error('the server did not become ready');
  await new Promise((r) => setTimeout(r, 200));
}

const body = await bodyFor(modelDir, Number(args.rows));
const fire = (amount: number) => autocannon({
  url: `${url}/invocations`, method: 'POST', connections: Number(args.connections), amount, timeout: 30,
  headers: { 'content-type': 'application/json' }, body,
});
if (Number(args.warmup) > 0) await fire(Number(args.warmup));
// V8 stamps samples with the monotonic clock that hrtime reads, so the load's window can be cut out of
// the profile: start-up, the warm-up requests (JIT compilation) and shutdown are left out.
const loadStart = Number(process.hrtime.bigint() / 1000n);
const result = await fire(Number(args.requests));
const loadEnd = Number(process.hrtime.bigint() / 1000n);
child.kill('SIGTERM');
await new Promise((resolve) => child.once('exit', resolve));
console.log(`${result.requests.total} requests of ${args.rows} row(s), ${result.non2xx} non-2xx`);

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly hitCount?: number;
}
const [profileFile] = (await readdir(outDir)).filter((f) => f.endsWith('.cpuprofile'));
if (!profileFile) throw new Error(`no .cpuprofile in ${outDir}`);
const profile = JSON.parse(await readFile(join(outDir, profileFile), 'utf8')) as { nodes: ProfileNode[]; startTime: number; samples: number[]; timeDeltas: number[] };
const microsById = new Map<number, number>();
let at = profile.startTime;
profile.samples.forEach((id, i) => {
  const delta = profile.timeDeltas[i] ?? 0;
  at += delta;
  if (at >= loadStart && at <= loadEnd) microsById.set(id, (microsById.get(id) ?? 0) + delta);
});
const selfByFunction = new Map<string, number>();
for (const node of profile.nodes) {
  const { functionName, url: where, lineNumber } = node.callFrame;
  const file = where.startsWith('file:') ? relative(ROOT, fileURLToPath(where)) : where;
  const place = file ? `${file}:${lineNumber + 1}` : '(native)';
  const key = `${functionName || '(anonymous)'}  ${place}`;
  selfByFunction.set(key, (selfByFunction.get(key) ?? 0) + (microsById.get(node.id) ?? 0));
}
const total = [...selfByFunction.values()].reduce((a, b) => a + b, 0);
const idle = selfByFunction.get('(idle)  (native)') ?? 0;
const busy = total - idle;
console.log(`busy ${(busy / 1000).toFixed(0)} ms (${(busy / result.requests.total).toFixed(1)} µs a request), idle ${(idle / 1000).toFixed(0)} ms; self time, share of busy:`);
for (const [name, micros] of [...selfByFunction].filter(([k]) => !k.startsWith('(idle)')).sort((a, b) => b[1] - a[1]).slice(0, Number(args.top))) {
  console.log(`${((100 * micros) / busy).toFixed(1).padStart(5)}%  ${(micros / result.requests.total).toFixed(2).padStart(7)} µs/req  ${name}`);
}
console.log(`profile: ${join(outDir, profileFile)}`);
