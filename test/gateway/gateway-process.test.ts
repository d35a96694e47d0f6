import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { writeRouteTable } from '../../serving/gateway/route-table-file.js';
import { buildRouteTable } from '../../serving/gateway/route-table.js';
import { startFakeUpstream, type FakeUpstream } from './fake-upstream.js';
import { fleet, model, variant } from './fleet-fixture.js';

const REPO = resolve(import.meta.dirname, '../..');

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

/** Starts `modelfleet gateway` from the sources and resolves with its URL once it logged that it listens. */
function startGatewayProcess(args: readonly string[], env: NodeJS.ProcessEnv): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(REPO, 'cli/entry.ts'), 'gateway', ...args], {
    cwd: REPO,
    env: { ...process.env, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  cleanup.push(async () => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  return new Promise((resolveStart, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`the gateway did not start within 20 s:\n${out}`)), 20_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /"url":"(http:\/\/[^"]+)"/.exec(out);
      if (match?.[1]) {
        clearTimeout(timer);
        resolveStart({ child, url: match[1] });
      }
    });
    child.stderr?.on('data', (chunk: Buffer) => void (out += chunk.toString()));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the gateway exited with ${code}:\n${out}`));
    });
  });
}

function tableFor(up: FakeUpstream, routes: readonly string[]) {
  return buildRouteTable(fleet(routes.map((route, i) => model(`m${i}`, route, [variant(`m${i}`, 100)]))), () => up.url);
}

describe('modelfleet gateway as a process', () => {
  it('serves the routes file named by GATEWAY_ROUTES and PORT, reloads it on SIGHUP, and exits 0 on SIGTERM', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'modelfleet-gw-proc-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const up = await startFakeUpstream('m');
    cleanup.push(() => up.kill());
    const file = join(dir, 'routes.json');
    await writeRouteTable(file, tableFor(up, ['/score/one']));
    const { child, url } = await startGatewayProcess(['--no-watch'], { GATEWAY_ROUTES: file, PORT: '0', HOST: '127.0.0.1', UPSTREAM_TIMEOUT_MS: '2000' });

    const first = await fetch(`${url}/score/one`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
    expect(first.status).toBe(200);
    expect(first.headers.get('x-modelfleet-model')).toBe('m0');
    expect((await fetch(`${url}/score/two`, { method: 'POST', body: '{}' })).status).toBe(404);

    await writeRouteTable(file, tableFor(up, ['/score/one', '/score/two']));
    child.kill('SIGHUP');
    await expect.poll(async () => (await fetch(`${url}/score/two`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } })).status, { timeout: 5_000 }).toBe(200);

    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
