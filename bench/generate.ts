/**
 * How long `modelfleet generate` takes for a 1,000-model fleet, and how big the child
 * pipeline gets. Run: `npx tsx bench/generate.ts [models]` (default 1000). Prints numbers only;
 * the target is ≤ 2 s wall for the CLI run.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { runGenerate } from '../generator/run-generate.js';

const count = Number(process.argv[2] ?? 1000);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function fleetYaml(n: number): string {
  const lines = ['defaults:', '  endpoint: probability', '  loadtest: { durationSeconds: 5, connections: 4 }', 'models:'];
  const vehicles = ['TAXI', 'MOTO', 'VAN', 'PREMIUM', 'BUS'];
  for (let i = 0; i < n; i++) {
    const city = Math.floor(i / vehicles.length) + 1;
    const vehicle = vehicles[i % vehicles.length] ?? 'TAXI';
    lines.push(`  - name: match-${city}-${vehicle.toLowerCase()}`, `    parameters: [${city}, ${vehicle}, trafficaware]`, `    path: models/m${i % 7}`);
  }
  return `${lines.join('\n')}\n`;
}

const dir = mkdtempSync(path.join(tmpdir(), 'modelfleet-bench-'));
try {
  writeFileSync(path.join(dir, 'models.yaml'), fleetYaml(count));
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
  const fmt = (xs: number[]) => `median ${median(xs).toFixed(0)} ms (runs: ${xs.map((x) => x.toFixed(0)).join(', ')})`;

  // Fresh output folder each run: what the parent job in CI does on a clean checkout.
  const cold: number[] = [];
  let last;
  for (let run = 0; run < 3; run++) {
    const start = performance.now();
    last = await runGenerate({ file: 'models.yaml', out: `cold-${run}`, all: true, cwd: dir, env: {} });
    cold.push(performance.now() - start);
  }
  // Same folder again: unchanged files are not rewritten (a local re-run).
  const warm: number[] = [];
  for (let run = 0; run < 3; run++) {
    const start = performance.now();
    await runGenerate({ file: 'models.yaml', out: 'cold-0', all: true, cwd: dir, env: {} });
    warm.push(performance.now() - start);
  }
  // The floor this machine sets: plain writes of as many small files into fresh folders.
  const files = last?.plan.files ?? [];
  const floorStart = performance.now();
  for (const file of files) {
    const target = path.join(dir, 'floor', ...file.path.split('/'));
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target, file.content);
  }
  const floor = performance.now() - floorStart;
  const yamlBytes = last?.plan.pipelines.map((p) => Buffer.byteLength(p.yaml)) ?? [];
  console.log(`load average at start: ${loadavg().map((l) => l.toFixed(1)).join(' ')} (on a busy machine the numbers vary several-fold)`);
  console.log(`models: ${count}, files per run: ${last?.plan.files.length ?? 0}, child pipelines: ${yamlBytes.length}`);
  console.log(`in-process generate --all, fresh output: ${fmt(cold)}`);
  console.log(`in-process generate --all, output up to date: ${fmt(warm)}`);
  console.log(`machine floor: plain writeFileSync of the same ${files.length} files: ${floor.toFixed(0)} ms`);
  console.log(`child YAML: total ${(yamlBytes.reduce((a, b) => a + b, 0) / 1024).toFixed(0)} KiB in ${yamlBytes.length} file(s), largest ${(Math.max(...yamlBytes) / 1024).toFixed(0)} KiB`);

  const cli = path.join(root, 'bin', 'modelfleet.js');
  if (existsSync(path.join(root, 'dist', 'cli', 'commands', 'generate.js'))) {
    const walls: number[] = [];
    for (let run = 0; run < 3; run++) {
      const start = performance.now();
      const result = spawnSync(process.execPath, [cli, 'generate', '--all', '--out', `cli-${run}`], { cwd: dir, encoding: 'utf8' });
      walls.push(performance.now() - start);
      if (result.status !== 0) throw new Error(`modelfleet generate failed: ${result.stderr}`);
    }
    console.log(`CLI wall time, fresh output (node bin/modelfleet.js generate --all, incl. start-up): ${fmt(walls)}`);
  } else {
    console.log('CLI wall time: skipped (run `npm run build` first)');
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
