/**
 * modelfleet as another team uses it: packed, installed from the tarball into a repository that
 * holds only a models.yaml and one model folder, and run there through npx. Every path must come
 * from that repository (models.yaml, model folders, build/), never from the package's folder.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseImage, requireDockerWithBaseImage } from '../support/docker.js';
import { installAsDevDependency, packModelfleet, REPO_ROOT } from '../support/installed-package.js';

const run = promisify(execFile);
const MODEL = 'team-1-taxi-baseline';
const BODY = JSON.stringify({ dataframe_split: { columns: ['route_decision_score', 'farevalueinminor', 'offer_throughput_rate', 'eventtime', 'backtoback'], data: [[0.73, 1250, 0.42, 1767225600, 1]] } });

let repo: string;
let tarball: string;
let env: NodeJS.ProcessEnv;

async function modelfleet(...args: string[]): Promise<string> {
  const { stdout, stderr } = await run('npx', ['--no-install', 'modelfleet', ...args], { cwd: repo, env, timeout: 240_000, maxBuffer: 64 * 1024 * 1024 });
  return `${stdout}${stderr}`;
}

beforeAll(async () => {
  await requireDockerWithBaseImage();
  repo = await mkdtemp(join(tmpdir(), 'modelfleet-team-repo-'));
  await cp(join(REPO_ROOT, 'examples', 'models', 'match-logreg-v1'), join(repo, 'models', 'taxi'), { recursive: true });
  await writeFile(join(repo, 'models.yaml'), `defaults:
  endpoint: probability
  loadtest: { durationSeconds: 2, connections: 2, rowsPerRequest: 1, p99BudgetMs: 1000 }
models:
  - name: ${MODEL}
    parameters: [1, TAXI, baseline]
    path: models/taxi
`);
  tarball = await packModelfleet();
  await installAsDevDependency(repo, tarball);
  // No registry: images and sizing stay on this engine, as on a laptop. The local state goes
  // into the team's repository (.modelfleet/), like everything else.
  env = { ...process.env, MODELFLEET_BASE_IMAGE: baseImage, MODELFLEET_PUSH: 'false', MODELFLEET_REGISTRY_IMAGE: '', ONNXRUNTIME_NODE_INSTALL: 'skip' };
}, 420_000);

afterAll(async () => {
  if (repo) await modelfleet('down').catch(() => undefined);
  if (repo) await rm(repo, { recursive: true, force: true });
  if (tarball) await rm(join(tarball, '..'), { recursive: true, force: true });
});

describe('the packed package installed in a team\'s repository', () => {
  it('is installed from the tarball, not linked to this checkout', async () => {
    const installed = join(repo, 'node_modules', 'modelfleet');
    expect(existsSync(join(installed, 'dist', 'cli', 'entry.js'))).toBe(true);
    expect(existsSync(join(installed, 'test'))).toBe(false);
    expect(await modelfleet('--version')).toContain(JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8')).version as string);
  });

  it('validates and generates from the repository\'s own models.yaml', async () => {
    expect(await modelfleet('validate')).toContain('models.yaml is valid: 1 model(s)');
    await modelfleet('generate');
    expect(existsSync(join(repo, 'build', 'child-pipeline.yml'))).toBe(true);
    expect(existsSync(join(repo, 'build', 'models', MODEL, 'Dockerfile'))).toBe(true);
    expect(existsSync(join(repo, 'node_modules', 'modelfleet', 'build'))).toBe(false);
  });

  it('builds, load-tests and deploys the model on this machine, and the model answers', async () => {
    expect(await modelfleet('build', '--model', MODEL)).toMatch(/built|exists/);
    await modelfleet('loadtest', '--model', MODEL);
    const sizing = JSON.parse(await readFile(join(repo, 'build', 'models', MODEL, 'sizing.json'), 'utf8')) as { memoryLimitMiB?: number; limits?: unknown };
    expect(sizing).toBeTruthy();
    const deployed = await modelfleet('deploy', '--target', 'local', '--model', MODEL);
    const url = /deployed on (http:\/\/127\.0\.0\.1:\d+)/.exec(deployed)?.[1];
    expect(url, deployed).toBeDefined();
    const response = await fetch(`${url}/invocations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: BODY, signal: AbortSignal.timeout(10_000) });
    expect(response.status).toBe(200);
    const answer = (await response.json()) as { predictions: number[] };
    expect(answer.predictions).toHaveLength(1);
    expect(existsSync(join(repo, '.modelfleet', 'local', 'state.json'))).toBe(true);
  });

  it('builds the CI image from the installed package, and the CLI in it works on the repository', async () => {
    const version = (JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
    expect(await modelfleet('build', '--ci-image')).toContain(`modelfleet/ci:${version}`);
    const uid = process.getuid?.() ?? 0;
    const inImage = (...args: string[]) =>
      run('docker', ['run', '--rm', '--network', 'host', '-u', String(uid), '-v', `${repo}:/work`, '-w', '/work', `modelfleet/ci:${version}`, ...args], { timeout: 120_000 });
    expect((await inImage('modelfleet', '--version')).stdout.trim()).toBe(version);
    expect((await inImage('modelfleet', 'validate')).stdout).toContain('models.yaml is valid: 1 model(s)');
    await rm(join(repo, 'build'), { recursive: true, force: true });
    await inImage('modelfleet', 'generate', '--all');
    expect(existsSync(join(repo, 'build', 'models', MODEL, 'model.json'))).toBe(true);
  });
});
