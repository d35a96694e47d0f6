import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deployToKube, pruneRemovedDeployables, removeFromKube } from '../../pipeline/deploy/kube/deploy-to-kube.js';
import { namespaceForEnvironment } from '../../pipeline/deploy/kube/namespace-for-env.js';
import { systemClock, type Clock } from '../../pipeline/seams/clock.js';
import { openKube, type KubeClient } from '../../pipeline/seams/kube.js';
import { isUserError } from '../../lib/errors/user-error.js';
import { startFakeKubeApi, type FakeKubeApi } from '../support/fake-kube-api.js';
import { modelManifests } from './kube-fixtures.js';

let fake: FakeKubeApi;
let kube: KubeClient;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'modelfleet-kube-deploy-'));
  // The namespaces exist, as a cluster admin made them: deploy does not create them by default.
  fake = await startFakeKubeApi({ tickMs: 20, readyAfterMs: 60, namespaces: ['modelfleet-dev', 'modelfleet-staging', 'modelfleet-prune'] });
  kube = await openKube({ kubeconfig: await fake.writeKubeconfig(dir) });
});

afterAll(async () => {
  await fake.close();
  await rm(dir, { recursive: true, force: true });
});

/**
 * The deploy's clock: its time moves only by its polls, each of which really waits (so the fake
 * API server's controllers move on). A timeout of N ms is then N / pollMs polls however busy the
 * machine is, and `onPoll` sees the cluster at every poll.
 */
function pollClock(onPoll: () => void = () => undefined): Clock & { readonly polls: number } {
  let now = 0;
  let polls = 0;
  return {
    get polls() {
      return polls;
    },
    now: () => now,
    async sleep(ms, signal) {
      polls++;
      onPoll();
      await systemClock.sleep(ms, signal);
      now += ms;
    },
  };
}

const fast = { pollMs: 25, timeoutMs: 5_000, clock: pollClock() };

async function captureError(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected the deploy to fail');
}

describe('deploy to Kubernetes (fake API server)', () => {
  it('applies the manifests with server-side apply into the environment namespace and waits for the rollout', async () => {
    const lines: string[] = [];
    const result = await deployToKube({ kube, deployName: 'alpha', environment: 'dev', namespace: 'modelfleet-dev', manifests: modelManifests('alpha', 'modelfleet/alpha:aaaaaaaaaaaa'), ...fast, report: (l) => lines.push(l) });

    expect(result.outcome).toBe('deployed');
    const patches = fake.requests.filter((r) => r.method === 'PATCH' && r.path.includes('/deployments/alpha'));
    expect(patches.length).toBeGreaterThan(0);
    expect(patches.every((r) => r.contentType === 'application/apply-patch+yaml' && r.query.fieldManager === 'modelfleet' && r.query.force === 'true')).toBe(true);
    expect(fake.objects('Namespace').map((n) => (n.metadata as { name: string }).name)).toContain('modelfleet-dev');
    const [deployment] = fake.objects('Deployment', 'modelfleet-dev');
    const status = deployment?.status as { availableReplicas: number; updatedReplicas: number };
    expect(status.availableReplicas).toBe(1);
    expect(fake.servedImages('modelfleet-dev', 'alpha')).toEqual(['modelfleet/alpha:aaaaaaaaaaaa']);
    expect(lines.at(-1)).toMatch(/alpha: deployed to modelfleet-dev/);
  });

  it('labels everything with a valid label value for an environment name the API server would refuse as is', async () => {
    // `review/` sanitised by cutting alone leaves `review-`: the API server refuses a label value ending in "-".
    const namespace = namespaceForEnvironment('review/');
    const result = await deployToKube({ kube, deployName: 'lima', environment: 'review/', namespace, manifests: modelManifests('lima', 'modelfleet/lima:aaaaaaaaaaaa'), createNamespace: true, ...fast });

    expect(result.outcome).toBe('deployed');
    const ns = fake.objects('Namespace').find((n) => (n.metadata as { name: string }).name === namespace);
    expect((ns?.metadata as { labels: Record<string, string> }).labels['modelfleet.io/environment']).toBe('review');
    const [deployment] = fake.objects('Deployment', namespace);
    expect((deployment?.metadata as { labels: Record<string, string> }).labels['modelfleet.io/environment']).toBe('review');
  });

  it('fails naming a namespace that does not exist, before applying anything and without cluster-scoped requests', async () => {
    const before = fake.requests.length;
    const err = await captureError(deployToKube({ kube, deployName: 'mike', environment: 'nowhere', namespace: 'modelfleet-nowhere', manifests: modelManifests('mike', 'modelfleet/mike:aaaaaaaaaaaa'), ...fast }));

    expect(isUserError(err) && err.code).toBe('DEPLOY_NAMESPACE_MISSING');
    expect((err as Error).message).toBe('model mike: the namespace modelfleet-nowhere does not exist, and deploy creates namespaces only when models.yaml asks it to. Nothing was applied.');
    expect(isUserError(err) && err.hint).toMatch(/kubectl create namespace modelfleet-nowhere.*kubernetes: \{ createNamespace: true \}/);
    const made = fake.requests.slice(before);
    expect(made.filter((r) => r.method === 'PATCH').every((r) => r.query.dryRun === 'All')).toBe(true);
    expect(made.filter((r) => r.scope === 'cluster')).toEqual([]);
    expect(fake.objects('Namespace').map((n) => (n.metadata as { name: string }).name)).not.toContain('modelfleet-nowhere');
  });

  it('reports "unchanged" and writes nothing when the same manifests are deployed twice', async () => {
    const manifests = modelManifests('bravo', 'modelfleet/bravo:bbbbbbbbbbbb');
    await deployToKube({ kube, deployName: 'bravo', environment: 'dev', namespace: 'modelfleet-dev', manifests, ...fast });
    const before = fake.objects('Deployment', 'modelfleet-dev').find((d) => (d.metadata as { name: string }).name === 'bravo');
    const patchesBefore = fake.requests.filter((r) => r.method === 'PATCH' && r.path.endsWith('/bravo')).length;

    const lines: string[] = [];
    const again = await deployToKube({ kube, deployName: 'bravo', environment: 'dev', namespace: 'modelfleet-dev', manifests, ...fast, report: (l) => lines.push(l) });

    expect(again.outcome).toBe('unchanged');
    expect(lines.join('\n')).toMatch(/bravo: unchanged/);
    expect(fake.requests.filter((r) => r.method === 'PATCH' && r.path.endsWith('/bravo')).length).toBe(patchesBefore);
    const after = fake.objects('Deployment', 'modelfleet-dev').find((d) => (d.metadata as { name: string }).name === 'bravo');
    expect((after?.metadata as { generation: number }).generation).toBe((before?.metadata as { generation: number }).generation);
  });

  it('rolls a new version out after the old one: generation bumps, the new image serves, the old ReplicaSet is scaled to 0', async () => {
    await deployToKube({ kube, deployName: 'charlie', environment: 'dev', namespace: 'modelfleet-dev', manifests: modelManifests('charlie', 'modelfleet/charlie:111111111111'), ...fast });
    const result = await deployToKube({ kube, deployName: 'charlie', environment: 'dev', namespace: 'modelfleet-dev', manifests: modelManifests('charlie', 'modelfleet/charlie:222222222222'), ...fast });

    expect(result.outcome).toBe('deployed');
    expect(fake.servedImages('modelfleet-dev', 'charlie')).toEqual(['modelfleet/charlie:222222222222']);
    const deployment = fake.objects('Deployment', 'modelfleet-dev').find((d) => (d.metadata as { name: string }).name === 'charlie');
    expect((deployment?.metadata as { generation: number }).generation).toBe(2);
    const sets = fake.objects('ReplicaSet', 'modelfleet-dev').filter((rs) => (rs.metadata as { name: string }).name.startsWith('charlie-'));
    expect(sets.map((rs) => (rs.spec as { replicas: number }).replicas).sort()).toEqual([0, 1]);
  });

  it('rolls back a version that never gets ready, fails naming the reason, and the old version serves throughout', async () => {
    const namespace = 'modelfleet-dev';
    await deployToKube({ kube, deployName: 'delta', environment: 'dev', namespace, manifests: modelManifests('delta', 'modelfleet/delta:goodgoodgood'), ...fast });

    // "Load" on the fake: what the Service would route to, at every poll of the bad deploy and its rollback.
    const served: string[][] = [];
    const clock = pollClock(() => served.push(fake.servedImages(namespace, 'delta')));
    const lines: string[] = [];
    const err = await captureError(deployToKube({
      kube, deployName: 'delta', environment: 'dev', namespace,
      manifests: modelManifests('delta', 'modelfleet/delta:badbadbadbad', [{ name: 'FAKE_KUBE_POD_BEHAVIOUR', value: 'never-ready' }]),
      pollMs: 25, timeoutMs: 800, clock, report: (l) => lines.push(l),
    }));

    expect(isUserError(err) && err.code).toBe('DEPLOY_ROLLOUT_FAILED');
    expect((err as Error).message).toMatch(/model delta: the new version did not become ready in namespace modelfleet-dev: timed out/);
    expect((err as Error).message).toMatch(/Rolled back to the previous version .* keeps serving/);
    const printed = lines.join('\n');
    expect(printed).toMatch(/Readiness probe failed: HTTP probe failed with statuscode: 503/);
    expect(printed).toMatch(/last 20 log lines of pod delta-/);
    expect(printed).toMatch(/warm-up inference failed/);
    // 800 ms of polls at 25 ms: 32 looks at the cluster before the rollback, each finding only the old image.
    expect(served.length).toBeGreaterThanOrEqual(32);
    expect(served.every((images) => images.length >= 1 && images.every((i) => i === 'modelfleet/delta:goodgoodgood'))).toBe(true);
    // State rolled back: the Deployment's template is the old image again and only old pods remain.
    const deployment = fake.objects('Deployment', namespace).find((d) => (d.metadata as { name: string }).name === 'delta');
    const template = (deployment?.spec as { template: { spec: { containers: Array<{ image: string }> } } }).template;
    expect(template.spec.containers[0]?.image).toBe('modelfleet/delta:goodgoodgood');
    await expect.poll(() => fake.objects('Pod', namespace).filter((p) => (p.metadata as { name: string }).name.startsWith('delta-')).length, { timeout: 15_000 }).toBe(1);
  });

  it('fails on ProgressDeadlineExceeded before its own timeout', async () => {
    const namespace = 'modelfleet-dev';
    await deployToKube({ kube, deployName: 'echo', environment: 'dev', namespace, manifests: modelManifests('echo', 'modelfleet/echo:goodgoodgood'), ...fast });
    const bad = modelManifests('echo', 'modelfleet/echo:slowslowslow', [{ name: 'FAKE_KUBE_POD_BEHAVIOUR', value: 'never-ready' }]);
    (bad[0]?.spec as { progressDeadlineSeconds: number }).progressDeadlineSeconds = 1;
    const clock = pollClock();
    const timeoutMs = 60_000;
    const err = await captureError(deployToKube({ kube, deployName: 'echo', environment: 'dev', namespace, manifests: bad, pollMs: 25, timeoutMs, clock }));

    // Ended by the cluster's verdict, well before its own timeout's 2,400 polls.
    expect(clock.polls).toBeLessThan(timeoutMs / 25);
    expect((err as Error).message).not.toMatch(/timed out after/);
    expect((err as Error).message).toMatch(/deployment echo exceeded its progress deadline \(ReplicaSet "echo-[0-9a-f]+" has timed out progressing\.\)/);
    expect(fake.servedImages(namespace, 'echo')).toEqual(['modelfleet/echo:goodgoodgood']);
  });

  it('rolls back at once when the new pods are OOM-killed again and again, naming the cause', async () => {
    const namespace = 'modelfleet-dev';
    await deployToKube({ kube, deployName: 'kilo', environment: 'dev', namespace, manifests: modelManifests('kilo', 'modelfleet/kilo:goodgoodgood'), ...fast });
    const clock = pollClock();
    const timeoutMs = 60_000;
    const err = await captureError(deployToKube({
      kube, deployName: 'kilo', environment: 'dev', namespace,
      manifests: modelManifests('kilo', 'modelfleet/kilo:oomoomoomoom', [{ name: 'FAKE_KUBE_POD_BEHAVIOUR', value: 'oom-killed' }]),
      pollMs: 25, timeoutMs, clock,
    }));

    // Rolled back on the pods' state, long before the timeout's 2,400 polls.
    expect(clock.polls).toBeLessThan(timeoutMs / 25);
    expect((err as Error).message).toMatch(/the new version cannot become ready: pod kilo-[0-9a-z-]+ container model: CrashLoopBackOff after \d+ restarts, last exit OOMKilled \(code 137\)/);
    expect(fake.servedImages(namespace, 'kilo')).toEqual(['modelfleet/kilo:goodgoodgood']);
  });

  it('turns a 422 into an error naming the object and field, and changes nothing deployed', async () => {
    const namespace = 'modelfleet-dev';
    await deployToKube({ kube, deployName: 'foxtrot', environment: 'dev', namespace, manifests: modelManifests('foxtrot', 'modelfleet/foxtrot:goodgoodgood'), ...fast });
    const before = JSON.stringify(fake.objects('Deployment', namespace).find((d) => (d.metadata as { name: string }).name === 'foxtrot')?.spec);
    // Request above limit: the API server answers 422 for the Deployment.
    const invalid = modelManifests('foxtrot', 'modelfleet/foxtrot:newnewnewnew', [], '64Mi');

    const err = await captureError(deployToKube({ kube, deployName: 'foxtrot', environment: 'dev', namespace, manifests: invalid, ...fast }));

    expect(isUserError(err) && err.code).toBe('DEPLOY_MANIFEST_REJECTED');
    expect((err as Error).message).toContain('rejected Deployment modelfleet-dev/foxtrot: spec.template.spec.containers[0].resources.requests: Invalid value: "128Mi": must be less than or equal to memory limit of 64Mi');
    const after = JSON.stringify(fake.objects('Deployment', namespace).find((d) => (d.metadata as { name: string }).name === 'foxtrot')?.spec);
    expect(after).toBe(before);
    expect(fake.servedImages(namespace, 'foxtrot')).toEqual(['modelfleet/foxtrot:goodgoodgood']);
  });

  it('removes the failed objects when a first deploy never gets ready', async () => {
    const namespace = 'modelfleet-staging';
    const err = await captureError(deployToKube({
      kube, deployName: 'golf', environment: 'staging', namespace,
      manifests: modelManifests('golf', 'modelfleet/golf:x-never-ready'), pollMs: 25, timeoutMs: 500, clock: pollClock(),
    }));

    expect((err as Error).message).toMatch(/no previous version/);
    expect(fake.objects('Deployment', namespace).filter((d) => (d.metadata as { name: string }).name === 'golf')).toEqual([]);
    expect(fake.objects('Service', namespace).filter((d) => (d.metadata as { name: string }).name === 'golf')).toEqual([]);
  });

  it('removes every object of one model by label, and prunes models no longer in the fleet', async () => {
    const namespace = 'modelfleet-prune';
    for (const name of ['hotel', 'india', 'juliet']) {
      await deployToKube({ kube, deployName: name, environment: 'prune', namespace, manifests: modelManifests(name, `modelfleet/${name}:000000000000`), ...fast });
    }
    const removed = await removeFromKube(kube, namespace, 'hotel');
    expect(removed.sort()).toEqual(['Deployment modelfleet-prune/hotel', 'HorizontalPodAutoscaler modelfleet-prune/hotel', 'Service modelfleet-prune/hotel']);

    const pruned = await pruneRemovedDeployables(kube, namespace, new Set(['india']));
    expect(pruned).toContain('Deployment modelfleet-prune/juliet');
    const left = fake.objects('Deployment', namespace).map((d) => (d.metadata as { name: string }).name);
    expect(left).toEqual(['india']);
    // Pods go with their ReplicaSets when the garbage collector gets to them, shortly after the DELETE.
    await expect.poll(() => fake.objects('Pod', namespace).map((p) => (p.metadata as { name: string }).name).filter((name) => !name.startsWith('india-'))).toEqual([]);
  });
});
