/**
 * `generate` computes the content of every image the jobs build and writes it on them
 * (MODELFLEET_IMAGE_CONTENT): build and test refuse to give other content, and a deploy job, or a
 * re-run of it after the CI image or the registry moved on, deploys exactly the pinned image.
 */
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runGenerate } from '../../generator/run-generate.js';
import { findDeployable } from '../../generator/fleet/find-deployable.js';
import { deployableInEnvironment, findEnvironment } from '../../generator/fleet/find-environment.js';
import { loadFleet } from '../../generator/fleet/load-fleet.js';
import { UserError } from '../../lib/errors/user-error.js';
import { contentTagOf } from '../../pipeline/build/image-tag.js';
import { prepareImageInputs } from '../../pipeline/build/prepare-image-inputs.js';
import { PINNED_IMAGES_VARIABLE, formatPinnedImages, imageKeyOf, parsePinnedImages } from '../../pipeline/build/pinned-images.js';
import { resolveDeployImage } from '../../pipeline/deploy/resolve-deploy-inputs.js';
import { PINNED_VERSIONS_VARIABLE } from '../../pipeline/mlflow-registry/pinned-aliases.js';
import { EXAMPLE_MODELS } from '../build/make-test-fleet.js';
import { startFakeMlflowRegistry, type FakeMlflowRegistry } from '../support/fake-mlflow-registry.js';
import { ALIAS_FLEET, childPipeline, fleetFromText, jobNames, useTempDir, variableOnJobs, type CiJob } from './support/generator-fixtures.js';

/** The alias fleet with the van served from a model folder. */
const FLEET = ALIAS_FLEET.replace('mlflow: { name: match_van, version: 2 }', 'path: models/van');

describe('image contents pinned by generate', () => {
  const tempDir = useTempDir('modelfleet-image-pins-');
  let registry: FakeMlflowRegistry;

  beforeAll(async () => {
    registry = await startFakeMlflowRegistry({
      models: {
        match_taxi: { versions: { '3': { dir: path.join(EXAMPLE_MODELS, 'match-logreg-v1') }, '4': { dir: path.join(EXAMPLE_MODELS, 'match-logreg-v2') } }, aliases: { champion: '4' } },
        match_moto: { versions: { '1': { dir: path.join(EXAMPLE_MODELS, 'match-logreg-v1') }, '7': { dir: path.join(EXAMPLE_MODELS, 'match-logreg-v2') } }, aliases: { champion: '7' } },
      },
    });
  });
  afterAll(async () => {
    await registry?.close();
  });

  const fleetDir = (text = FLEET): string => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'models.yaml'), text);
    cpSync(path.join(EXAMPLE_MODELS, 'match-logreg-v1'), path.join(dir, 'models', 'van'), { recursive: true });
    return dir;
  };
  const env = () => ({ MLFLOW_TRACKING_URI: registry.url });
  const generate = (dir: string, extra: { maxJobs?: number; mlflowVersions?: string; imageContents?: string; env?: Record<string, string> } = {}) =>
    runGenerate({ file: 'models.yaml', out: 'build', all: true, cwd: dir, env: extra.env ?? env(), pinImages: true, ...extra });
  const pinsOn = (pipeline: Record<string, CiJob>) => variableOnJobs(pipeline, PINNED_IMAGES_VARIABLE);
  /** What a job's own `prepareImageInputs` computes with that job's variables. */
  const builtBy = async (dir: string, job: CiJob, deployName: string, environment?: string) => {
    const fleet = loadFleet(path.join(dir, 'models.yaml'));
    const own = findDeployable(fleet, deployName);
    const deployable = environment ? deployableInEnvironment(own, findEnvironment(fleet, environment)) : own;
    const inputs = await prepareImageInputs({ fleet, deployable, outDir: path.join(dir, 'build'), env: { ...env(), ...job.variables } });
    return { key: imageKeyOf(deployable), content: `sha256:${inputs.contentDigest}`, tag: inputs.tag };
  };

  it('writes on each job the content of the images it builds or deploys, as its own build computes it', async () => {
    const dir = fleetDir();
    const result = await generate(dir);
    const pipeline = childPipeline(dir);
    const pins = pinsOn(pipeline);
    expect(Object.keys(pins).sort()).toEqual([
      'match-2-taxi:build', 'match-2-taxi:deploy:production', 'match-2-taxi:deploy:staging', 'match-2-taxi:test',
      'match-7-moto:build', 'match-7-moto:deploy:production', 'match-7-moto:deploy:staging', 'match-7-moto:test',
      'match-9-van:build', 'match-9-van:deploy:production', 'match-9-van:deploy:staging', 'match-9-van:test',
    ]);
    const build = (job: string) => pipeline[job] as CiJob;
    // Generate left no downloaded model behind in the output folder.
    expect(existsSync(path.join(dir, 'build', 'models', 'match-2-taxi', 'model'))).toBe(false);

    const taxi = await builtBy(dir, build('match-2-taxi:build'), 'match-2-taxi');
    const motoOwn = await builtBy(dir, build('match-7-moto:deploy:staging'), 'match-7-moto', 'staging');
    const motoProduction = await builtBy(dir, build('match-7-moto:deploy:production'), 'match-7-moto', 'production');
    const van = await builtBy(dir, build('match-9-van:build'), 'match-9-van');
    expect(motoProduction.key).toBe('match-7-moto@champion');
    expect(motoOwn.content).not.toBe(motoProduction.content);

    expect(pins).toMatchObject({
      'match-2-taxi:build': `match-2-taxi=${taxi.content}`,
      'match-2-taxi:deploy:production': `match-2-taxi=${taxi.content}`,
      // Build and test make production's pinned version too; each deploy names only what it deploys.
      'match-7-moto:build': `match-7-moto=${motoOwn.content} match-7-moto@champion=${motoProduction.content}`,
      'match-7-moto:test': `match-7-moto=${motoOwn.content} match-7-moto@champion=${motoProduction.content}`,
      'match-7-moto:deploy:staging': `match-7-moto=${motoOwn.content}`,
      'match-7-moto:deploy:production': `match-7-moto@champion=${motoProduction.content}`,
      'match-9-van:deploy:staging': `match-9-van=${van.content}`,
    });
    expect(result.imagePins.map((pin) => pin.key).sort()).toEqual(['match-2-taxi', 'match-7-moto', 'match-7-moto@champion', 'match-9-van']);
  });

  it('refuses a build whose content moved on since generate, and deploys the pinned image without downloading or recomputing', async () => {
    const dir = fleetDir();
    await generate(dir);
    const job = childPipeline(dir)['match-7-moto:deploy:production'] as CiJob;
    const fleet = loadFleet(path.join(dir, 'models.yaml'));
    const deployable = deployableInEnvironment(findDeployable(fleet, 'match-7-moto'), findEnvironment(fleet, 'production'));
    const pinned = (job.variables?.[PINNED_IMAGES_VARIABLE] ?? '').split('=')[1] ?? '';
    // Later: another base image (as a moved CI image would give), and the alias moved on.
    const later = { ...job.variables, MODELFLEET_BASE_IMAGE: 'node:22-bookworm-slim' };

    const refused = await prepareImageInputs({ fleet, deployable, outDir: path.join(dir, 'build'), env: { ...env(), ...later } }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(UserError);
    expect(refused).toMatchObject({ code: 'IMAGE_CONTENT_CHANGED' });
    expect((refused as UserError).message).toContain(`\`generate\` pinned ${pinned.slice(0, 19)}… for match-7-moto@champion (MODELFLEET_IMAGE_CONTENT)`);
    expect((refused as UserError).hint).toContain('re-run its deploy job');

    // The deploy job needs neither the registry nor the model: no MLFLOW_TRACKING_URI at all.
    const before = registry.requests.length;
    const lines: string[] = [];
    const image = await resolveDeployImage(fleet, deployable, { file: path.join(dir, 'models.yaml'), out: path.join(dir, 'build'), deployName: 'match-7-moto', environment: 'production' }, later, (line) => lines.push(line));
    expect(registry.requests.length).toBe(before);
    expect(image).toMatchObject({ tag: contentTagOf('match-7-moto', pinned), content: pinned.replace('sha256:', ''), modelVersion: '7' });
    expect(lines.join('\n')).toContain(`deploying ${contentTagOf('match-7-moto', pinned)}, the image \`generate\` pinned for this pipeline`);

    // A model folder's version comes from the folder itself, still without computing the image.
    const vanJob = childPipeline(dir)['match-9-van:deploy:production'] as CiJob;
    const van = await resolveDeployImage(fleet, findDeployable(fleet, 'match-9-van'), { file: path.join(dir, 'models.yaml'), out: path.join(dir, 'build'), deployName: 'match-9-van' }, { ...vanJob.variables, MODELFLEET_BASE_IMAGE: 'node:22-bookworm-slim' });
    expect(van.modelVersion).toMatch(/^local-[0-9a-f]{12}$/);
    expect(`match-9-van=sha256:${van.content}`).toBe(vanJob.variables?.[PINNED_IMAGES_VARIABLE]);
  });

  it('hands the contents to a dispatcher, whose part files then download nothing and pin the same contents', async () => {
    const dir = fleetDir();
    const first = await generate(dir, { maxJobs: 10 });
    const dispatcher = childPipeline(dir);
    const script = dispatcher['generate-parts']?.script?.join('\n') ?? '';
    const contents = formatPinnedImages(first.imagePins);
    expect(script).toContain(`--image-contents '${contents}'`);
    const parts = jobNames(dispatcher).filter((job) => /^models-\d+-of-\d+$/.test(job));
    expect(parts.length).toBeGreaterThan(1);
    const partPins = () => Object.assign({}, ...parts.map((_, i) => pinsOn(childPipeline(dir, `child-pipeline-${i + 1}.yml`)))) as Record<string, string>;
    const fromParent = partPins();

    const before = registry.requests.length;
    // What generate-parts runs: the parent's arguments, no --pin-images.
    const again = await runGenerate({ file: 'models.yaml', out: 'build', all: true, cwd: dir, env: env(), maxJobs: 10, mlflowVersions: 'match_moto@champion=7 match_taxi@champion=4', imageContents: contents });
    expect(registry.requests.length).toBe(before);
    expect(partPins()).toEqual(fromParent);
    expect(formatPinnedImages(again.imagePins)).toBe(contents);
  });

  it('fails naming the entry when an image cannot be computed, and writes nothing', async () => {
    const dir = fleetDir(FLEET.replace('mlflow: { name: match_moto, version: 1 }', 'mlflow: { name: match_moto, version: 9 }'));
    const err = await generate(dir).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'MLFLOW_VERSION_NOT_FOUND' });
    expect((err as UserError).message).toContain('model "match-7-moto"');
    expect((err as UserError).hint).toContain('pins it on them (MODELFLEET_IMAGE_CONTENT); it wrote nothing');
    expect(existsSync(path.join(dir, 'build'))).toBe(false);
  });

  it('refuses a MODELFLEET_IMAGE_CONTENT set where generate runs: it would outrank every job\'s own', async () => {
    const dir = fleetDir();
    await expect(generate(dir, { env: { ...env(), [PINNED_IMAGES_VARIABLE]: `match-9-van=sha256:${'0'.repeat(64)}` } })).rejects.toMatchObject({ code: 'GENERATE_PINS_PRESET' });
  });

  it('leaves every job without the variable when told not to pin', async () => {
    const dir = fleetDir();
    const result = await runGenerate({ file: 'models.yaml', out: 'build', all: true, cwd: dir, env: env() });
    expect(result.imagePins).toEqual([]);
    expect(readFileSync(path.join(dir, 'build', 'child-pipeline.yml'), 'utf8')).not.toContain(PINNED_IMAGES_VARIABLE);
    expect(readFileSync(path.join(dir, 'build', 'child-pipeline.yml'), 'utf8')).toContain(PINNED_VERSIONS_VARIABLE);
  });
});

describe('MODELFLEET_IMAGE_CONTENT, the variable', () => {
  it('keys an image by the deploy name, and an environment\'s own registry pin by its version or alias', () => {
    const fleet = fleetFromText(FLEET.replace('production: { alias: champion }', 'production: { version: 7 }\n      staging: { alias: canary }'));
    const moto = findDeployable(fleet, 'match-7-moto');
    const inEnv = (name: string) => imageKeyOf(deployableInEnvironment(moto, findEnvironment(fleet, name)));
    expect([imageKeyOf(moto), inEnv('production'), inEnv('staging')]).toEqual(['match-7-moto', 'match-7-moto@7', 'match-7-moto@canary']);
    const taxi = findDeployable(fleet, 'match-2-taxi');
    expect(imageKeyOf(deployableInEnvironment(taxi, findEnvironment(fleet, 'production')))).toBe('match-2-taxi');
  });

  const key = fc.tuple(
    fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,20}$/),
    fc.option(fc.oneof(fc.stringMatching(/^[1-9][0-9]{0,4}$/), fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_-]{0,10}$/)), { nil: undefined }),
  ).map(([name, pin]) => (pin === undefined ? name : `${name}@${pin}`));
  const content = fc.stringMatching(/^[0-9a-f]{64}$/).map((hex) => `sha256:${hex}`);

  it('reads back exactly what it wrote, whatever the order of the pins', () => {
    fc.assert(fc.property(fc.uniqueArray(fc.record({ key, content }), { selector: (pin) => pin.key, maxLength: 8 }), (pins) => {
      const text = formatPinnedImages(pins);
      expect(parsePinnedImages(text)).toEqual(new Map(pins.map((pin) => [pin.key, pin.content])));
      expect(formatPinnedImages([...pins].reverse())).toBe(text);
    }));
  });

  it('refuses entries that are not <deployName>[@pin]=sha256:<hex>, and one key with two contents', () => {
    const hex = 'a'.repeat(64);
    for (const bad of [`Match=sha256:${hex}`, `m=sha256:${hex.slice(1)}`, `m=${hex}`, `m@=sha256:${hex}`, 'm', `m=sha256:${hex.toUpperCase()}`, `../m=sha256:${hex}`]) {
      expect(() => parsePinnedImages(bad), bad).toThrow(UserError);
    }
    expect(() => parsePinnedImages(`m=sha256:${hex} m=sha256:${'b'.repeat(64)}`)).toThrow(/pins m to both/);
    fc.assert(fc.property(fc.string({ maxLength: 80 }), (text) => {
      try {
        parsePinnedImages(text);
      } catch (err) {
        expect(err).toMatchObject({ code: 'IMAGE_PINS_INVALID' });
      }
    }));
  });
});
