import { readFileSync } from 'node:fs';
import path from 'node:path';
import { load } from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { buildChildPipelines, type CiObject } from '../../generator/pipeline/build-child-pipeline.js';
import { MAX_CHILD_YAML_BYTES, MAX_NEEDS } from '../../generator/pipeline/gitlab-limits.js';
import { gitlabCiSchemaErrors } from './support/gitlab-ci-schema.js';
import { CASES_DIR, REPO_ROOT, jobNames, manyModelsYaml, planAll } from './support/generator-fixtures.js';

const options = { fleetFile: 'models.yaml', outDir: 'build', maxJobs: 500, regenerateArgs: ['--since', 'a'.repeat(40)] };
const names = (n: number) => Array.from({ length: n }, (_, i) => `model-${i}`);

function job(pipeline: CiObject, name: string): Record<string, unknown> {
  const body = pipeline[name];
  if (body === null || typeof body !== 'object') throw new Error(`no job ${name}`);
  return body as Record<string, unknown>;
}

describe('the child pipeline', () => {
  const threeModels = planAll(readFileSync(path.join(CASES_DIR, 'three-models', 'models.yaml'), 'utf8'));
  const child = threeModels.pipelines[0]?.pipeline ?? {};

  it('passes GitLab\'s CI schema, and so does the parent .gitlab-ci.yml', () => {
    expect(gitlabCiSchemaErrors(child)).toEqual([]);
    expect(gitlabCiSchemaErrors(load(readFileSync(path.join(REPO_ROOT, '.gitlab-ci.yml'), 'utf8')))).toEqual([]);
  });

  it('is rejected by the schema when a job is malformed (the check can fail)', () => {
    expect(gitlabCiSchemaErrors({ ...child, 'broken:job': { stage: 'build', script: 42, retry: { when: ['always_please'] } } })).not.toEqual([]);
  });

  it('chains build → test → deploy per deployable with needs, then the gateway', () => {
    expect(child.stages).toEqual(['build', 'test', 'deploy', 'gateway']);
    expect(job(child, 'match-2-taxi-v1:build').needs).toEqual([]);
    expect(job(child, 'match-2-taxi-v1:test').needs).toEqual([{ job: 'match-2-taxi-v1:build', artifacts: true }]);
    expect(job(child, 'match-2-taxi-v1:deploy').needs).toEqual([{ job: 'match-2-taxi-v1:test', artifacts: true }]);
    expect(job(child, 'gateway:deploy').needs).toEqual([
      'gateway:build',
      'match-2-taxi-v1:deploy',
      'match-2-taxi-v2:deploy',
      'match-7-moto:deploy',
      'match-9-van:deploy',
    ]);
  });

  it('gives deploys an environment and a resource group, and keeps them from being interrupted', () => {
    const deploy = job(child, 'match-7-moto:deploy');
    expect(deploy.environment).toEqual({ name: '$MODELFLEET_ENV/match-7-moto', action: 'start' });
    expect(deploy.resource_group).toBe('modelfleet-$MODELFLEET_ENV-match-7-moto');
    expect(deploy.interruptible).toBe(false);
    expect((child.default as Record<string, unknown>).interruptible).toBe(true);
    expect((child.default as Record<string, unknown>).retry).toEqual({
      max: 2,
      when: ['runner_system_failure', 'stuck_or_timeout_failure', 'scheduler_failure', 'api_failure'],
    });
  });

  it('publishes the load-test report as JUnit and lets every artifact expire', () => {
    const test = job(child, 'match-9-van:test');
    expect(test.artifacts).toMatchObject({ when: 'always', reports: { junit: 'build/models/match-9-van/report/junit.xml' } });
    for (const name of jobNames(child)) {
      const artifacts = job(child, name).artifacts as Record<string, unknown> | undefined;
      if (artifacts) expect(artifacts.expire_in, name).toMatch(/^\d+ (week|days)$/);
    }
  });

  it('regenerates the model folder from the commit before each model job', () => {
    for (const step of ['build', 'test', 'deploy']) {
      const script = job(child, `match-2-taxi-v2:${step}`).script as string[];
      expect(script[0]).toBe('node bin/modelfleet.js generate --file models.yaml --out build --model match-2-taxi-v2');
      expect(script[1]).toBe(`node bin/modelfleet.js ${step === 'test' ? 'loadtest' : step} --model match-2-taxi-v2`);
    }
  });

  it('reads back to the same object (YAML round trip)', () => {
    expect(load(threeModels.pipelines[0]?.yaml ?? '')).toEqual(JSON.parse(JSON.stringify(child)));
  });

  it('is one valid no-op job when nothing changed', () => {
    const [only, ...rest] = buildChildPipelines({ deployNames: [], removed: [], gatewayChanged: false, summary: 'since abc: 0 changed' }, options);
    expect(rest).toEqual([]);
    expect(jobNames(only?.pipeline ?? {})).toEqual(['nothing-changed']);
    expect(gitlabCiSchemaErrors(only?.pipeline)).toEqual([]);
  });

  it('only runs the gateway when only the A/B weights changed', () => {
    const [only] = buildChildPipelines({ deployNames: [], removed: [], gatewayChanged: true, summary: '' }, options);
    expect(jobNames(only?.pipeline ?? {})).toEqual(['gateway:build', 'gateway:deploy']);
    expect(only?.pipeline.stages).toEqual(['build', 'gateway']);
    expect(gitlabCiSchemaErrors(only?.pipeline)).toEqual([]);
  });

  it('removes deployments of removed models after the gateway stopped routing to them', () => {
    const [only] = buildChildPipelines({ deployNames: ['kept'], removed: ['gone-model'], gatewayChanged: true, summary: '' }, options);
    const remove = job(only?.pipeline ?? {}, 'gone-model:remove');
    expect(remove).toMatchObject({
      stage: 'cleanup',
      needs: ['gateway:deploy'],
      script: ['node bin/modelfleet.js deploy --remove gone-model'],
      environment: { name: '$MODELFLEET_ENV/gone-model', action: 'stop' },
    });
    expect(gitlabCiSchemaErrors(only?.pipeline)).toEqual([]);
  });

  it('falls back to stage order for the gateway when more than 50 deploys would be needed', () => {
    const [only] = buildChildPipelines({ deployNames: names(60), removed: [], gatewayChanged: true, summary: '' }, options);
    const gatewayDeploy = job(only?.pipeline ?? {}, 'gateway:deploy');
    expect(gatewayDeploy.needs).toBeUndefined();
    expect(gatewayDeploy.stage).toBe('gateway');
    for (const name of jobNames(only?.pipeline ?? {})) expect(((job(only?.pipeline ?? {}, name).needs as unknown[]) ?? []).length).toBeLessThanOrEqual(MAX_NEEDS);
  });

  it('passes a non-default fleet file to every command', () => {
    const [only] = buildChildPipelines({ deployNames: ['m'], removed: [], gatewayChanged: true, summary: '' }, { ...options, fleetFile: 'fleets/prod models.yaml' });
    expect(job(only?.pipeline ?? {}, 'm:build').script).toEqual([
      "node bin/modelfleet.js generate --file 'fleets/prod models.yaml' --out build --model m",
      "node bin/modelfleet.js build --model m --file 'fleets/prod models.yaml'",
    ]);
  });
});

describe('splitting a large fleet', () => {
  const plan = planAll(manyModelsYaml(40), { maxJobs: 30 });
  const [dispatcher, ...parts] = plan.pipelines;

  it('writes a dispatcher and one child pipeline per part, each within --max-jobs', () => {
    expect(dispatcher?.file).toBe('child-pipeline.yml');
    expect(parts.map((p) => p.file)).toEqual(['child-pipeline-1.yml', 'child-pipeline-2.yml', 'child-pipeline-3.yml', 'child-pipeline-4.yml']);
    for (const p of plan.pipelines) {
      expect(jobNames(p.pipeline).length, p.file).toBeLessThanOrEqual(30);
      expect(Buffer.byteLength(p.yaml)).toBeLessThanOrEqual(MAX_CHILD_YAML_BYTES);
      expect(gitlabCiSchemaErrors(p.pipeline), p.file).toEqual([]);
    }
    const deployJobs = parts.flatMap((p) => jobNames(p.pipeline).filter((n) => n.endsWith(':deploy')));
    expect(deployJobs).toHaveLength(40);
    expect(new Set(deployJobs).size).toBe(40);
  });

  it('regenerates the part files from the commit and triggers each one as its own child pipeline', () => {
    const d = dispatcher?.pipeline ?? {};
    expect(job(d, 'generate-parts').script).toEqual(['node bin/modelfleet.js generate --file models.yaml --out build --max-jobs 30 --all']);
    expect(job(d, 'models-2-of-4')).toEqual({
      stage: 'models',
      needs: ['generate-parts'],
      trigger: { include: [{ artifact: 'build/child-pipeline-2.yml', job: 'generate-parts' }], strategy: 'depend', forward: { pipeline_variables: true } },
    });
    expect(job(d, 'gateway:deploy').needs).toEqual(['gateway:build', 'models-1-of-4', 'models-2-of-4', 'models-3-of-4', 'models-4-of-4']);
    expect(jobNames(parts[0]?.pipeline ?? {})).not.toContain('gateway:deploy');
  });

  it('fits 1,000 models into the default limit with files far below GitLab\'s YAML size limit', () => {
    const big = planAll(manyModelsYaml(1000));
    expect(big.pipelines.length).toBe(8);
    for (const p of big.pipelines) {
      expect(jobNames(p.pipeline).length).toBeLessThanOrEqual(500);
      expect(Buffer.byteLength(p.yaml)).toBeLessThan(MAX_CHILD_YAML_BYTES);
    }
  });
});
