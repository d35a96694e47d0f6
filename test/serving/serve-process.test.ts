import { spawn, type ChildProcess } from 'node:child_process';
import { Agent, request } from 'node:http';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { EXAMPLES_DIR } from './support/reference-models.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const children: ChildProcess[] = [];

afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

interface Started {
  readonly child: ChildProcess;
  readonly url: string;
  readonly logs: Record<string, unknown>[];
  readonly exited: Promise<number | null>;
}

/** `modelfleet serve` as a real process (through tsx, so no build is needed), on a free port. */
async function startServe(model: string, env: Record<string, string> = {}): Promise<Started> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'cli/entry.ts', 'serve', '--model-dir', `${EXAMPLES_DIR}/${model}`, '--port', '0'], {
    cwd: ROOT,
    env: { ...process.env, ORT_DISABLE_TELEMETRY: '1', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const logs: Record<string, unknown>[] = [];
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => { stderr += d.toString(); });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    let listening: string | undefined;
    const timer = setTimeout(() => reject(new Error(`serve did not get ready in 30 s; stderr: ${stderr}`)), 30_000);
    void exited.then((code) => reject(new Error(`serve exited with ${code} before it was ready; stderr: ${stderr}`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        const entry = JSON.parse(line) as Record<string, unknown>;
        logs.push(entry);
        if (typeof entry.url === 'string') listening = entry.url;
        if (typeof entry.msg === 'string' && entry.msg.startsWith('ready') && listening) {
          clearTimeout(timer);
          resolve(listening);
        }
      } catch {
        logs.push({ text: line });
      }
    });
  });
  return { child, url, logs, exited };
}

const MLP_BODY = JSON.stringify({ inputs: [Array.from({ length: 64 }, (_, i) => i / 64)] });

function post(agent: Agent, url: string, body: string): Promise<{ status: number; text: string; connection: string } | { error: string }> {
  return new Promise((resolve) => {
    const req = request(`${url}/invocations`, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => { text += chunk; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text, connection: String(res.headers.connection ?? '') }));
      res.on('error', (err: NodeJS.ErrnoException) => resolve({ error: err.code ?? err.message }));
    });
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ error: err.code ?? err.message }));
    req.end(body);
  });
}

describe('modelfleet serve (real process)', () => {
  it('logs JSON lines, answers on its port, and names the model in every response', async () => {
    const { url, logs, child, exited } = await startServe('match-logreg-v2', { SHUTDOWN_DELAY_MS: '0' });
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const res = await fetch(`${url}/invocations`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ dataframe_split: { columns: ['route_decision_score', 'farevalueinminor', 'offer_throughput_rate', 'eventtime', 'backtoback'], data: [[0.5, 100, 0.5, 1_700_000_000, 1]] } }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-model-name')).toBe('match-logreg-v2');
    expect(logs.every((l) => typeof l.level === 'string' && typeof l.time === 'string')).toBe(true);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it('exits 1 with a clear error when the model directory is not an MLflow model', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'cli/entry.ts', 'serve', '--model-dir', ROOT, '--port', '0'], {
      cwd: ROOT, env: { ...process.env, ORT_DISABLE_TELEMETRY: '1' }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => { stderr += d.toString(); });
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(1);
    expect(stderr).toMatch(/error\[MLMODEL_INVALID\]: .* is not an MLflow model directory: it has no MLmodel file/);
  });

  it('finishes every request in flight or sent during the drain when SIGTERM arrives under load, then exits 0', async () => {
    // Like a Kubernetes Service: traffic keeps coming for a while after SIGTERM (until the endpoint is
    // removed), which SHUTDOWN_DELAY_MS covers; then it stops, and the server closes and exits.
    const drainMs = 600;
    const { url, child, exited, logs } = await startServe('match-mlp', { SHUTDOWN_DELAY_MS: String(drainMs) });
    const agent = new Agent({ keepAlive: true, maxSockets: 16 });
    const outcomes: ({ status: number; text: string; connection: string } | { error: string })[] = [];
    let sending = true;
    const worker = async () => {
      while (sending) outcomes.push(await post(agent, url, MLP_BODY));
    };
    const workers = Array.from({ length: 16 }, worker);
    await new Promise((r) => setTimeout(r, 500));
    const beforeSigterm = outcomes.length;
    child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, drainMs / 2));
    sending = false;
    await Promise.all(workers);
    const afterSigterm = outcomes.length - beforeSigterm;
    const code = await exited;
    agent.destroy();

    expect(code).toBe(0);
    expect(beforeSigterm).toBeGreaterThan(50);
    expect(afterSigterm).toBeGreaterThan(16);
    expect(outcomes.filter((o) => 'error' in o)).toEqual([]);
    for (const o of outcomes) {
      if (!('status' in o)) continue;
      expect(o.status).toBe(200);
      expect((JSON.parse(o.text) as { predictions: number[] }).predictions).toHaveLength(1);
    }
    // Responses during the drain ask clients to reconnect (elsewhere, behind a Service).
    expect(outcomes.slice(-8).every((o) => 'connection' in o && o.connection === 'close')).toBe(true);
    expect(logs.some((l) => l.msg === 'shut down cleanly')).toBe(true);
    // The listener is gone: a new connection is refused, not accepted and dropped.
    expect(await post(new Agent(), url, MLP_BODY)).toEqual({ error: 'ECONNREFUSED' });
  });
});
