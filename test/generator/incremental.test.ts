import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runGenerate } from '../../generator/run-generate.js';
import { UserError } from '../../lib/errors/user-error.js';
import { jobNames, manyModelsYaml, useTempDir } from './support/generator-fixtures.js';
import { createTempRepo, type TempRepo } from './support/temp-git-repo.js';

const ZERO_SHA = '0'.repeat(40);

describe('generating only what changed', () => {
  const tempDir = useTempDir('modelfleet-incr-');

  /** A repository holding a 150-model fleet, committed once. */
  function fleetRepo(): { repo: TempRepo; base: string } {
    const repo = createTempRepo(tempDir());
    repo.write('models.yaml', manyModelsYaml(150));
    for (let i = 0; i < 4; i++) repo.write(`models/m${i}/MLmodel`, `flavors: {}  # model ${i}\n`);
    repo.write('serving/server.ts', 'export {};\n');
    repo.write('README.md', '# fleet\n');
    return { repo, base: repo.commit('fleet of 150') };
  }

  /** `generate` as the parent job runs it, with CI_COMMIT_BEFORE_SHA set. */
  async function generateSince(repo: TempRepo, before: string | undefined) {
    const result = await runGenerate({ file: 'models.yaml', out: 'build', cwd: repo.dir, env: { CI_COMMIT_BEFORE_SHA: before } });
    // Every file's jobs: a change to all 150 models splits the child pipeline into parts.
    return { result, jobs: result.plan.pipelines.flatMap((p) => jobNames(p.pipeline)) };
  }

  it('gives jobs to the one added model and the gateway only', async () => {
    const { repo, base } = fleetRepo();
    repo.write('models.yaml', manyModelsYaml(150, { extra: '  - name: match-99-bus\n    parameters: [99, BUS, trafficaware]\n    path: models/m1' }));
    repo.commit('add one model');
    const { jobs, result } = await generateSince(repo, base);
    expect(jobs).toEqual(['match-99-bus:build', 'match-99-bus:test', 'match-99-bus:deploy:staging', 'match-99-bus:deploy:production', 'gateway:build', 'gateway:deploy:staging', 'gateway:deploy:production']);
    expect(result.plan.changes.changed.get('match-99-bus')).toMatch(/^added since [0-9a-f]{12}$/);
    // Every model folder is still written, so the artifacts mirror models.yaml.
    expect(existsSync(path.join(repo.dir, 'build', 'models', 'match-1-taxi', 'model.json'))).toBe(true);
  });

  it('gives jobs to every model when defaults change', async () => {
    const { repo, base } = fleetRepo();
    repo.write('models.yaml', manyModelsYaml(150, { defaults: '  loadtest: { durationSeconds: 10, connections: 4 }' }));
    repo.commit('longer load tests');
    const { jobs } = await generateSince(repo, base);
    expect(jobs.filter((j) => j.endsWith(':deploy:production') && !j.startsWith('gateway:'))).toHaveLength(150);
  });

  it('yields one no-op job when nothing changed', async () => {
    const { repo, base } = fleetRepo();
    repo.write('README.md', '# fleet, documented\n');
    repo.commit('docs only');
    const { jobs, result } = await generateSince(repo, base);
    expect(jobs).toEqual(['nothing-changed']);
    expect(readFileSync(path.join(repo.dir, 'build', 'child-pipeline.yml'), 'utf8')).toContain('nothing-changed:');
    expect(result.plan.changes.summary).toMatch(/0 changed, 0 removed, gateway unchanged/);
  });

  it('removes the deployment of a model that left models.yaml', async () => {
    const { repo, base } = fleetRepo();
    repo.write('models.yaml', manyModelsYaml(149));
    repo.commit('drop the last model');
    const { jobs } = await generateSince(repo, base);
    expect(jobs).toEqual(['gateway:build', 'gateway:deploy:staging', 'gateway:deploy:production', 'match-50-van:remove:staging', 'match-50-van:remove:production']);
  });

  it('gives jobs to the models whose model folder changed', async () => {
    const { repo, base } = fleetRepo();
    repo.write('models/m2/MLmodel', 'flavors: {}  # retrained\n');
    repo.commit('retrain m2');
    const { jobs, result } = await generateSince(repo, base);
    const deploys = jobs.filter((j) => j.endsWith(':deploy:staging') && !j.startsWith('gateway:'));
    expect(deploys).toHaveLength(37); // models 2, 6, 10, ... use models/m2
    expect([...result.plan.changes.changed.values()][0]).toMatch(/model files changed since [0-9a-f]{12} \(models\/m2\/MLmodel\)/);
  });

  it('gives jobs to every model when shared serving code changed', async () => {
    const { repo, base } = fleetRepo();
    repo.write('serving/server.ts', 'export const changed = true;\n');
    repo.commit('serving change');
    const { result } = await generateSince(repo, base);
    expect(result.plan.changes.mode).toBe('all');
    expect(result.plan.changes.summary).toContain('shared code changed');
    expect(result.plan.changes.changed.size).toBe(150);
  });

  it('only runs the gateway when just an A/B split changed', async () => {
    const repo = createTempRepo(tempDir());
    const ab = (w1: number) =>
      `defaults:\n  endpoint: p\nmodels:\n  - name: m\n    path: models/m0\n    ab:\n      variants:\n        - { name: v1, weight: ${w1} }\n        - { name: v2, weight: ${100 - w1} }\n`;
    repo.write('models.yaml', ab(80));
    const base = repo.commit('80/20');
    repo.write('models.yaml', ab(50));
    repo.commit('50/50');
    expect((await generateSince(repo, base)).jobs).toEqual(['gateway:build', 'gateway:deploy:staging', 'gateway:deploy:production']);
  });

  it('gives every model jobs on the first push of a branch, or when the previous commit is not in the clone', async () => {
    const { repo } = fleetRepo();
    expect((await generateSince(repo, ZERO_SHA)).result.plan.changes.summary).toBe('all 150 deployables: first push of this branch (no previous commit)');
    expect((await generateSince(repo, 'f'.repeat(40))).result.plan.changes.summary).toMatch(/is not in this clone.*generating everything/);
  });

  it('fails clearly when --since names a revision the clone does not have', async () => {
    const { repo } = fleetRepo();
    await expect(runGenerate({ file: 'models.yaml', out: 'build', cwd: repo.dir, since: 'no-such-branch', env: {} })).rejects.toThrow(
      expect.objectContaining({ code: 'GIT_FAILED' }),
    );
    await expect(runGenerate({ file: 'models.yaml', out: 'build', cwd: repo.dir, since: '--output=/tmp/x', env: {} })).rejects.toThrow(UserError);
  });
});
