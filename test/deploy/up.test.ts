import { spawn } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repo = resolve(import.meta.dirname, '../..');
let dir: string;
let env: NodeJS.ProcessEnv;

function run(command: string, args: readonly string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<{ code: number; output: string }> {
  return new Promise((done) => {
    const child = spawn(command, args, { cwd: dir, env: { ...env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    child.once('close', (code) => done({ code: code ?? 1, output }));
  });
}

const cli = (...args: string[]) => run(process.execPath, [join(repo, 'bin', 'modelfleet.js'), ...args]);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'modelfleet-up-'));
  await cp(join(repo, 'examples'), join(dir, 'examples'), { recursive: true });
  // A one-model fleet with a short, lenient load test: the point here is the orchestration.
  await writeFile(join(dir, 'models.yaml'), [
    'defaults:',
    '  endpoint: probability',
    '  loadtest: { durationSeconds: 1, connections: 1, rowsPerRequest: 1, p99BudgetMs: 5000 }',
    'models:',
    '  - name: match-7-moto-baseline',
    '    parameters: [7, MOTO, baseline]',
    '    path: examples/models/match-logreg-v1',
    '',
  ].join('\n'));
  env = { ...process.env, MODELFLEET_STATE_DIR: join(dir, '.modelfleet'), MODELFLEET_GATEWAY_PORT: '0' };
});

afterAll(async () => {
  await cli('down');
  await rm(dir, { recursive: true, force: true });
});

describe('modelfleet up', () => {
  it('plays the whole pipeline with progress lines and prints a curl that works after it returned', async () => {
    const up = await cli('up', '--runtime', 'process');

    expect(up.code, up.output).toBe(0);
    for (const step of ['generate', 'loadtest match-7-moto-baseline', 'deploy match-7-moto-baseline', 'gateway']) expect(up.output).toContain(`] ${step}`);
    expect(up.output).toMatch(/\/probability\/7\/MOTO\/baseline {2}\[match-7-moto-baseline\] {2}match-7-moto-baseline 100% → http:\/\/127\.0\.0\.1:\d+/);
    const curl = /^ {2}(curl -s -X POST .*)$/m.exec(up.output)?.[1];
    expect(curl).toBeDefined();
    // The command as printed, through a shell, after `up` has exited.
    const answer = await run('sh', ['-c', curl ?? 'false']);
    expect(answer.code).toBe(0);
    expect((JSON.parse(answer.output) as { predictions: number[] }).predictions.length).toBeGreaterThan(0);
  }, 180_000);

  it('stops everything it started with `modelfleet down`', async () => {
    // Its own `up` (quick when the test above already ran: `up` skips what is current).
    const up = await cli('up', '--runtime', 'process');
    expect(up.code, up.output).toBe(0);
    const state = JSON.parse(await readFile(join(dir, '.modelfleet', 'local', 'state.json'), 'utf8')) as { gateway: { port: number }; models: Record<string, { port: number }> };
    const down = await cli('down');
    expect(down.code, down.output).toBe(0);
    expect(down.output).toMatch(/stopped the gateway/);
    for (const port of [state.gateway.port, ...Object.values(state.models).map((m) => m.port)]) {
      await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
    }
    // What ran stays on record: the history outlives `down`.
    const [name] = Object.keys(state.models);
    const history = await cli('history', '--model', name ?? '', '--target', 'local');
    expect(history.code, history.output).toBe(0);
    expect(history.output).toMatch(/^1\s/m);
  }, 180_000);

  it('refuses a MODELFLEET_GATEWAY_PORT that is not a port before doing any work', async () => {
    const refused = await run(process.execPath, [join(repo, 'bin', 'modelfleet.js'), 'up', '--runtime', 'process'], { MODELFLEET_GATEWAY_PORT: '80OO' });
    expect(refused.code).toBe(1);
    expect(refused.output).toMatch(/^error\[GATEWAY_OPTION_INVALID\]: MODELFLEET_GATEWAY_PORT must be a port number from 0 to 65535 \(0 picks any free port\), got "80OO"$/m);
    // Nothing ran: no progress line, no stack.
    expect(refused.output).not.toMatch(/\] generate/);
    expect(refused.output).not.toMatch(/\n\s+at /);
  });
});
