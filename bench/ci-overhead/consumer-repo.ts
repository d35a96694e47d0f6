/**
 * A repository that uses modelfleet the way another project would: `modelfleet init`'s files,
 * modelfleet as a devDependency (the packed tarball, vendored so every job copy has it) with
 * its package-lock.json, and a .gitlab-ci.yml holding only the jobs being measured. Committed,
 * without node_modules: what a runner checks out.
 */
import { copyFile, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { dump } from 'js-yaml';
import { repo as packageRoot, run } from '../../test/e2e/gitlab-ci-local.js';

export interface ConsumerRepo {
  readonly dir: string;
  readonly tarball: string;
  readonly tarballBytes: number;
  /** Packages `npm install` put in the lock file. */
  readonly lockedPackages: number;
}

export interface MeasuredJob {
  readonly name: string;
  readonly image?: string;
  readonly script: readonly string[];
}

export async function createConsumerRepo(root: string, jobs: readonly MeasuredJob[]): Promise<ConsumerRepo> {
  const packDir = join(root, 'pack');
  const dir = join(root, 'repo');
  await mkdir(packDir, { recursive: true });
  await check('npm pack', run('npm', ['pack', '--ignore-scripts', '--pack-destination', packDir], { cwd: packageRoot, timeoutMs: 120_000 }));
  const [tarballName] = (await readdir(packDir)).filter((f) => f.endsWith('.tgz'));
  if (!tarballName) throw new Error(`npm pack wrote no tarball into ${packDir}`);
  await check('modelfleet init', run(process.execPath, [join(packageRoot, 'bin', 'modelfleet.js'), 'init', '--dir', dir], { cwd: packageRoot, timeoutMs: 60_000 }));
  await mkdir(join(dir, 'vendor'));
  const tarball = join(dir, 'vendor', tarballName);
  await copyFile(join(packDir, tarballName), tarball);
  await writeFile(join(dir, 'package.json'), `${JSON.stringify({ name: 'fleet-consumer', private: true, devDependencies: { modelfleet: `file:vendor/${tarballName}` } }, null, 2)}\n`);
  // onnxruntime-node's install script fetches CUDA libraries from api.nuget.org, which this
  // machine cannot reach (and a CPU-only job does not need); modelfleet's own .npmrc says the same.
  await writeFile(join(dir, '.npmrc'), 'onnxruntime-node-install=skip\n');
  await writeFile(join(dir, '.gitlab-ci.yml'), renderPipeline(jobs));
  // Once, to write package-lock.json; the jobs then run `npm ci` against it.
  await check('npm install', run('npm', ['install', '--no-audit', '--no-fund'], { cwd: dir, timeoutMs: 900_000 }));
  await rm(join(dir, 'node_modules'), { recursive: true, force: true });
  const lock = JSON.parse(await readFile(join(dir, 'package-lock.json'), 'utf8')) as { packages?: Record<string, unknown> };
  const git = (...args: string[]) => check(`git ${args[0]}`, run('git', ['-c', 'user.email=bench@modelfleet.invalid', '-c', 'user.name=modelfleet bench', ...args], { cwd: dir, timeoutMs: 60_000 }));
  await git('init', '-q', '-b', 'main');
  await git('add', '-A');
  await git('commit', '-q', '-m', 'a fleet repository with modelfleet as a devDependency');
  const { size } = await stat(tarball);
  return { dir, tarball, tarballBytes: size, lockedPackages: Object.keys(lock.packages ?? {}).filter((k) => k !== '').length };
}

function renderPipeline(jobs: readonly MeasuredJob[]): string {
  const pipeline: Record<string, unknown> = { stages: ['test'] };
  for (const job of jobs) pipeline[job.name] = { stage: 'test', ...(job.image ? { image: job.image } : {}), script: [...job.script] };
  return `# The jobs bench/ci-overhead/run.ts times, one at a time.\n${dump(pipeline, { lineWidth: -1 })}`;
}

async function check(what: string, result: Promise<{ code: number; output: string }>): Promise<void> {
  const { code, output } = await result;
  if (code !== 0) throw new Error(`${what} failed (exit ${code}): ${output.slice(-3000)}`);
}
