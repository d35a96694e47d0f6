/**
 * Per-job overhead of modelfleet in CI: time from a job's start to modelfleet's first line of
 * output (`models.yaml is valid`), in a repository set up by `modelfleet init`.
 *   before: modelfleet as a devDependency; the job runs `npm ci`, then `npx --no-install modelfleet`,
 *           once with this machine's warm npm cache and once with an empty one (a fresh runner's)
 *   after:  the CLI from the CI image (`modelfleet build --ci-image`)
 * Each job runs under gitlab-ci-local (one job per run, --shell-isolation: a fresh copy of the
 * committed files, no node_modules); lines are stamped as they arrive from its output.
 *   node --import tsx bench/ci-overhead/run.ts [--rounds 3] [--skip-empty-cache] [--keep]
 * Needs Node 22 for gitlab-ci-local (`npm run setup`), a Docker engine, the CI image
 * (`MODELFLEET_BASE_IMAGE=modelfleet/base:local node bin/modelfleet.js build --ci-image`), the
 * compiled CLI (`npm run build`; `npm pack` ships dist/) and the npm registry (npm ci).
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { localCiImage } from '../../lib/ci-image.js';
import { repo as packageRoot, requireTools, run } from '../../test/e2e/gitlab-ci-local.js';
import { createConsumerRepo, type MeasuredJob } from './consumer-repo.js';
import { probeDockerExecutor } from './docker-executor-probe.js';
import { timeJob, type JobTiming } from './time-job.js';

const MIB = 1024 * 1024;
const FIRST_OUTPUT = /models\.yaml is valid/;

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    'skip-empty-cache': { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
  },
});
const rounds = Number(values.rounds);
if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds must be a whole number ≥ 1, got ${values.rounds}`);

requireTools();
if (!existsSync(join(packageRoot, 'dist/cli/entry.js'))) throw new Error('dist/ is missing: run `npm run build` (npm pack ships the compiled CLI)');
const ciImage = localCiImage();
const inspected = await run('docker', ['image', 'inspect', '--format', '{{.Size}}', ciImage], { cwd: packageRoot, timeoutMs: 30_000 });
if (inspected.code !== 0) throw new Error(`${ciImage} is not on the Docker engine (${inspected.output.trim()}): run \`MODELFLEET_BASE_IMAGE=modelfleet/base:local node bin/modelfleet.js build --ci-image\``);
const ciImageBytes = Number(inspected.output.trim());

const npmCommand = 'npx --no-install modelfleet validate';
const dockerCommand = `docker run --rm --network host -u "$(id -u)" -v "$PWD:/work" -w /work ${ciImage} modelfleet validate`;
const jobs = {
  npm: { name: 'cli-from-npm', script: ['npm ci --no-audit --no-fund', npmCommand] },
  dockerRun: { name: 'cli-from-image', script: [dockerCommand] },
  dockerExecutor: { name: 'cli-in-image', image: ciImage, script: ['modelfleet validate'] },
} satisfies Record<string, MeasuredJob>;

const root = await mkdtemp(join(tmpdir(), 'modelfleet-bench-ci-overhead-'));
try {
  console.log(`setting up a consumer repository in ${root} (npm pack, modelfleet init, npm install once for the lock file)`);
  const consumer = await createConsumerRepo(root, Object.values(jobs));
  const shellFlags = ['--force-shell-executor', '--shell-isolation', '--no-color'];

  const probe = await probeDockerExecutor({ cwd: consumer.dir, job: jobs.dockerExecutor.name, image: ciImage, firstOutput: FIRST_OUTPUT });
  const after = probe.usable
    ? { label: `CI image, Docker executor (image: ${ciImage})`, job: jobs.dockerExecutor.name, flags: ['--no-color', '--network', 'host'], command: 'modelfleet validate' }
    : { label: `CI image, \`docker run ${ciImage}\` from the shell executor`, job: jobs.dockerRun.name, flags: shellFlags, command: dockerCommand };

  const variants = [
    { label: 'npm ci + npx, warm npm cache', job: jobs.npm.name, flags: shellFlags, command: npmCommand, emptyCache: false },
    ...(values['skip-empty-cache'] ? [] : [{ label: 'npm ci + npx, empty npm cache', job: jobs.npm.name, flags: shellFlags, command: npmCommand, emptyCache: true }]),
    { ...after, emptyCache: false },
  ];
  const labelWidth = Math.max(...variants.map((v) => v.label.length));
  const downloadedMib: number[] = [];
  const loadBefore = await loadAverage();
  const timings = new Map<string, JobTiming[]>(variants.map((v) => [v.label, []]));
  // Rounds interleave the variants, so a burst of load from elsewhere on the machine spreads over all of them.
  for (let round = 1; round <= rounds; round++) {
    for (const variant of variants) {
      await rm(join(consumer.dir, '.gitlab-ci-local', 'builds', variant.job), { recursive: true, force: true });
      const cache = variant.emptyCache ? join(root, `npm-cache-${round}`) : undefined;
      if (cache) await mkdir(cache);
      const timing = await timeJob({
        cwd: consumer.dir,
        job: variant.job,
        flags: variant.flags,
        command: variant.command,
        firstOutput: FIRST_OUTPUT,
        timeoutMs: 1_200_000,
        ...(cache ? { env: { npm_config_cache: cache } } : {}),
      });
      if (cache) {
        // Proof the job used the empty cache: it downloaded every package into it.
        downloadedMib.push(Number((await run('du', ['-sm', cache], { cwd: root, timeoutMs: 120_000 })).output.split('\t')[0]));
        await rm(cache, { recursive: true, force: true });
      }
      timings.get(variant.label)?.push(timing);
      console.log(`round ${round}  ${variant.label.padEnd(labelWidth)} ${seconds(timing.totalMs).padStart(7)} s`);
    }
  }

  const loadAfter = await loadAverage();
  const npmCache = (await run('npm', ['config', 'get', 'cache'], { cwd: root, timeoutMs: 30_000 })).output.trim().split('\n').pop() ?? '';
  const cacheSize = (await run('du', ['-sm', npmCache], { cwd: root, timeoutMs: 120_000 })).output.split('\t')[0];
  console.log(`\nper-job overhead: job start → modelfleet's first line ("models.yaml is valid"), gitlab-ci-local ${rounds} round(s), median [min–max] in seconds`);
  console.log(`modelfleet ${(consumer.tarballBytes / 1024).toFixed(0)} KiB tarball, ${consumer.lockedPackages} packages in the lock file; ${ciImage} ${(ciImageBytes / MIB).toFixed(0)} MiB; warm npm cache: ${npmCache} (${cacheSize} MiB)`);
  if (downloadedMib.length > 0) console.log(`empty-cache jobs downloaded ${downloadedMib.join(', ')} MiB into their npm cache`);
  console.log(`load average (1 min) on this machine's ${availableParallelism()} cores: ${loadBefore} before, ${loadAfter} after the rounds`);
  console.log(`Docker executor: ${probe.usable ? 'usable, measured with it' : `not usable here, so the CI image runs through \`docker run\` in a shell-executor job:\n  ${probe.obstacles.join('\n  ')}`}`);
  console.log('');
  const header = ['job', 'start → command', 'command → first line', 'total'];
  const rows = variants.map((v) => {
    const ts = timings.get(v.label) ?? [];
    return [v.label, summary(ts.map((t) => t.beforeCommandMs)), summary(ts.map((t) => t.commandToOutputMs)), summary(ts.map((t) => t.totalMs))];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  for (const row of [header, ...rows]) console.log(row.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  '));
  console.log('\n"start → command": gitlab-ci-local copies the checkout (and the npm jobs run `npm ci`); "command → first line": npx or the container starting the CLI.');
} finally {
  if (values.keep) console.log(`kept ${root}`);
  else await rm(root, { recursive: true, force: true });
}

async function loadAverage(): Promise<string> {
  return (await readFile('/proc/loadavg', 'utf8')).split(' ')[0] ?? '?';
}

function summary(ms: readonly number[]): string {
  const sorted = [...ms].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
  return sorted.length > 1 ? `${seconds(median)} [${seconds(sorted[0] ?? Number.NaN)}–${seconds(sorted.at(-1) ?? Number.NaN)}]` : seconds(median);
}

function seconds(ms: number): string {
  return ms >= 10_000 ? (ms / 1000).toFixed(1) : (ms / 1000).toFixed(2);
}
