import { describe, expect, it } from 'vitest';
import { parseDeployBranch, deployBranchProblem } from '../../generator/fleet/deploy-branch.js';
import { DEFAULT_CI_SETTINGS } from '../../generator/fleet/resolve-ci.js';
import { selectChanges } from '../../generator/plan/select-changes.js';
import { fleetErrorOf, fleetFromText } from './support/generator-fixtures.js';

const MODELS = 'defaults:\n  endpoint: probability\nmodels:\n  - name: m\n    path: models/m\n';
const withCi = (ci: string) => `ci:\n${ci}\n${MODELS}`;

const errorOf = fleetErrorOf;

describe('the ci: block of models.yaml', () => {
  it('defaults to the shared runners, $MODELFLEET_CI_IMAGE, Kubernetes and the default branch', () => {
    expect(fleetFromText(MODELS).ci).toEqual(DEFAULT_CI_SETTINGS);
    expect(DEFAULT_CI_SETTINGS).toEqual({
      runner: { tags: [], image: '$MODELFLEET_CI_IMAGE', services: [], variables: {} },
      jobs: {
        build: { tags: [], image: '$MODELFLEET_CI_IMAGE', services: [], variables: {} },
        test: { tags: [], image: '$MODELFLEET_CI_IMAGE', services: [], variables: {} },
        deploy: { tags: [], image: '$MODELFLEET_CI_IMAGE', services: [], variables: {} },
      },
      deployTarget: 'kubernetes',
      deploy: { branches: [{ kind: 'default' }], mergeRequests: false },
    });
  });

  it('merges each job kind over the top level: tags, image and services replace, variables merge', () => {
    const { ci } = fleetFromText(
      withCi(
        [
          '  tags: [docker]',
          '  image: $CI_REGISTRY/ci/node:20',
          '  services: ["docker:27-dind", { name: registry.example.com/mirror/docker:27-dind, alias: docker, command: ["--tls=false"] }]',
          '  variables: { DOCKER_HOST: "tcp://docker:2375", DOCKER_TLS_CERTDIR: "" }',
          '  deployTarget: local',
          '  jobs:',
          '    deploy: { tags: [deployer], image: "bitnami/kubectl:1.30", services: [], variables: { DOCKER_HOST: "unix:///run/other.sock", EXTRA: "1" } }',
          '  deploy:',
          '    branches: [main, $CI_DEFAULT_BRANCH, "/^release\\\\/.+$/"]',
          '    mergeRequests: false',
        ].join('\n'),
      ),
    );
    expect(ci.runner).toEqual({
      tags: ['docker'],
      image: '$CI_REGISTRY/ci/node:20',
      services: [{ name: 'docker:27-dind' }, { name: 'registry.example.com/mirror/docker:27-dind', alias: 'docker', command: ['--tls=false'] }],
      variables: { DOCKER_HOST: 'tcp://docker:2375', DOCKER_TLS_CERTDIR: '' },
    });
    expect(ci.jobs.build).toEqual(ci.runner);
    expect(ci.jobs.test).toEqual(ci.runner);
    expect(ci.jobs.deploy).toEqual({
      tags: ['deployer'],
      image: 'bitnami/kubectl:1.30',
      services: [],
      variables: { DOCKER_HOST: 'unix:///run/other.sock', DOCKER_TLS_CERTDIR: '', EXTRA: '1' },
    });
    expect(ci.deployTarget).toBe('local');
    expect(ci.deploy.branches).toEqual([{ kind: 'name', name: 'main' }, { kind: 'default' }, { kind: 'pattern', pattern: '^release\\/.+$' }]);
    expect(Object.isFrozen(ci.jobs.deploy.variables)).toBe(true);
  });

  it('suggests the key meant when one is misspelt, at its line and column', () => {
    const err = errorOf(withCi('  tgas: [docker]\n  jobs:\n    deplyo: { tags: [x] }\n  services: [{ name: docker, alais: docker }]'));
    expect(err.message).toContain('models.yaml:2:3 ci.tgas: unknown key "tgas"\n    hint: did you mean "tags"?');
    expect(err.message).toContain('models.yaml:4:5 ci.jobs.deplyo: unknown key "deplyo"\n    hint: did you mean "deploy"?');
    expect(err.message).toMatch(/models\.yaml:5:\d+ ci\.services\[0\]\.alais: unknown key "alais"\n {4}hint: did you mean "alias"\?/);
    expect(errorOf(`cii:\n  tags: [x]\n${MODELS}`).message).toContain('models.yaml:1:1 cii: unknown key "cii"\n    hint: did you mean "ci"?');
  });

  it('asks for numbers and booleans in variables to be quoted', () => {
    const err = errorOf(withCi('  variables:\n    DOCKER_PORT: 2375\n    DEBUG: true'));
    expect(err.message).toContain('models.yaml:3:5 ci.variables.DOCKER_PORT: must be text on one line (quote numbers and true/false, e.g. "2375"), not the number 2375');
    expect(err.message).toContain('ci.variables.DEBUG: must be text on one line (quote numbers and true/false, e.g. "2375"), not true');
  });

  it('rejects variable names GitLab would not accept, and the ones modelfleet or GitLab set', () => {
    const err = errorOf(withCi('  variables:\n    "1X": a\n    "A-B": b\n    MODELFLEET_DEPLOY_TARGET: local\n    CI_COMMIT_BRANCH: main'));
    expect(err.message).toContain('ci.variables["1X"]: key "1X": must be a variable name');
    expect(err.message).toContain('ci.variables.A-B: key "A-B": must be a variable name');
    expect(err.message).toContain('ci.variables.MODELFLEET_DEPLOY_TARGET: MODELFLEET_DEPLOY_TARGET cannot be set here');
    expect(err.message).toContain('models.yaml has 4 problems');
    const reserved = errorOf(withCi('  jobs:\n    build:\n      variables: { MODELFLEET_DEPLOY_TARGET: local, CI_COMMIT_BRANCH: main }'));
    expect(reserved.message).toMatch(/models\.yaml:4:\d+ ci\.jobs\.build\.variables\.MODELFLEET_DEPLOY_TARGET: MODELFLEET_DEPLOY_TARGET cannot be set here\n {4}hint: set `ci\.deployTarget/);
    expect(reserved.message).toContain("ci.jobs.build.variables.CI_COMMIT_BRANCH: CI_COMMIT_BRANCH is one of GitLab's predefined variables");
  });

  it('rejects a services entry that is neither an image nor a mapping', () => {
    expect(errorOf(withCi('  services: [5]')).message).toContain('ci.services[0]: must be text or a mapping (key: value lines), not the number 5');
  });

  it('rejects an unknown deploy target and mergeRequests: true', () => {
    expect(errorOf(withCi('  deployTarget: kube')).message).toContain('ci.deployTarget: must be one of kubernetes, local, not text "kube"');
    expect(errorOf(withCi('  deploy: { mergeRequests: true }')).message).toContain('ci.deploy.mergeRequests: merge-request pipelines never deploy; only false is accepted, not true');
    expect(errorOf(withCi('  deploy: { branches: [] }')).message).toContain('ci.deploy.branches: list at least one branch');
  });
});

describe('deploy branches', () => {
  it.each(['main', 'release/1.2', 'feature/x_y-z+1', '$CI_DEFAULT_BRANCH', '/^release\\/.+$/', '/^(main|dev)$/', '/^v[0-9]+\\.x$/', '/^hotfix-\\d+$/', '/a/b/'])('accepts %j', (value) => {
    expect(deployBranchProblem(value)).toBeUndefined();
  });

  it.each([
    'main"',
    'a b',
    "it's",
    'x || true',
    '-rf',
    'a..b',
    'a//b',
    'a/',
    '.hidden',
    'x.lock',
    '$CI_COMMIT_BRANCH',
    '${CI_DEFAULT_BRANCH}',
    'main\n',
    '/unclosed',
    '//',
    '/a"b/',
    '/a b/',
    '/(?=x)/',
    '/(a)\\1/',
    '/a\\\\/',
    '/a\\/',
    '/[/',
    '/x$Y/',
    '/a && b/',
  ])('refuses %j', (value) => {
    expect(deployBranchProblem(value)).toBeDefined();
  });

  it('escapes every "/" of a pattern once, so it cannot end the regular expression early', () => {
    expect(parseDeployBranch('/^release/.+$/')).toEqual({ kind: 'pattern', pattern: '^release\\/.+$' });
    expect(parseDeployBranch('/^release\\/.+$/')).toEqual({ kind: 'pattern', pattern: '^release\\/.+$' });
  });

  it('reports a bad entry at its place in models.yaml', () => {
    const err = errorOf(withCi('  deploy:\n    branches:\n      - main\n      - \'x" || "y\''));
    expect(err.message).toMatch(/models\.yaml:5:\d+ ci\.deploy\.branches\[1\]: must be a branch name/);
  });
});

describe('change detection and the ci: block', () => {
  it('gives every model jobs when only ci: changed, since every job\'s runner settings did', () => {
    const before = fleetFromText(MODELS);
    const after = fleetFromText(withCi('  tags: [docker]'));
    const changes = selectChanges({ fleet: after, previous: before, changedFiles: ['models.yaml'], fleetDir: '', since: 'a'.repeat(40) });
    expect(changes.mode).toBe('all');
    expect(changes.summary).toMatch(/ci: settings changed since a{12}/);
    expect([...changes.changed.keys()]).toEqual(['m']);
    const same = selectChanges({ fleet: after, previous: fleetFromText(withCi('  tags: [docker]')), changedFiles: ['models.yaml'], fleetDir: '', since: 'a'.repeat(40) });
    expect(same.changed.size).toBe(0);
  });
});
