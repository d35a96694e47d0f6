import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CI_SETTINGS } from '../../generator/fleet/resolve-ci.js';
import { DEFAULT_ENVIRONMENTS } from '../../generator/fleet/resolve-environments.js';
import { buildChildPipelines, type ChildPipelineFile } from '../../generator/pipeline/build-child-pipeline.js';
import { selectAll } from '../../generator/plan/select-changes.js';
import { interpolateComponent } from '../init/component.js';
import { artifactDependenciesOf, jobNamesOf, type PipelineObject } from '../support/gitlab-artifact-rule.js';
import { CASES_DIR, manyModelsYaml, planAll } from './support/generator-fixtures.js';

/**
 * GitLab refuses to start a job whose artifact dependencies expired (test/support/gitlab-artifact-rule.ts).
 * Retrying a model's deploy or pressing an environment's Rollback happens weeks later, so no
 * generated job may depend on another job's artifacts, in any layout the generator produces.
 */

const options = { fleetFile: 'models.yaml', outDir: 'build', maxJobs: 500, regenerateArgs: ['--all'], ci: DEFAULT_CI_SETTINGS, environments: DEFAULT_ENVIRONMENTS };
const names = (n: number, prefix = 'model') => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

/** `file: job → [jobs whose artifacts it needs]` for every job that needs any. */
function dependentJobs(files: readonly ChildPipelineFile[]): string[] {
  return files.flatMap((f) =>
    jobNamesOf(f.pipeline).flatMap((job) => {
      const deps = artifactDependenciesOf(f.pipeline, job);
      return deps.length > 0 ? [`${f.file}: ${job} → ${deps.join(', ')}`] : [];
    }),
  );
}

const readCase = (scenario: string) => readFileSync(path.join(CASES_DIR, scenario, 'models.yaml'), 'utf8');

const layouts: [string, () => readonly ChildPipelineFile[]][] = [
  ['three models (golden scenario)', () => planAll(readCase('three-models')).pipelines],
  ['Docker-in-Docker runners', () => planAll(readCase('docker-dind')).pipelines],
  ['shell runners', () => planAll(readCase('shell-runner')).pipelines],
  ['a fleet split into a dispatcher and parts, with removals', () => {
    const text = manyModelsYaml(40);
    return planAll(text, { maxJobs: 30, changes: (fleet) => ({ ...selectAll(fleet, 'test'), removed: ['gone-a', 'gone-b'] }) }).pipelines;
  }],
  ['1,000 models at the default job limit', () => planAll(manyModelsYaml(1000)).pipelines],
  ['60 deploys: the gateway falls back to stage order', () => buildChildPipelines({ deployNames: names(60), removed: ['gone'], gatewayChanged: true, summary: '' }, options)],
  ['only the gateway changed', () => buildChildPipelines({ deployNames: [], removed: [], gatewayChanged: true, summary: '' }, options)],
  ['only removals', () => buildChildPipelines({ deployNames: [], removed: ['gone'], gatewayChanged: true, summary: '' }, options)],
  ['nothing changed', () => buildChildPipelines({ deployNames: [], removed: [], gatewayChanged: false, summary: '' }, options)],
];

describe('no job asks for another job\'s artifacts', () => {
  it.each(layouts)('in the child pipelines for %s', (_, files) => {
    const pipelines = files();
    expect(pipelines.length).toBeGreaterThan(0);
    expect(dependentJobs(pipelines)).toEqual([]);
  });

  it('in the parent pipeline (the CI/CD component) either', () => {
    const parent = interpolateComponent() as PipelineObject;
    expect(jobNamesOf(parent)).toEqual(['create-model-folders', 'models']);
    for (const job of jobNamesOf(parent)) expect(artifactDependenciesOf(parent, job), job).toEqual([]);
  });

  it('and the check catches a job that would (it can fail)', () => {
    const [file] = buildChildPipelines({ deployNames: ['m'], removed: [], gatewayChanged: true, summary: '' }, options);
    const pipeline = { ...(file?.pipeline ?? {}) };
    pipeline['m:deploy:staging'] = { ...(pipeline['m:deploy:staging'] as object), needs: ['m:test'] };
    pipeline['gateway:deploy:staging'] = { ...(pipeline['gateway:deploy:staging'] as object), needs: undefined };
    expect(dependentJobs([{ file: 'child-pipeline.yml', pipeline, yaml: '' }])).toEqual([
      'child-pipeline.yml: m:deploy:staging → m:test',
      'child-pipeline.yml: gateway:deploy:staging → m:test, m:deploy:staging',
    ]);
  });
});
