import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const REPO_ROOT = resolve(import.meta.dirname, '..', '..');

/**
 * `npm install` as a team runs it, from the npm cache when it can. onnxruntime-node's install
 * script would download GPU libraries; modelfleet serves on CPU, so it is skipped (README,
 * "Use it in your repository").
 */
const NPM_ENV = { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip', npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' };

/** `npm pack` of this checkout (already compiled by the test setup) into a fresh folder; the tarball's path. */
export async function packModelfleet(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'modelfleet-pack-'));
  await run('npm', ['pack', '--ignore-scripts', '--pack-destination', dir], { cwd: REPO_ROOT, env: NPM_ENV, maxBuffer: 16 * 1024 * 1024 });
  const [tarball] = (await readdir(dir)).filter((name) => name.endsWith('.tgz'));
  if (!tarball) throw new Error(`npm pack wrote no tarball into ${dir}`);
  return join(dir, tarball);
}

/** Installs the tarball as a devDependency of the repository in `repo` (creating its package.json when missing). */
export async function installAsDevDependency(repo: string, tarball: string): Promise<void> {
  if (!existsSync(join(repo, 'package.json'))) await writeFile(join(repo, 'package.json'), `${JSON.stringify({ name: 'team-models', private: true }, null, 2)}\n`);
  await run('npm', ['install', '--save-dev', '--prefer-offline', tarball], { cwd: repo, env: NPM_ENV, timeout: 300_000, maxBuffer: 64 * 1024 * 1024 });
}

/**
 * The packed CLI installed once per content into a folder of its own, as a CI image or a
 * runner holds it; returns the folder to put on PATH (`.../node_modules/.bin`). Installed
 * beside and renamed into place, so concurrent callers never see half an install.
 */
export async function installedCliBin(tarball: string): Promise<string> {
  const digest = createHash('sha256').update(await readFile(tarball)).digest('hex').slice(0, 16);
  const dir = join(tmpdir(), `modelfleet-cli-${digest}`);
  const bin = join(dir, 'node_modules', '.bin');
  if (existsSync(join(bin, 'modelfleet'))) return bin;
  const staging = `${dir}.tmp-${process.pid}`;
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { recursive: true });
  await installAsDevDependency(staging, tarball);
  try {
    await rename(staging, dir);
  } catch (err) {
    await rm(staging, { recursive: true, force: true });
    if (!existsSync(join(bin, 'modelfleet'))) throw err;
  }
  return bin;
}
