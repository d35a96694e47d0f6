import fc from 'fast-check';
import { InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import { parseRunnerTags } from '../../cli/commands/generate.js';
import type { CiObject } from '../../generator/pipeline/ci-object.js';
import { manyModelsYaml, planAll } from './support/generator-fixtures.js';

const jobsOf = (pipeline: CiObject): Array<[string, CiObject]> =>
  Object.entries(pipeline).filter(([key]) => !['stages', 'variables', 'default'].includes(key)) as Array<[string, CiObject]>;

describe('generate --runner-tags (the CI/CD component\'s runner-tags input)', () => {
  it('tags every job through default: when models.yaml names no tags', () => {
    const [child] = planAll(manyModelsYaml(2), { runnerTags: ['docker', 'linux'] }).pipelines;
    expect((child?.pipeline.default as CiObject).tags).toEqual(['docker', 'linux']);
    for (const [job, body] of jobsOf(child?.pipeline ?? {})) expect(body.tags, job).toBeUndefined();
  });

  it('leaves models.yaml\'s own tags in charge, per kind of job too', () => {
    const yaml = `ci:\n  tags: [gpu]\n  jobs:\n    deploy: { tags: [deployer] }\n${manyModelsYaml(1)}`;
    const [child] = planAll(yaml, { runnerTags: ['docker'] }).pipelines;
    expect((child?.pipeline.default as CiObject).tags).toEqual(['gpu']);
    expect((child?.pipeline['match-1-taxi:deploy:production'] as CiObject).tags).toEqual(['deployer']);
  });

  it('gives the same pipeline as no flag when the list is empty', () => {
    expect(planAll(manyModelsYaml(2), { runnerTags: [] }).pipelines[0]?.yaml).toBe(planAll(manyModelsYaml(2)).pipelines[0]?.yaml);
  });

  it('passes the tags on when a large fleet regenerates its parts', () => {
    const plan = planAll(manyModelsYaml(12), { runnerTags: ['docker'], maxJobs: 10 });
    const dispatcher = plan.pipelines[0]?.pipeline as Record<string, { script?: string[] }>;
    expect(dispatcher['generate-parts']?.script?.[0]).toContain(`--runner-tags '["docker"]'`);
  });

  it('reads a JSON array (what an array input becomes in a script) or a comma-separated list, and refuses anything else', () => {
    expect(parseRunnerTags('["docker","linux"]')).toEqual(['docker', 'linux']);
    expect(parseRunnerTags('[]')).toEqual([]);
    expect(parseRunnerTags('docker, linux')).toEqual(['docker', 'linux']);
    expect(() => parseRunnerTags('[docker')).toThrow(InvalidArgumentError);
    expect(() => parseRunnerTags('[1,2]')).toThrow(InvalidArgumentError);
    fc.assert(
      fc.property(fc.array(fc.stringMatching(/^[a-z0-9][a-z0-9_.-]{0,20}$/), { maxLength: 5 }), (tags) => {
        expect(parseRunnerTags(JSON.stringify(tags))).toEqual(tags);
        if (tags.length > 0) expect(parseRunnerTags(tags.join(','))).toEqual(tags);
      }),
    );
  });
});
