import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { load } from 'js-yaml';
import type { PlannedFile } from '../../generator/render/render-model-folder.js';
import { gitlabCiSchemaErrors } from '../support/gitlab-ci-schema.js';
import { parsePinnedVersions } from '../../pipeline/mlflow-registry/pinned-aliases.js';
import { CASES_DIR, planAll } from './support/generator-fixtures.js';

function listFiles(dir: string, prefix = ''): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    const rel = prefix ? `${prefix}/${name}` : name;
    return statSync(full).isDirectory() ? listFiles(full, rel) : [rel];
  });
}

/** Writes the golden set afresh (UPDATE_GOLDEN=1), then checks it byte for byte. */
function checkGolden(scenario: string, planned: readonly PlannedFile[]): void {
  const goldenDir = path.join(CASES_DIR, scenario, 'golden');
  if (process.env.UPDATE_GOLDEN === '1') {
    rmSync(goldenDir, { recursive: true, force: true });
    for (const file of planned) {
      const target = path.join(goldenDir, file.path);
      mkdirSync(path.dirname(target), { recursive: true });
      writeFileSync(target, file.content);
    }
  }

  it('writes exactly the golden set of files', () => {
    expect(planned.map((f) => f.path).sort()).toEqual(listFiles(goldenDir).sort());
  });

  it.each(planned.map((f) => [f.path, f.content] as const))('matches golden/%s byte for byte', (file, content) => {
    const golden = readFileSync(path.join(goldenDir, file), 'utf8');
    expect(content, `${scenario}/golden/${file} is stale: refresh with UPDATE_GOLDEN=1 npx vitest run test/generator/golden.test.ts`).toBe(golden);
  });
}

const readCase = (scenario: string) => readFileSync(path.join(CASES_DIR, scenario, 'models.yaml'), 'utf8');

describe('golden files for three models (one A/B test)', () => {
  const plan = planAll(readCase('three-models'));
  // Every planned file is golden: the pipeline, plan.json and each model folder (model.json, Dockerfile).
  checkGolden('three-models', plan.files);

  it('renders every template of image-templates/model/ into each model folder', () => {
    const templates = readdirSync(path.join(CASES_DIR, '..', '..', 'image-templates', 'model')).filter((n) => n.endsWith('.hbs'));
    for (const deployName of ['match-2-taxi-v1', 'match-2-taxi-v2', 'match-7-moto', 'match-9-van']) {
      for (const template of templates) {
        const file = plan.files.find((f) => f.path === `models/${deployName}/${template.replace(/\.hbs$/, '')}`);
        expect(file, `${deployName}/${template}`).toBeDefined();
        expect(file?.content).toContain(deployName);
      }
    }
  });
});

// The runner scenarios differ only in the jobs, so only the pipeline and plan.json are golden there.
describe.each(['docker-dind', 'shell-runner'])('golden child pipeline for the %s runner setup', (scenario) => {
  const plan = planAll(readCase(scenario));
  checkGolden(
    scenario,
    plan.files.filter((f) => !f.path.startsWith('models/')),
  );
});

/** The child pipeline and plan.json of a scenario against its golden files, and the pipeline against GitLab's CI schema. */
function checkGoldenPipeline(scenario: string, plan: ReturnType<typeof planAll>): void {
  const pipelineFiles = plan.files.filter((f) => !f.path.startsWith('models/'));
  checkGolden(scenario, pipelineFiles);

  it('passes GitLab\'s CI schema', () => {
    const child = load(pipelineFiles.find((f) => f.path === 'child-pipeline.yml')?.content ?? '');
    expect(gitlabCiSchemaErrors(child)).toEqual([]);
  });
}

describe('golden child pipeline for two environments with a manual production gate', () => {
  checkGoldenPipeline('two-environments', planAll(readCase('two-environments')));
});

describe('golden child pipeline for a production gate that opens on a canary check of staging', () => {
  checkGoldenPipeline('canary-gate', planAll(readCase('canary-gate')));
});

/** A stand-in content digest per image key: the golden file shows where each one goes, not how it is computed (test/generator/image-pins.test.ts). */
const contentFor = (key: string) => `sha256:${createHash('sha256').update(key).digest('hex')}`;

describe('golden child pipeline for models read by MLflow alias, with the versions and image contents generate pinned', () => {
  checkGoldenPipeline('alias-pins', planAll(readCase('alias-pins'), {
    aliasVersions: parsePinnedVersions('match_probability_2_taxi@champion=12 match_probability_7_moto@champion=5'),
    imageContents: new Map(['match-2-taxi', 'match-7-moto', 'match-7-moto@champion', 'match-9-van'].map((key) => [key, contentFor(key)])),
  }));
});
