import { readFileSync } from 'node:fs';
import path from 'node:path';
import { load } from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CI_SETTINGS } from '../../generator/fleet/resolve-ci.js';
import { DEFAULT_ENVIRONMENTS } from '../../generator/fleet/resolve-environments.js';
import { buildChildPipelines, type CiObject } from '../../generator/pipeline/build-child-pipeline.js';
import { MAX_CHILD_YAML_BYTES, MAX_NEEDS } from '../../generator/pipeline/gitlab-limits.js';
import { interpolateComponent } from '../init/component.js';
import { gitlabCiSchemaErrors } from '../support/gitlab-ci-schema.js';
import { CASES_DIR, REPO_ROOT, fleetFromText, jobNames, manyModelsYaml, planAll } from './support/generator-fixtures.js';

const options = { fleetFile: 'models.yaml', outDir: 'build', maxJobs: 500, regenerateArgs: ['--since', 'a'.repeat(40)], ci: DEFAULT_CI_SETTINGS, environments: DEFAULT_ENVIRONMENTS };
const names = (n: number) => Array.from({ length: n }, (_, i) => `model-${i}`);

function job(pipeline: CiObject, name: string): Record<string, unknown> {
  const body = pipeline[name];
  if (body === null || typeof body !== 'object') throw new Error(`no job ${name}`);
  return body as Record<string, unknown>;
}

describe('the child pipeline', () => {
  const threeModels = planAll(readFileSync(path.join(CASES_DIR, 'three-models', 'models.yaml'), 'utf8'));
  const child = threeModels.pipelines[0]?.pipeline ?? {};

  it('passes GitLab\'s CI schema, and so does this repository\'s .gitlab-ci.yml, which includes the component', () => {
    expect(gitlabCiSchemaErrors(child)).toEqual([]);
    const own = load(readFileSync(path.join(REPO_ROOT, '.gitlab-ci.yml'), 'utf8')) as { include: Array<{ local?: string }> };
    expect(gitlabCiSchemaErrors(own)).toEqual([]);
    expect(own.include.map((entry) => entry.local)).toEqual(['templates/fleet.yml']);
  });

  it('comes from a parent (the CI/CD component) that avoids duplicate pipelines and passes its pipeline source down', () => {
    const parent = interpolateComponent() as CiObject;
    expect(parent.workflow).toEqual({
      rules: [
        { if: '$CI_PIPELINE_SOURCE == "merge_request_event"' },
        { if: '$CI_COMMIT_BRANCH && $CI_OPEN_MERGE_REQUESTS', when: 'never' },
        { if: '$CI_COMMIT_BRANCH' },
        { if: '$CI_COMMIT_TAG' },
      ],
    });
    expect(job(parent, 'models')).toMatchObject({
      needs: [{ job: 'create-model-folders', artifacts: false }],
      variables: { MODELFLEET_PARENT_PIPELINE_SOURCE: '$CI_PIPELINE_SOURCE' },
      trigger: { include: [{ artifact: 'build/child-pipeline.yml', job: 'create-model-folders' }], strategy: 'depend', forward: { pipeline_variables: true } },
    });
    // A default here would outrank ci.deployTarget: trigger variables beat the child's own.
    expect(parent.variables).not.toHaveProperty('MODELFLEET_DEPLOY_TARGET');
  });

  it('is rejected by the schema when a job is malformed (the check can fail)', () => {
    expect(gitlabCiSchemaErrors({ ...child, 'broken:job': { stage: 'build', script: 42, retry: { when: ['always_please'] } } })).not.toEqual([]);
  });

  it('chains build → test → deploy per environment in promotion order, with needs that take no artifacts, then each environment\'s gateway', () => {
    expect(child.stages).toEqual(['build', 'test', 'deploy-staging', 'gateway-staging', 'deploy-production', 'gateway-production']);
    expect(job(child, 'match-2-taxi-v1:build').needs).toEqual([]);
    expect(job(child, 'match-2-taxi-v1:test').needs).toEqual([{ job: 'match-2-taxi-v1:build', artifacts: false }]);
    expect(job(child, 'match-2-taxi-v1:deploy:staging').needs).toEqual([{ job: 'match-2-taxi-v1:test', artifacts: false }]);
    expect(job(child, 'match-2-taxi-v1:deploy:production').needs).toEqual([{ job: 'match-2-taxi-v1:deploy:staging', artifacts: false }]);
    for (const env of ['staging', 'production']) {
      expect(job(child, `gateway:deploy:${env}`).needs).toEqual([
        { job: 'gateway:build', artifacts: false },
        { job: `match-2-taxi-v1:deploy:${env}`, artifacts: false, optional: true },
        { job: `match-2-taxi-v2:deploy:${env}`, artifacts: false, optional: true },
        { job: `match-7-moto:deploy:${env}`, artifacts: false, optional: true },
        { job: `match-9-van:deploy:${env}`, artifacts: false, optional: true },
      ]);
    }
  });

  it('deploys each environment\'s gateway even when some model deploys failed', () => {
    for (const env of ['staging', 'production']) {
      const rules = job(child, `gateway:deploy:${env}`).rules as CiObject[];
      expect(rules.at(-1)?.when).toBe('always');
      expect(job(child, `gateway:deploy:${env}`).when).toBeUndefined();
    }
  });

  it('waits for a person before production by default: a blocking manual job (staging runs by itself)', () => {
    expect((job(child, 'match-7-moto:deploy:production').rules as CiObject[]).at(-1)?.when).toBe('manual');
    expect(job(child, 'match-7-moto:deploy:production').allow_failure).toBe(false);
    expect((job(child, 'match-7-moto:deploy:staging').rules as CiObject[]).at(-1)?.when).toBeUndefined();
    expect(job(child, 'match-7-moto:deploy:staging').allow_failure).toBeUndefined();
  });

  it('deploys only from the default branch and never from a merge request, by default', () => {
    const rules = [
      { if: '$MODELFLEET_PARENT_PIPELINE_SOURCE == "merge_request_event"', when: 'never' },
      { if: '$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH' },
    ];
    expect(job(child, 'match-7-moto:deploy:staging').rules).toEqual(rules);
    expect(job(child, 'match-7-moto:deploy:production').rules).toEqual([rules[0], { ...rules[1], when: 'manual' }]);
    expect(job(child, 'gateway:deploy:staging').rules).toEqual([rules[0], { ...rules[1], when: 'always' }]);
    for (const name of jobNames(child).filter((n) => !n.includes(':deploy:'))) expect(job(child, name).rules, name).toBeUndefined();
  });

  it('passes the deploy target explicitly, from a variable whose default is ci.deployTarget', () => {
    expect((child.variables as CiObject).MODELFLEET_DEPLOY_TARGET).toBe('kube');
    for (const name of ['match-7-moto:deploy:staging', 'gateway:deploy:production']) {
      expect((job(child, name).script as string[]).at(-1)).toMatch(/ --target "\$MODELFLEET_DEPLOY_TARGET"$/);
    }
    const local = planAll(`ci:\n  deployTarget: local\nmodels:\n  - name: m\n    endpoint: p\n    path: models/m\n`).pipelines[0]?.pipeline ?? {};
    expect((local.variables as CiObject).MODELFLEET_DEPLOY_TARGET).toBe('local');
  });

  it('gives deploys an environment, a resource group and the environment\'s name, and keeps them from being interrupted', () => {
    const deploy = job(child, 'match-7-moto:deploy:production');
    expect(deploy.environment).toEqual({ name: 'production/match-7-moto', deployment_tier: 'production', action: 'start' });
    expect(deploy.resource_group).toBe('modelfleet-production-match-7-moto');
    expect(deploy.variables).toEqual({ MODELFLEET_ENV: 'production' });
    expect((deploy.script as string[]).at(-1)).toBe('modelfleet deploy --model match-7-moto --env production --target "$MODELFLEET_DEPLOY_TARGET"');
    expect(job(child, 'gateway:deploy:staging').environment).toEqual({ name: 'staging/gateway', deployment_tier: 'staging', action: 'start' });
    expect(deploy.interruptible).toBe(false);
    expect((child.default as Record<string, unknown>).interruptible).toBe(true);
    expect((child.default as Record<string, unknown>).retry).toEqual({
      max: 2,
      when: ['runner_system_failure', 'stuck_or_timeout_failure', 'scheduler_failure', 'api_failure'],
    });
  });

  it('keeps artifacts for people only: the report (linked from the merge request), JUnit, the applied manifests', () => {
    const test = job(child, 'match-9-van:test');
    expect(test.artifacts).toEqual({
      when: 'always',
      expose_as: 'load test report',
      paths: ['build/models/match-9-van/report/', 'build/models/match-9-van/sizing.json'],
      reports: { junit: 'build/models/match-9-van/report/junit.xml' },
      expire_in: '30 days',
    });
    expect(job(child, 'match-9-van:deploy:staging').artifacts).toEqual({ when: 'always', paths: ['build/models/match-9-van/k8s/'], expire_in: '30 days' });
    expect(job(child, 'match-9-van:build').artifacts).toBeUndefined();
    expect(job(child, 'gateway:build').artifacts).toBeUndefined();
    for (const name of jobNames(child)) {
      const artifacts = job(child, name).artifacts as Record<string, unknown> | undefined;
      if (artifacts) expect(artifacts.expire_in, name).toMatch(/^\d+ (week|days)$/);
    }
  });

  it('regenerates the model folder from the commit before each model job', () => {
    for (const step of ['build', 'test', 'deploy:staging', 'deploy:production']) {
      const script = job(child, `match-2-taxi-v2:${step}`).script as string[];
      const [command, env] = step.split(':');
      expect(script[0]).toBe('modelfleet generate --file models.yaml --out build --model match-2-taxi-v2');
      expect(script[1]).toBe(`modelfleet ${command === 'test' ? 'loadtest' : command} --model match-2-taxi-v2${env ? ` --env ${env} --target "$MODELFLEET_DEPLOY_TARGET"` : ''}`);
    }
  });

  it('reads back to the same object (YAML round trip)', () => {
    expect(load(threeModels.pipelines[0]?.yaml ?? '')).toEqual(JSON.parse(JSON.stringify(child)));
  });

  it('links at most 10 reports from a merge request: none when more models change', () => {
    const [eleven] = buildChildPipelines({ deployNames: names(11), removed: [], gatewayChanged: true, summary: '' }, options);
    const [ten] = buildChildPipelines({ deployNames: names(10), removed: [], gatewayChanged: true, summary: '' }, options);
    const exposed = (p: CiObject | undefined) => jobNames(p ?? {}).filter((n) => (job(p ?? {}, n).artifacts as CiObject | undefined)?.expose_as !== undefined);
    expect(exposed(eleven?.pipeline)).toEqual([]);
    expect(exposed(ten?.pipeline)).toHaveLength(10);
  });

  it('is one valid no-op job when nothing changed', () => {
    const [only, ...rest] = buildChildPipelines({ deployNames: [], removed: [], gatewayChanged: false, summary: 'since abc: 0 changed' }, options);
    expect(rest).toEqual([]);
    expect(jobNames(only?.pipeline ?? {})).toEqual(['nothing-changed']);
    expect(job(only?.pipeline ?? {}, 'nothing-changed')).toMatchObject({ image: '$MODELFLEET_CI_IMAGE', dependencies: [] });
    expect(gitlabCiSchemaErrors(only?.pipeline)).toEqual([]);
  });

  it('only runs the gateway when only the A/B weights changed', () => {
    const [only] = buildChildPipelines({ deployNames: [], removed: [], gatewayChanged: true, summary: '' }, options);
    expect(jobNames(only?.pipeline ?? {})).toEqual(['gateway:build', 'gateway:deploy:staging', 'gateway:deploy:production']);
    expect(only?.pipeline.stages).toEqual(['build', 'gateway-staging', 'gateway-production']);
    // With no model deploy before it, the production gateway carries the gate and follows staging's.
    expect(job(only?.pipeline ?? {}, 'gateway:deploy:production')).toMatchObject({
      needs: [{ job: 'gateway:build', artifacts: false }, { job: 'gateway:deploy:staging', artifacts: false }],
      allow_failure: false,
    });
    expect((job(only?.pipeline ?? {}, 'gateway:deploy:production').rules as CiObject[]).at(-1)?.when).toBe('manual');
    expect((job(only?.pipeline ?? {}, 'gateway:deploy:staging').rules as CiObject[]).at(-1)?.when).toBe('always');
    expect(gitlabCiSchemaErrors(only?.pipeline)).toEqual([]);
  });

  it('removes deployments of removed models after the gateway stopped routing to them', () => {
    const [only] = buildChildPipelines({ deployNames: ['kept'], removed: ['gone-model'], gatewayChanged: true, summary: '' }, options);
    for (const env of ['staging', 'production']) {
      expect(job(only?.pipeline ?? {}, `gone-model:remove:${env}`)).toMatchObject({
        stage: 'cleanup',
        // Not optional: the same rules keep or drop both, and a removal never runs without the gateway deploy.
        needs: [{ job: `gateway:deploy:${env}`, artifacts: false }],
        rules: job(only?.pipeline ?? {}, 'kept:deploy:staging').rules,
        script: [`modelfleet deploy --remove gone-model --env ${env} --target "$MODELFLEET_DEPLOY_TARGET"`],
        environment: { name: `${env}/gone-model`, deployment_tier: env, action: 'stop' },
        resource_group: `modelfleet-${env}-gone-model`,
      });
    }
    expect(gitlabCiSchemaErrors(only?.pipeline)).toEqual([]);
  });

  it('falls back to stage order for the gateway when more than 50 deploys would be needed, without taking their artifacts', () => {
    const [only] = buildChildPipelines({ deployNames: names(60), removed: [], gatewayChanged: true, summary: '' }, options);
    const gatewayDeploy = job(only?.pipeline ?? {}, 'gateway:deploy:staging');
    expect(gatewayDeploy.needs).toBeUndefined();
    expect(gatewayDeploy.dependencies).toEqual([]);
    // Its own stage right after staging's deploys: stage order waits for those, not for production's gate.
    expect(gatewayDeploy.stage).toBe('gateway-staging');
    expect(only?.pipeline.stages).toEqual(['build', 'test', 'deploy-staging', 'gateway-staging', 'deploy-production', 'gateway-production']);
    expect((gatewayDeploy.rules as CiObject[]).at(-1)?.when).toBe('always');
    for (const name of jobNames(only?.pipeline ?? {})) expect(((job(only?.pipeline ?? {}, name).needs as unknown[]) ?? []).length).toBeLessThanOrEqual(MAX_NEEDS);
  });

  it('passes a non-default fleet file to every command', () => {
    const [only] = buildChildPipelines({ deployNames: ['m'], removed: [], gatewayChanged: true, summary: '' }, { ...options, fleetFile: 'fleets/prod models.yaml' });
    expect(job(only?.pipeline ?? {}, 'm:build').script).toEqual([
      "modelfleet generate --file 'fleets/prod models.yaml' --out build --model m",
      "modelfleet build --model m --file 'fleets/prod models.yaml'",
    ]);
  });
});

describe('environments in the child pipeline', () => {
  const fleet = fleetFromText(`environments:
  - { name: review, autoStopIn: 3 days, url: https://review.example.com }
  - { name: staging, gate: manual }
  - { name: production, gate: auto }
models:
  - name: m
    endpoint: p
    path: models/m
`);
  const [only] = buildChildPipelines({ deployNames: ['m'], removed: ['gone'], gatewayChanged: true, summary: '' }, { ...options, environments: fleet.environments });
  const pipeline = only?.pipeline ?? {};

  it('chains the deploys in the order models.yaml lists the environments, each with its gate', () => {
    expect(jobNames(pipeline).filter((n) => n.startsWith('m:deploy:'))).toEqual(['m:deploy:review', 'm:deploy:staging', 'm:deploy:production']);
    expect(job(pipeline, 'm:deploy:staging').needs).toEqual([{ job: 'm:deploy:review', artifacts: false }]);
    expect(job(pipeline, 'm:deploy:production').needs).toEqual([{ job: 'm:deploy:staging', artifacts: false }]);
    expect((job(pipeline, 'm:deploy:staging').rules as CiObject[]).at(-1)?.when).toBe('manual');
    expect((job(pipeline, 'm:deploy:production').rules as CiObject[]).at(-1)?.when).toBeUndefined();
    expect(gitlabCiSchemaErrors(pipeline)).toEqual([]);
  });

  it('gives a review environment its URL and auto_stop_in, and stops it without one', () => {
    expect(job(pipeline, 'm:deploy:review').environment).toEqual({ name: 'review/m', deployment_tier: 'development', url: 'https://review.example.com', auto_stop_in: '3 days', action: 'start' });
    expect(job(pipeline, 'gone:remove:review').environment).toEqual({ name: 'review/gone', deployment_tier: 'development', url: 'https://review.example.com', action: 'stop' });
  });
});

describe('splitting a large fleet', () => {
  const plan = planAll(manyModelsYaml(40), { maxJobs: 30 });
  const [dispatcher, ...parts] = plan.pipelines;

  it('writes a dispatcher and one child pipeline per part, each within --max-jobs', () => {
    expect(dispatcher?.file).toBe('child-pipeline.yml');
    // Four jobs per model (build, test, two deploys): 7 models per part of at most 30 jobs.
    expect(parts.map((p) => p.file)).toEqual(['child-pipeline-1.yml', 'child-pipeline-2.yml', 'child-pipeline-3.yml', 'child-pipeline-4.yml', 'child-pipeline-5.yml', 'child-pipeline-6.yml']);
    for (const p of plan.pipelines) {
      expect(jobNames(p.pipeline).length, p.file).toBeLessThanOrEqual(30);
      expect(Buffer.byteLength(p.yaml)).toBeLessThanOrEqual(MAX_CHILD_YAML_BYTES);
      expect(gitlabCiSchemaErrors(p.pipeline), p.file).toEqual([]);
    }
    const deployJobs = parts.flatMap((p) => jobNames(p.pipeline).filter((n) => n.includes(':deploy:')));
    expect(deployJobs).toHaveLength(80);
    expect(new Set(deployJobs).size).toBe(80);
  });

  it('regenerates the part files from the commit and triggers each one as its own child pipeline', () => {
    const d = dispatcher?.pipeline ?? {};
    expect(job(d, 'generate-parts').script).toEqual(['modelfleet generate --file models.yaml --out build --max-jobs 30 --all']);
    expect(job(d, 'models-2-of-6')).toEqual({
      stage: 'models',
      needs: [{ job: 'generate-parts', artifacts: false }],
      trigger: { include: [{ artifact: 'build/child-pipeline-2.yml', job: 'generate-parts' }], strategy: 'depend', forward: { pipeline_variables: true } },
    });
    for (const env of ['staging', 'production']) {
      expect(job(d, `gateway:deploy:${env}`).needs).toEqual([
        { job: 'gateway:build', artifacts: false },
        ...Array.from({ length: parts.length }, (_, i) => ({ job: `models-${i + 1}-of-${parts.length}`, artifacts: false })),
      ]);
      expect((job(d, `gateway:deploy:${env}`).rules as CiObject[]).at(-1)?.when).toBe('always');
      expect(jobNames(parts[0]?.pipeline ?? {})).not.toContain(`gateway:deploy:${env}`);
    }
  });

  it('fits 1,000 models into the default limit with files far below GitLab\'s YAML size limit', () => {
    const big = planAll(manyModelsYaml(1000));
    // The dispatcher and eight parts of 125 models (500 jobs) each.
    expect(big.pipelines.length).toBe(9);
    for (const p of big.pipelines) {
      expect(jobNames(p.pipeline).length).toBeLessThanOrEqual(500);
      expect(Buffer.byteLength(p.yaml)).toBeLessThan(MAX_CHILD_YAML_BYTES);
    }
  });
});

describe('the ci: block in the generated jobs', () => {
  const dind = planAll(readFileSync(path.join(CASES_DIR, 'docker-dind', 'models.yaml'), 'utf8')).pipelines[0]?.pipeline ?? {};
  const shell = planAll(readFileSync(path.join(CASES_DIR, 'shell-runner', 'models.yaml'), 'utf8')).pipelines[0]?.pipeline ?? {};

  it('passes GitLab\'s CI schema for the Docker-in-Docker and the shell-runner setups', () => {
    expect(gitlabCiSchemaErrors(dind)).toEqual([]);
    expect(gitlabCiSchemaErrors(shell)).toEqual([]);
  });

  it('puts the top-level image, tags and services into default:, and no $MODELFLEET_CI_IMAGE when an image is set', () => {
    expect(dind.default).toMatchObject({
      image: 'node:20-bookworm-slim',
      tags: ['docker'],
      services: [{ name: 'docker:27-dind', alias: 'docker', command: ['--tls=false'] }],
    });
    expect(dind.variables).toEqual({ MODELFLEET_DEPLOY_TARGET: 'kube' });
    expect(shell.default).toMatchObject({ image: '$MODELFLEET_CI_IMAGE', tags: ['modelfleet-shell'] });
    expect((shell.default as CiObject).services).toBeUndefined();
  });

  it('gives every job its kind\'s variables, and its kind\'s tags where they differ', () => {
    const docker = { DOCKER_HOST: 'tcp://docker:2375', DOCKER_TLS_CERTDIR: '' };
    for (const name of ['match-7-moto:build', 'match-7-moto:test', 'gateway:build']) {
      expect(job(dind, name).variables, name).toEqual(docker);
      expect(job(dind, name).tags, name).toBeUndefined();
    }
    for (const name of ['match-7-moto:deploy:staging', 'gateway:deploy:staging']) {
      expect(job(dind, name)).toMatchObject({ variables: { ...docker, MODELFLEET_ENV: 'staging' }, tags: ['docker', 'cluster-deploy'] });
    }
    expect(job(shell, 'match-2-taxi:build').variables).toEqual({ DOCKER_HOST: 'unix:///var/run/docker.sock' });
    expect(job(shell, 'match-2-taxi:test').variables).toBeUndefined();
    expect(job(shell, 'match-2-taxi:deploy:production')).toMatchObject({ tags: ['modelfleet-shell', 'staging-host'], variables: { MODELFLEET_GATEWAY_PORT: '8000', MODELFLEET_ENV: 'production' } });
    expect((shell.variables as CiObject).MODELFLEET_DEPLOY_TARGET).toBe('local');
  });

  it('turns the deploy branches into one rule: default branch, names as strings, patterns as regular expressions', () => {
    expect((job(dind, 'match-7-moto:deploy:staging').rules as CiObject[])[1]).toEqual({ if: '$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH || $CI_COMMIT_BRANCH =~ /^release\\/[0-9]+\\.[0-9]+$/' });
    expect((job(shell, 'gateway:deploy:staging').rules as CiObject[])[1]).toEqual({ if: '$CI_COMMIT_BRANCH == "main"', when: 'always' });
  });

  it('applies the build kind to generate-parts and the deploy kind to removals in a split fleet', () => {
    const fleet = fleetFromText(`ci:\n  tags: [t]\n  jobs:\n    build: { tags: [builder] }\n    deploy: { tags: [deployer] }\n${manyModelsYaml(40)}`);
    const [dispatcher] = buildChildPipelines({ deployNames: names(40), removed: ['old'], gatewayChanged: true, summary: '' }, { ...options, maxJobs: 30, ci: fleet.ci });
    const d = dispatcher?.pipeline ?? {};
    expect(job(d, 'generate-parts').tags).toEqual(['builder']);
    expect(job(d, 'gateway:build').tags).toEqual(['builder']);
    expect(job(d, 'gateway:deploy:production').tags).toEqual(['deployer']);
    expect(job(d, 'old:remove:production').tags).toEqual(['deployer']);
    // Trigger jobs take no runner settings (https://docs.gitlab.com/ci/yaml/#trigger).
    expect(Object.keys(job(d, 'models-1-of-6')).sort()).toEqual(['needs', 'stage', 'trigger']);
    expect(gitlabCiSchemaErrors(d)).toEqual([]);
  });

  it('runs the no-op job where build jobs run', () => {
    const fleet = fleetFromText(`ci:\n  image: registry.example.com/ci/node:20\n  jobs:\n    build: { tags: [builder] }\nmodels:\n  - name: m\n    endpoint: p\n    path: models/m\n`);
    const [only] = buildChildPipelines({ deployNames: [], removed: [], gatewayChanged: false, summary: '' }, { ...options, ci: fleet.ci });
    expect(only?.pipeline).toEqual({
      stages: ['build'],
      'nothing-changed': { stage: 'build', image: 'registry.example.com/ci/node:20', tags: ['builder'], dependencies: [], script: [expect.stringMatching(/^echo /)] },
    });
  });
});
