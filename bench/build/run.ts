/**
 * Model image builds: time of one build with a warm base image, image size, and the size of
 * each model's unique (last) layer against the model's own size (target: ≤ model + 64 KiB).
 *   npx tsx bench/build/run.ts [--models match-logreg-v1,match-mlp,...] [--keep]
 * Needs a Docker engine (`bash scripts/setup-docker.sh`), the base image
 * (`bash scripts/build-base-image.sh`; MODELFLEET_BASE_IMAGE overrides) and `npm run build`.
 * Every run uses fresh model names, so each build really builds; the images are removed at
 * the end unless --keep.
 */
import { existsSync } from 'node:fs';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { findDeployable } from '../../generator/fleet/find-deployable.js';
import { loadFleet } from '../../generator/fleet/load-fleet.js';
import { buildModelImage, type BuildModelImageResult } from '../../pipeline/build/build-model-image.js';
import { openDocker } from '../../pipeline/seams/docker.js';

const ROOT = resolve(import.meta.dirname, '../..');
const KIB = 1024;
const MIB = 1024 * 1024;

const { values } = parseArgs({
  options: {
    models: { type: 'string', default: 'match-logreg-v1,match-logreg-v2,match-trees,match-mlp' },
    keep: { type: 'boolean', default: false },
  },
});

const docker = await openDocker();
if (!docker) throw new Error('no Docker engine answers: run `bash scripts/setup-docker.sh`');
const baseImage = process.env.MODELFLEET_BASE_IMAGE ?? 'modelfleet/base:local';
if (!(await docker.imageExists(baseImage))) throw new Error(`${baseImage} does not exist: run \`bash scripts/build-base-image.sh\``);
if (!existsSync(join(ROOT, 'dist/cli/entry.js'))) throw new Error('dist/ is missing: run `npm run build`');

const examples = (values.models ?? '').split(',').filter(Boolean);
const dir = await mkdtemp(join(tmpdir(), 'modelfleet-bench-build-'));
const run = Date.now().toString(36);
const names = examples.map((example) => `bench-${example}-${run}`.slice(0, 63));
const lines = ['defaults: { endpoint: probability }', 'models:'];
for (const [i, example] of examples.entries()) {
  await cp(join(ROOT, 'examples/models', example), join(dir, 'models', example), { recursive: true });
  lines.push(`  - { name: ${names[i]}, parameters: [${i + 1}, BENCH], path: models/${example} }`);
}
await writeFile(join(dir, 'models.yaml'), `${lines.join('\n')}\n`);
const fleet = loadFleet(join(dir, 'models.yaml'));
const outDir = join(dir, 'build');

const results: Array<{ example: string; result: BuildModelImageResult }> = [];
for (const [i, example] of examples.entries()) {
  const deployable = findDeployable(fleet, names[i] ?? '');
  const result = await buildModelImage({ fleet, deployable, outDir, docker, baseImage });
  results.push({ example, result });
}
const first = results[0];
const skipped = first
  ? await buildModelImage({ fleet, deployable: findDeployable(fleet, names[0] ?? ''), outDir, docker, baseImage })
  : undefined;

const baseSize = (await docker.inspectImage(baseImage))?.sizeBytes ?? 0;
const history = first ? await docker.imageHistory(first.result.record.tag) : [];
const layerSizes = history.filter((entry) => entry.sizeBytes > 0).map((entry) => entry.sizeBytes);

console.log(`\nmodel image builds (base ${baseImage}, ${(baseSize / MIB).toFixed(1)} MiB)`);
console.log(`shared layers: base ${fmt(layerSizes[0])}, production dependencies ${fmt(layerSizes[1])}, serving code ${fmt(layerSizes[2])}`);
console.log('');
console.log(pad('model', 18) + pad('build s', 9) + pad('image MiB', 11) + pad('model bytes', 13) + pad('last layer', 12) + pad('overhead', 10) + 'shares all but last');
for (const { example, result } of results) {
  const record = result.record;
  const modelBytes = record.model?.sizeBytes ?? 0;
  const layer = record.modelLayerBytes ?? Number.NaN;
  const sharesAllButLast = JSON.stringify(record.layers.slice(0, -1)) === JSON.stringify(first?.result.record.layers.slice(0, -1));
  console.log(
    pad(example, 18) +
      pad((result.durationMs / 1000).toFixed(1), 9) +
      pad(((record.sizeBytes ?? 0) / MIB).toFixed(1), 11) +
      pad(String(modelBytes), 13) +
      pad(String(layer), 12) +
      pad(`${layer - modelBytes} B`, 10) +
      (sharesAllButLast ? 'yes' : 'NO'),
  );
}
const worst = Math.max(...results.map(({ result }) => (result.record.modelLayerBytes ?? Infinity) - (result.record.model?.sizeBytes ?? 0)));
console.log(`\nunique layer overhead over model size: at most ${worst} B (target ≤ ${64 * KIB} B: ${worst <= 64 * KIB ? 'met' : 'MISSED'})`);
if (skipped) console.log(`re-run with the tag present (build skipped): ${(skipped.durationMs / 1000).toFixed(2)} s`);
console.log('the first build also copies the shared dependency and code layers unless an earlier run left them in the builder cache');

if (!values.keep) for (const { result } of results) await docker.removeImage(result.record.tag);
await rm(dir, { recursive: true, force: true });

function pad(text: string, width: number): string {
  return text.padEnd(width);
}

function fmt(bytes: number | undefined): string {
  return bytes === undefined ? '?' : `${(bytes / MIB).toFixed(1)} MiB`;
}
