import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { chooseTarget } from '../../pipeline/deploy/run-deploy.js';

const kubeconfig = join(mkdtempSync(join(tmpdir(), 'modelfleet-target-')), 'config');
writeFileSync(kubeconfig, 'apiVersion: v1\nkind: Config\n');

describe('choosing the deploy target', () => {
  it('deploys to the cluster a kubeconfig names, in CI or not', () => {
    expect(chooseTarget('auto', { KUBECONFIG: kubeconfig })).toBe('kube');
    expect(chooseTarget('auto', { KUBECONFIG: kubeconfig, GITLAB_CI: 'true' })).toBe('kube');
    expect(chooseTarget('kube', { KUBECONFIG: kubeconfig, GITLAB_CI: 'true' })).toBe('kube');
  });

  it('deploys onto this machine outside CI when no cluster is configured', () => {
    expect(chooseTarget('auto', {})).toBe('local');
  });

  it('refuses to deploy onto the runner in GitLab CI without a cluster, naming the variables to set', () => {
    expect(() => chooseTarget('auto', { GITLAB_CI: 'true' })).toThrow(expect.objectContaining({ code: 'DEPLOY_NO_CLUSTER', message: expect.stringMatching(/KUBECONFIG/) }));
    // A KUBECONFIG naming a file that is not there is no cluster either.
    expect(() => chooseTarget('auto', { GITLAB_CI: 'true', KUBECONFIG: join(tmpdir(), 'no-such-kubeconfig') })).toThrow(expect.objectContaining({ code: 'DEPLOY_NO_CLUSTER' }));
  });

  it('refuses --target kube without a cluster anywhere', () => {
    expect(() => chooseTarget('kube', {})).toThrow(expect.objectContaining({ code: 'DEPLOY_NO_CLUSTER', hint: expect.stringMatching(/--target local/) }));
  });

  it('deploys onto the runner in CI when asked with --target local', () => {
    expect(chooseTarget('local', { GITLAB_CI: 'true' })).toBe('local');
  });
});
