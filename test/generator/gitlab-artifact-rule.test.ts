import { describe, expect, it } from 'vitest';
import {
  artifactDependenciesOf,
  declaresArtifacts,
  ExpiredArtifactsError,
  jobNamesOf,
  refuseIfArtifactsExpired,
  stagesOf,
} from '../support/gitlab-artifact-rule.js';

const kept = { paths: ['out/'] };

describe("GitLab's rule for jobs whose artifact dependencies expired", () => {
  it('counts a plain string need as a request for that job\'s artifacts', () => {
    const pipeline = { build: { stage: 'build', script: ['b'], artifacts: kept }, test: { stage: 'test', needs: ['build'], script: ['t'] } };
    expect(artifactDependenciesOf(pipeline, 'test')).toEqual(['build']);
    expect(() => refuseIfArtifactsExpired(pipeline, 'test')).toThrow('test: This job depends on other jobs with expired/erased artifacts: build');
  });

  it('counts an object need without artifacts: false, and not one with it', () => {
    const pipeline = {
      a: { stage: 'build', script: ['a'], artifacts: kept },
      b: { stage: 'build', script: ['b'], artifacts: kept },
      c: { stage: 'test', needs: [{ job: 'a' }, { job: 'b', artifacts: false }], script: ['c'] },
      d: { stage: 'test', needs: [{ job: 'a', artifacts: true, optional: true }], script: ['d'] },
    };
    expect(artifactDependenciesOf(pipeline, 'c')).toEqual(['a']);
    expect(artifactDependenciesOf(pipeline, 'd')).toEqual(['a']);
  });

  it('takes nothing from needs: [] and from needs that all say artifacts: false', () => {
    const pipeline = {
      a: { stage: 'build', script: ['a'], artifacts: kept },
      b: { stage: 'test', needs: [], script: ['b'] },
      c: { stage: 'test', needs: [{ job: 'a', artifacts: false }], script: ['c'] },
    };
    expect(artifactDependenciesOf(pipeline, 'b')).toEqual([]);
    expect(artifactDependenciesOf(pipeline, 'c')).toEqual([]);
    expect(() => refuseIfArtifactsExpired(pipeline, 'c')).not.toThrow();
  });

  it('depends on every job with artifacts in earlier stages when a job has neither needs nor dependencies', () => {
    const pipeline = {
      stages: ['build', 'test', 'deploy'],
      a: { stage: 'build', script: ['a'], artifacts: kept },
      b: { stage: 'build', script: ['b'] },
      c: { stage: 'test', script: ['c'], artifacts: kept },
      d: { stage: 'deploy', script: ['d'], artifacts: kept },
      e: { stage: 'deploy', script: ['e'] },
    };
    expect(artifactDependenciesOf(pipeline, 'e')).toEqual(['a', 'c']);
    expect(artifactDependenciesOf(pipeline, 'c')).toEqual(['a']);
    expect(artifactDependenciesOf(pipeline, 'a')).toEqual([]);
  });

  it('lets dependencies: override both needs and stage order', () => {
    const pipeline = {
      a: { stage: 'build', script: ['a'], artifacts: kept },
      b: { stage: 'build', script: ['b'], artifacts: kept },
      c: { stage: 'test', dependencies: [], script: ['c'] },
      d: { stage: 'test', needs: ['a'], dependencies: ['b'], script: ['d'] },
    };
    expect(artifactDependenciesOf(pipeline, 'c')).toEqual([]);
    expect(artifactDependenciesOf(pipeline, 'd')).toEqual(['b']);
  });

  it('ignores jobs that keep no artifacts, unless default: gives them some', () => {
    const plain = { a: { stage: 'build', script: ['a'] }, b: { stage: 'test', needs: ['a'], script: ['b'] } };
    expect(artifactDependenciesOf(plain, 'b')).toEqual([]);
    const withDefault = { default: { artifacts: kept }, ...plain };
    expect(declaresArtifacts(withDefault, 'a')).toBe(true);
    expect(artifactDependenciesOf(withDefault, 'b')).toEqual(['a']);
    const optedOut = { default: { artifacts: kept }, a: { ...plain.a, inherit: { default: false } }, b: plain.b };
    expect(artifactDependenciesOf(optedOut, 'b')).toEqual([]);
  });

  it('always counts needs on another pipeline, whose artifacts it cannot see', () => {
    const pipeline = { a: { stage: 'test', needs: [{ pipeline: '$PARENT_PIPELINE_ID', job: 'generate' }, { project: 'g/p', job: 'x', ref: 'main', artifacts: false }], script: ['a'] } };
    expect(artifactDependenciesOf(pipeline, 'a')).toEqual(['$PARENT_PIPELINE_ID/generate']);
  });

  it('uses the test stage for jobs without one and GitLab\'s default stages when none are declared', () => {
    const pipeline = { a: { stage: 'build', script: ['a'], artifacts: kept }, b: { script: ['b'] }, c: { stage: '.pre', script: ['c'], artifacts: kept } };
    expect(stagesOf(pipeline)).toEqual(['.pre', 'build', 'test', 'deploy', '.post']);
    expect(artifactDependenciesOf(pipeline, 'b')).toEqual(['a', 'c']);
  });

  it('lists jobs without global keywords or hidden jobs', () => {
    expect(jobNamesOf({ stages: ['build'], variables: {}, default: {}, workflow: {}, '.hidden': { script: ['x'] }, job: { script: ['y'] } })).toEqual(['job']);
  });

  it('throws an error that names the job and what it needs, as data too', () => {
    const pipeline = { a: { stage: 'build', script: ['a'], artifacts: kept }, b: { stage: 'test', script: ['b'] } };
    try {
      refuseIfArtifactsExpired(pipeline, 'b');
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ExpiredArtifactsError);
      expect((err as ExpiredArtifactsError).dependencies).toEqual(['a']);
      expect((err as ExpiredArtifactsError).job).toBe('b');
    }
  });

  it('refuses to guess about jobs the pipeline does not have', () => {
    expect(() => artifactDependenciesOf({ a: { script: ['a'] } }, 'missing')).toThrow('no job named "missing"');
    expect(() => artifactDependenciesOf({ stages: ['build'], a: { stage: 'nope', script: ['a'] } }, 'a')).toThrow('does not declare');
  });
});
