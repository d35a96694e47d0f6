import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GITLAB_CI_SCHEMA_DIR, gitlabCiSchemaErrors, loadGitlabCiSchema } from './gitlab-ci-schema.js';

describe('the vendored GitLab CI schema', () => {
  it('is byte for byte the file SOURCE.md names', () => {
    const source = readFileSync(join(GITLAB_CI_SCHEMA_DIR, 'SOURCE.md'), 'utf8');
    const recorded = /\| sha256 of ci\.json \| `([0-9a-f]{64})`/.exec(source)?.[1];
    const actual = createHash('sha256').update(readFileSync(join(GITLAB_CI_SCHEMA_DIR, 'ci.json'))).digest('hex');
    expect(recorded).toBeDefined();
    expect(actual).toBe(recorded);
  });

  it('declares draft-07, the draft of the ajv class that compiles it', () => {
    expect(loadGitlabCiSchema().$schema).toBe('http://json-schema.org/draft-07/schema#');
  });

  it('accepts a trigger job that runs a child pipeline from an artifact', () => {
    const parent = {
      stages: ['generate', 'models'],
      generate: { stage: 'generate', script: ['node bin/modelfleet.js generate'], artifacts: { paths: ['build/'] } },
      models: { stage: 'models', needs: ['generate'], trigger: { include: [{ artifact: 'build/child.yml', job: 'generate' }], strategy: 'depend' } },
    };
    expect(gitlabCiSchemaErrors(parent)).toEqual([]);
  });

  it('rejects what GitLab rejects: an artifact include without its job, more than two retries, a delayed job without start_in', () => {
    const errors = (job: Record<string, unknown>) => gitlabCiSchemaErrors({ job: { script: ['true'], ...job } });
    expect(errors({ script: undefined, trigger: { include: [{ artifact: 'build/child.yml' }] } })).not.toEqual([]);
    expect(errors({ retry: { max: 3 } })).not.toEqual([]);
    expect(errors({ when: 'delayed' })).not.toEqual([]);
    // The same jobs, made right, pass: the failures above are about the named mistake.
    expect(errors({ script: undefined, trigger: { include: [{ artifact: 'build/child.yml', job: 'generate' }] } })).toEqual([]);
    expect(errors({ retry: { max: 2 } })).toEqual([]);
    expect(errors({ when: 'delayed', start_in: '5 minutes' })).toEqual([]);
  });
});
