import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseFleet } from '../../generator/fleet/load-fleet.js';
import { deployToKube, MANAGED_KINDS, removeFromKube } from '../../pipeline/deploy/kube/deploy-to-kube.js';
import { readKubeRecords, recordKubeDeploy } from '../../pipeline/history/kube-history.js';
import { formatHistory, formatStatus, kubeStatus } from '../../pipeline/history/show-deployments.js';
import { renderModelManifests } from '../../pipeline/manifests/render-model-manifests.js';
import { openKube, type KubeClient, type KubeObject } from '../../pipeline/seams/kube.js';
import { deployable, fixedSizing, modelSpec } from '../manifests/fixtures.js';
import { startFakeKubeApi, type FakeKubeApi } from '../support/fake-kube-api.js';

const NAMESPACE = 'modelfleet-production';
let fake: FakeKubeApi;
let kube: KubeClient;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'modelfleet-kube-history-'));
  fake = await startFakeKubeApi({ tickMs: 20, readyAfterMs: 60, namespaces: [NAMESPACE] });
  kube = await openKube({ kubeconfig: await fake.writeKubeconfig(dir) });
});

afterAll(async () => {
  await fake.close();
  await rm(dir, { recursive: true, force: true });
});

const target = deployable(modelSpec({ name: 'match-7-moto' }));
const manifests = (image: string): KubeObject[] => renderModelManifests(target, fixedSizing(), { namespace: NAMESPACE, image }).map((m) => m.object as KubeObject);
const fields = (image: string, version: string, outcome: 'deployed' | 'unchanged') =>
  ({ deployName: 'match-7-moto', environment: 'production', image, content: `sha256:${version.padEnd(64, '0')}`, version, memoryLimitBytes: 80 * 2 ** 20, minReplicas: 1, maxReplicas: 3, outcome });
const CI = { CI_COMMIT_SHA: '0123456789abcdef0123', CI_JOB_URL: 'https://gitlab.example.com/team/fleet/-/jobs/42', GITLAB_USER_LOGIN: 'alice' };
const fast = { pollMs: 25, timeoutMs: 10_000 };

describe('deployment records in the cluster', () => {
  it('keeps one ConfigMap per model beside it, revisions counting up, with the CI job\'s commit and URL', async () => {
    await deployToKube({ kube, deployName: 'match-7-moto', environment: 'production', namespace: NAMESPACE, manifests: manifests('registry.example.com/fleet/match-7-moto:111111111111'), ...fast });
    const first = await recordKubeDeploy(kube, NAMESPACE, fields('registry.example.com/fleet/match-7-moto:111111111111', '3', 'deployed'), CI);
    const second = await recordKubeDeploy(kube, NAMESPACE, fields('registry.example.com/fleet/match-7-moto:222222222222', '4', 'deployed'), { ...CI, CI_JOB_URL: 'https://gitlab.example.com/team/fleet/-/jobs/43' });
    expect([first.revision, second.revision]).toEqual([1, 2]);
    const records = await readKubeRecords(kube, NAMESPACE, 'match-7-moto');
    expect(records.map((r) => [r.revision, r.version, r.commit, r.jobUrl])).toEqual([
      [1, '3', CI.CI_COMMIT_SHA, 'https://gitlab.example.com/team/fleet/-/jobs/42'],
      [2, '4', CI.CI_COMMIT_SHA, 'https://gitlab.example.com/team/fleet/-/jobs/43'],
    ]);
    const history = formatHistory(records).trim().split('\n');
    expect(history[1]).toMatch(/^2\s+\S+ \S+\s+4\s+…\/match-7-moto:222222222222\s+400000000000\s+80Mi\s+1-3\s+deployed\s+01234567\s+https:\/\/gitlab\.example\.com\/team\/fleet\/-\/jobs\/43$/);
  });

  it('shows the Deployment\'s ready replicas and memory limit with the last record in `status`', async () => {
    const fleet = parseFleet(`models:\n  - name: match-7-moto\n    endpoint: probability\n    parameters: [7, MOTO, baseline]\n    path: examples/models/match-logreg-v1\n`, join(process.cwd(), 'models.yaml'));
    const production = fleet.environments.find((e) => e.name === 'production');
    if (!production) throw new Error('no production environment');
    const rows = await kubeStatus(fleet, [production], () => Promise.resolve(kube));
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ environment: 'production', deployName: 'match-7-moto', state: '1/1 ready', last: { revision: 2, version: '4' } });
    expect(formatStatus(rows)).toMatch(/production\s+match-7-moto\s+4\s+…\/match-7-moto:222222222222\s+\d+Mi\s+1\/1 ready\s+\S+ \S+ \(rev 2\)\s+https:\/\/gitlab/);
  });

  it('outlives pruning and --remove: the history of a removed model stays readable', async () => {
    await removeFromKube(kube, NAMESPACE, 'match-7-moto', () => undefined, MANAGED_KINDS);
    expect(fake.objects('Deployment', NAMESPACE)).toEqual([]);
    expect((await readKubeRecords(kube, NAMESPACE, 'match-7-moto')).map((r) => r.revision)).toEqual([1, 2]);
  });
});
