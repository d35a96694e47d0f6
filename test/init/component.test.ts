import { describe, expect, it } from 'vitest';
import { defaultCiImage } from '../../lib/ci-image.js';
import { packageVersion } from '../../lib/package-root.js';
import { CLI_FALLBACK } from '../../generator/pipeline/build-child-pipeline.js';
import { gitlabCiSchemaErrors } from '../support/gitlab-ci-schema.js';
import { interpolateComponent, readComponent } from './component.js';

interface Job {
  image?: string;
  tags?: string[];
  before_script?: string[];
  script?: string[];
}

describe('the GitLab CI/CD component (templates/fleet.yml)', () => {
  it('declares the inputs a team sets, each with a default and a description', () => {
    const { inputs } = readComponent().header.spec;
    expect(Object.keys(inputs).sort()).toEqual(['ci-image', 'environment', 'max-jobs', 'models-file', 'runner-tags']);
    for (const [name, spec] of Object.entries(inputs)) {
      expect(spec.default, name).toBeDefined();
      expect((spec as { description?: string }).description, name).toMatch(/\w/);
    }
    expect(inputs['runner-tags']?.type).toBe('array');
    expect(inputs['max-jobs']?.type).toBe('number');
  });

  it('defaults to the CI image of this very version, so an upgrade moves both together', () => {
    expect(readComponent().header.spec.inputs['ci-image']?.default).toBe(defaultCiImage(packageVersion()));
  });

  it('is valid GitLab CI, its spec header and its pipeline with default and with given inputs', () => {
    expect(gitlabCiSchemaErrors(readComponent().header)).toEqual([]);
    expect(gitlabCiSchemaErrors(interpolateComponent())).toEqual([]);
    expect(gitlabCiSchemaErrors(interpolateComponent({ 'runner-tags': ['docker', 'linux'], 'max-jobs': 200, 'models-file': 'fleet/models.yaml' }))).toEqual([]);
  });

  it('passes every input on: file, job limit and runner tags to generate, image and environment to every job; generate pins the images', () => {
    const pipeline = interpolateComponent({ 'runner-tags': ['docker'], 'max-jobs': 200, 'models-file': 'fleet/models.yaml', environment: 'staging', 'ci-image': 'registry.example.com/ci:1' }) as Record<string, Job & { variables?: Record<string, string> }>;
    const job = pipeline['create-model-folders'] as Job;
    expect(job.script).toEqual([
      "modelfleet validate --file 'fleet/models.yaml'",
      'modelfleet generate --file \'fleet/models.yaml\' --out build --max-jobs 200 --runner-tags \'["docker"]\' --pin-images',
    ]);
    expect(pipeline.variables).toMatchObject({ MODELFLEET_CI_IMAGE: 'registry.example.com/ci:1', MODELFLEET_ENV: 'staging' });
    expect(job.image).toBe('$MODELFLEET_CI_IMAGE');
  });

  it('finds the CLI the way the generated jobs do', () => {
    const job = (interpolateComponent() as Record<string, Job>)['create-model-folders'] as Job;
    expect(job.before_script).toEqual([CLI_FALLBACK]);
  });
});
