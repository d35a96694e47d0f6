import { spawn, type ChildProcess } from 'node:child_process';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { findFreePort } from '../../../lib/free-port.js';
import { createRandom } from '../../../lib/seeded-random.js';
import { readMlflowModel } from '../../../serving/mlflow/read-mlflow-model.js';
import { createModelServer } from '../../../serving/model-server/create-model-server.js';
import { loadOnnxRuntime } from '../../../serving/model-server/onnx-runtime.js';
import { LocalRedisServer } from '../../../pipeline/bulk/local-redis.js';

export const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
export const MODEL = 'match-7-moto-baseline';
export const EXAMPLE = 'match-logreg-v1';
export const COLUMNS = ['route_decision_score', 'farevalueinminor', 'offer_throughput_rate', 'eventtime', 'backtoback'] as const;

/** A temp folder with the example logistic regression and a models.yaml whose model takes bulk jobs. */
export async function makeBulkFleet(bulk: Record<string, unknown> = {}): Promise<{ dir: string; file: string; modelDir: string; cleanup(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'modelfleet-bulk-'));
  const modelDir = join(dir, 'examples', 'models', EXAMPLE);
  await cp(join(ROOT, 'examples', 'models', EXAMPLE), modelDir, { recursive: true });
  const file = join(dir, 'models.yaml');
  await writeFile(file, [
    'defaults:',
    '  endpoint: probability',
    'models:',
    `  - name: ${MODEL}`,
    '    parameters: [7, MOTO, baseline]',
    `    path: examples/models/${EXAMPLE}`,
    `    bulk: ${JSON.stringify(bulk)}`,
    '',
  ].join('\n'));
  return { dir, file, modelDir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Deterministic rows of the example's five double columns, as CSV lines. */
export function csvRows(count: number, seed = 7): string[] {
  const random = createRandom(seed);
  return Array.from({ length: count }, (_, i) => [
    random.float(0, 1).toFixed(6), random.int(100, 5000), random.float(0, 1).toFixed(4), 1_767_225_600 + i, random.int(0, 1),
  ].join(','));
}

export async function writeCsv(file: string, rows: readonly string[]): Promise<void> {
  await writeFile(file, `${COLUMNS.join(',')}\n${rows.join('\n')}\n`);
}

/** What `serve` answers for each row, asked in requests of `perRequest` rows (in-process, the real onnxruntime). */
export async function servePredictions(modelDir: string, rows: readonly string[], perRequest = 1000): Promise<unknown[]> {
  const model = await readMlflowModel(modelDir);
  const server = createModelServer({ model, config: { modelName: MODEL, modelVersion: undefined, batching: { enabled: true, maxBatchSize: 64, maxWaitMs: 5 }, maxRowsPerRequest: perRequest, maxBodyBytes: 16 * 1024 * 1024 } });
  await server.warmUp(await loadOnnxRuntime(model, { intraOpThreads: 1 }));
  const out: unknown[] = [];
  try {
    for (let i = 0; i < rows.length; i += perRequest) {
      const response = await server.app.inject({ method: 'POST', url: '/invocations', headers: { 'content-type': 'text/csv' }, payload: `${COLUMNS.join(',')}\n${rows.slice(i, i + perRequest).join('\n')}\n` });
      if (response.statusCode !== 200) throw new Error(`serve answered ${response.statusCode}: ${response.body}`);
      out.push(...(JSON.parse(response.body) as { predictions: unknown[] }).predictions);
    }
  } finally {
    await server.close();
  }
  return out;
}

export async function startRedis(dir: string, appendFsync: 'always' | 'everysec' = 'everysec'): Promise<LocalRedisServer> {
  return LocalRedisServer.start({ dir: join(dir, 'redis'), appendFsync });
}

export interface WorkerProcess {
  readonly child: ChildProcess;
  readonly url: string;
  readonly output: () => string;
  readonly exited: Promise<number | null>;
}

/** `modelfleet worker` as a real process (the compiled CLI), on a free port for /healthz and /metrics. */
export async function startWorkerProcess(modelDir: string, redisUrl: string, env: Record<string, string> = {}): Promise<WorkerProcess> {
  return spawnWorker(['--model-dir', modelDir, '--redis', redisUrl], env, 'the worker');
}

/** `modelfleet worker <args>` (bulk or `--stream`), waited for until /readyz answers 200; `label` names it in failures. */
export async function spawnWorker(args: readonly string[], env: Readonly<Record<string, string>>, label: string): Promise<WorkerProcess> {
  const port = await findFreePort();
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'modelfleet.js'), 'worker', ...args, '--port', String(port)], {
    env: { ...process.env, ORT_DISABLE_TELEMETRY: '1', MODEL_NAME: MODEL, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => { output += d.toString(); });
  child.stderr?.on('data', (d: Buffer) => { output += d.toString(); });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${label} exited with ${child.exitCode}: ${output}`);
    const ready = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(1_000) }).then((r) => r.ok, () => false);
    if (ready) break;
    if (Date.now() > deadline) throw new Error(`${label} did not get ready in 30 s: ${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { child, url, output: () => output, exited };
}

/** Runs the compiled CLI to the end; its exit code and output. */
export function runCli(args: readonly string[], options: { cwd?: string; env?: Record<string, string> } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'modelfleet.js'), ...args], { cwd: options.cwd ?? ROOT, env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr?.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The job id `bulk submit` printed first. */
export function jobIdFrom(stdout: string): string {
  const match = /^job (\S+):/m.exec(stdout);
  if (!match?.[1]) throw new Error(`no job id in: ${stdout}`);
  return match[1];
}

export async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string, intervalMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export function redisClient(url: string): Redis {
  const redis = new Redis(url, { maxRetriesPerRequest: null, retryStrategy: (times) => Math.min(100 * times, 1000) });
  redis.on('error', () => undefined);
  return redis;
}

/** Parses a `row,prediction,error` results file. */
export function parseResultsCsv(text: string): Array<{ row: number; prediction: string; error: string }> {
  const lines = text.trimEnd().split('\n');
  if (lines[0] !== 'row,prediction,error') throw new Error(`unexpected header ${lines[0]}`);
  return lines.slice(1).map((line) => {
    const first = line.indexOf(',');
    const second = line.indexOf(',', first + 1);
    const error = line.slice(second + 1);
    return { row: Number(line.slice(0, first)), prediction: line.slice(first + 1, second), error: error.startsWith('"') ? error.slice(1, -1).replaceAll('""', '"') : error };
  });
}
