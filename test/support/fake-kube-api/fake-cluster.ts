import { DeploymentController } from './deployment-controller.js';
import { collectGarbage } from './garbage-collection.js';
import type { JsonObject } from './json.js';
import { Kubelet } from './kubelet.js';
import { ObjectStore } from './object-store.js';
import { typeOf } from './resource-types.js';
import { uid } from './uid.js';

/**
 * The cluster behind the API: the object store and the controllers that act on it, each tick,
 * after the requests that changed it were answered.
 */
export class FakeCluster {
  readonly store = new ObjectStore();
  readonly kubelet: Kubelet;
  private readonly deployments: DeploymentController;
  /** While above zero, collectGarbage does not run (see FakeKubeApi.holdGarbageCollection). */
  gcHolds = 0;

  /** Creates the namespaces that exist from the start: `default`, `kube-system` and `namespaces`. */
  constructor(readyAfterMs: number, namespaces: readonly string[]) {
    this.kubelet = new Kubelet(this.store, readyAfterMs);
    this.deployments = new DeploymentController(this.store, this.kubelet);
    const now = new Date().toISOString();
    for (const name of ['default', 'kube-system', ...namespaces]) {
      this.store.put(typeOf('Namespace'), {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name, uid: uid(), resourceVersion: this.store.nextVersion(), creationTimestamp: now, labels: { 'kubernetes.io/metadata.name': name } },
        spec: { finalizers: ['kubernetes'] },
        status: { phase: 'Active' },
      });
    }
  }

  reconcile(): void {
    if (this.gcHolds === 0) collectGarbage(this.store);
    // The deployment controller leaves a Deployment that is being deleted alone.
    for (const deployment of this.store.list('Deployment')) if (!(deployment.metadata as JsonObject).deletionTimestamp) this.deployments.reconcile(deployment);
    for (const pod of this.store.list('Pod')) this.kubelet.reconcile(pod);
  }
}
