/**
 * Versions side by side on Kubernetes (pipeline/deploy/kube/version-slots.ts), against the fake
 * API server: each version its own unit, the model's Service switched once the new one is ready,
 * `keepVersions` earlier units left running, and a failed version never reaching the Service.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deployToKube } from '../../pipeline/deploy/kube/deploy-to-kube.js';
import { readLiveVersions } from '../../pipeline/deploy/kube/read-live-versions.js';
import { openKube, type KubeClient } from '../../pipeline/seams/kube.js';
import { isUserError } from '../../lib/errors/user-error.js';
import { startFakeKubeApi, type FakeKubeApi } from '../support/fake-kube-api.js';
import { modelManifests } from './kube-fixtures.js';

let fake: FakeKubeApi;
let kube: KubeClient;
let dir: string;
const NAMESPACES = ['kept-one', 'kept-none', 'kept-failure', 'kept-legacy'];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'modelfleet-kube-kept-'));
  fake = await startFakeKubeApi({ tickMs: 20, readyAfterMs: 60, namespaces: NAMESPACES });
  kube = await openKube({ kubeconfig: await fake.writeKubeconfig(dir) });
});

afterAll(async () => {
  await fake.close();
  await rm(dir, { recursive: true, force: true });
});

const image = (version: string) => `modelfleet/iris:${version.padStart(12, '0')}`;

function deploy(namespace: string, version: string, keepVersions: number, options: { image?: string; lines?: string[] } = {}) {
  return deployToKube({
    kube, deployName: 'iris', environment: 'dev', namespace, pollMs: 25, timeoutMs: 4_000,
    manifests: modelManifests('iris', options.image ?? image(version)),
    versions: { version, keepVersions },
    report: (line) => options.lines?.push(line),
  });
}

function names(kind: string, namespace: string): string[] {
  return fake.objects(kind, namespace).map((o) => (o.metadata as { name: string }).name).sort();
}

/** Samples which images the model's Service reaches while `work` runs; a sample with none is a gap. */
async function watchService<T>(namespace: string, work: () => Promise<T>): Promise<{ result: T; served: string[][]; gaps: number }> {
  const served: string[][] = [];
  let gaps = 0;
  const timer = setInterval(() => {
    const now = fake.servedImages(namespace, 'iris').sort();
    if (now.length === 0) gaps += 1;
    else if (JSON.stringify(served.at(-1)) !== JSON.stringify(now)) served.push(now);
  }, 5);
  try {
    const result = await work();
    return { result, served, gaps };
  } finally {
    clearInterval(timer);
  }
}

describe('model versions side by side on Kubernetes', () => {
  it('keeps the most recently replaced version running (keepVersions 1) and switches back to it without starting a pod', async () => {
    const ns = 'kept-one';
    await deploy(ns, '1', 1);
    const second = await watchService(ns, () => deploy(ns, '2', 1));
    expect(second.gaps).toBe(0);
    expect(second.served).toEqual([[image('1')], [image('2')]]);
    expect(names('Deployment', ns)).toEqual(['iris-v1', 'iris-v2']);
    expect(names('Service', ns)).toEqual(['iris', 'iris-v1', 'iris-v2']);
    expect(names('HorizontalPodAutoscaler', ns)).toEqual(['iris-v1', 'iris-v2']);
    // Each version's own Service reaches it whichever serves.
    expect(fake.servedImages(ns, 'iris-v1')).toEqual([image('1')]);

    await deploy(ns, '3', 1);
    // v1 was kept before v2 was replaced; now v2 is the one replaced, and only one is kept.
    expect(names('Deployment', ns)).toEqual(['iris-v2', 'iris-v3']);
    const live = await readLiveVersions(kube, ns, 'iris');
    expect(live.serving?.metadata.name).toBe('iris-v3');
    expect(live.kept.map((d) => d.metadata.name)).toEqual(['iris-v2']);

    const pods = fake.objects('Pod', ns).map((p) => (p.metadata as { uid: string }).uid).sort();
    const lines: string[] = [];
    const back = await watchService(ns, () => deploy(ns, '2', 1, { lines }));
    expect(back.result.outcome).toBe('deployed');
    expect(back.gaps).toBe(0);
    expect(back.served).toEqual([[image('3')], [image('2')]]);
    expect(lines.join('\n')).toMatch(/iris: version 2 is kept and running \(Deployment kept-one\/iris-v2 ready\): switching to it starts no pod/);
    // No pod started (pods of the version pruned before may still be going).
    expect(fake.objects('Pod', ns).map((p) => (p.metadata as { uid: string }).uid).filter((uid) => !pods.includes(uid))).toEqual([]);
    expect(names('Deployment', ns)).toEqual(['iris-v2', 'iris-v3']);
    const afterSwitch = await readLiveVersions(kube, ns, 'iris');
    expect(afterSwitch.serving?.metadata.name).toBe('iris-v2');
    expect(afterSwitch.kept.map((d) => d.metadata.name)).toEqual(['iris-v3']);

    // The same version again: nothing to do.
    expect((await deploy(ns, '2', 1)).outcome).toBe('unchanged');
  }, 60_000);

  it('keeps no earlier version with keepVersions 0', async () => {
    const ns = 'kept-none';
    await deploy(ns, '1', 0);
    const second = await watchService(ns, () => deploy(ns, '2', 0));
    expect(second.gaps).toBe(0);
    expect(names('Deployment', ns)).toEqual(['iris-v2']);
    expect(names('Service', ns)).toEqual(['iris', 'iris-v2']);
    expect(names('HorizontalPodAutoscaler', ns)).toEqual(['iris-v2']);
  }, 60_000);

  it('never switches to a version that does not become ready: the serving and kept versions stay, the failed one goes', async () => {
    const ns = 'kept-failure';
    await deploy(ns, '1', 1);
    await deploy(ns, '2', 1);
    const failed = await watchService(ns, async () => {
      try {
        await deploy(ns, '3', 1, { image: 'modelfleet/iris:000000000003-never-ready' });
        return undefined;
      } catch (err) {
        return err;
      }
    });
    expect(isUserError(failed.result) && failed.result.code).toBe('DEPLOY_ROLLOUT_FAILED');
    expect(failed.gaps).toBe(0);
    expect(failed.served).toEqual([[image('2')]]);
    expect(names('Deployment', ns)).toEqual(['iris-v1', 'iris-v2']);
    expect(names('Service', ns)).toEqual(['iris', 'iris-v1', 'iris-v2']);
    const live = await readLiveVersions(kube, ns, 'iris');
    expect([live.serving?.metadata.name, live.kept.map((d) => d.metadata.name)]).toEqual(['iris-v2', ['iris-v1']]);
  }, 60_000);

  it('takes over from a Deployment updated in place (deployed before versions ran side by side), serving throughout', async () => {
    const ns = 'kept-legacy';
    await deployToKube({ kube, deployName: 'iris', environment: 'dev', namespace: ns, pollMs: 25, timeoutMs: 4_000, manifests: modelManifests('iris', image('1')) });
    expect(names('Deployment', ns)).toEqual(['iris']);
    const moved = await watchService(ns, () => deploy(ns, '2', 1));
    expect(moved.gaps).toBe(0);
    // The old Service selected the new pods too while they started (they carry its labels), then only them.
    expect([moved.served[0], moved.served.at(-1)]).toEqual([[image('1')], [image('2')]]);
    // The old Deployment had no version to be addressed by: it goes once the Service switched.
    expect(names('Deployment', ns)).toEqual(['iris-v2']);
    expect(names('HorizontalPodAutoscaler', ns)).toEqual(['iris-v2']);
  }, 60_000);
});
