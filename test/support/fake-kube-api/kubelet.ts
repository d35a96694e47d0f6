import type { JsonObject } from './json.js';
import { recordEvent } from './events.js';
import type { ObjectStore } from './object-store.js';
import { typeOf } from './resource-types.js';

interface PodRuntime {
  readonly createdAt: number;
  readonly behaviour: 'healthy' | 'never-ready' | 'crash-loop' | 'oom-killed';
  restarts: number;
  readyLogged: boolean;
}

/**
 * The one node's kubelet: runs the pods the ReplicaSet controller creates and reports their
 * status, the `Ready` condition, container states, restart counts, `CrashLoopBackOff` and
 * `OOMKilled` (https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/#pod-conditions,
 * #container-states), and their logs
 * (https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/pod-v1/#read-log-of-the-specified-pod).
 * A healthy pod becomes ready `readyAfterMs` after it was created; one whose first container
 * says so misbehaves (see behaviourOf).
 */
export class Kubelet {
  private readonly runtimes = new Map<string, PodRuntime>();
  private podIp = 10;

  constructor(private readonly store: ObjectStore, private readonly readyAfterMs: number) {
    store.onRemove((key) => this.runtimes.delete(key));
  }

  /** Starts running the pod `namespace/name`, just stored, as its first container says. */
  run(namespace: string, name: string, container: JsonObject): void {
    this.runtimes.set(this.store.key(typeOf('Pod'), namespace, name), { createdAt: Date.now(), behaviour: behaviourOf(container), restarts: 0, readyLogged: false });
  }

  reconcile(pod: JsonObject): void {
    const meta = pod.metadata as JsonObject;
    const runtime = this.runtimes.get(this.store.key(typeOf('Pod'), meta.namespace as string, meta.name as string));
    if (!runtime) return;
    const age = Date.now() - runtime.createdAt;
    if (age < this.readyAfterMs) return;
    const container = ((pod.spec as JsonObject).containers as JsonObject[])[0] ?? {};
    const containerName = String(container.name ?? 'main');
    const image = String(container.image ?? '');
    const startedAt = new Date(runtime.createdAt).toISOString();
    let status: JsonObject;
    switch (runtime.behaviour) {
      case 'healthy':
        status = {
          phase: 'Running',
          podIP: (pod.status as JsonObject).podIP ?? `10.244.0.${this.podIp++ % 250}`,
          conditions: [{ type: 'Ready', status: 'True' }, { type: 'ContainersReady', status: 'True' }],
          containerStatuses: [{ name: containerName, image, ready: true, started: true, restartCount: 0, state: { running: { startedAt } } }],
        };
        if (!runtime.readyLogged) {
          runtime.readyLogged = true;
          recordEvent(this.store, pod, 'Normal', 'Started', `Started container ${containerName}`, 'kubelet');
        }
        break;
      case 'never-ready':
        status = {
          phase: 'Running',
          podIP: (pod.status as JsonObject).podIP ?? `10.244.0.${this.podIp++ % 250}`,
          conditions: [{ type: 'Ready', status: 'False', reason: 'ContainersNotReady', message: `containers with unready status: [${containerName}]` }],
          containerStatuses: [{ name: containerName, image, ready: false, started: true, restartCount: 0, state: { running: { startedAt } } }],
        };
        recordEvent(this.store, pod, 'Warning', 'Unhealthy', 'Readiness probe failed: HTTP probe failed with statuscode: 503', 'kubelet');
        break;
      case 'crash-loop':
      case 'oom-killed': {
        runtime.restarts = Math.floor(age / Math.max(this.readyAfterMs, 1));
        const oom = runtime.behaviour === 'oom-killed';
        status = {
          phase: 'Running',
          conditions: [{ type: 'Ready', status: 'False', reason: 'ContainersNotReady', message: `containers with unready status: [${containerName}]` }],
          containerStatuses: [{
            name: containerName, image, ready: false, started: false, restartCount: runtime.restarts,
            state: { waiting: { reason: 'CrashLoopBackOff', message: `back-off restarting failed container ${containerName}` } },
            lastState: { terminated: { exitCode: oom ? 137 : 1, reason: oom ? 'OOMKilled' : 'Error', startedAt, finishedAt: new Date().toISOString() } },
          }],
        };
        recordEvent(this.store, pod, 'Warning', 'BackOff', `Back-off restarting failed container ${containerName} in pod ${String(meta.name)}`, 'kubelet');
        break;
      }
    }
    if (JSON.stringify(status) !== JSON.stringify(pod.status)) {
      pod.status = status;
      meta.resourceVersion = this.store.nextVersion();
    }
  }

  log(namespace: string, name: string, tailLines: number): string | undefined {
    const pod = this.store.get(typeOf('Pod'), namespace, name);
    if (!pod) return undefined;
    const runtime = this.runtimes.get(this.store.key(typeOf('Pod'), namespace, name));
    const container = ((pod.spec as JsonObject).containers as JsonObject[])[0] ?? {};
    const custom = ((container.env as JsonObject[] | undefined) ?? []).find((e) => e.name === 'FAKE_KUBE_POD_LOG')?.value;
    const lines = typeof custom === 'string'
      ? custom.split('\n')
      : {
          'healthy': ['{"level":"info","msg":"model loaded"}', '{"level":"info","msg":"server listening on 0.0.0.0:8080"}', '{"level":"info","msg":"ready"}'],
          'never-ready': ['{"level":"info","msg":"model loaded"}', '{"level":"error","msg":"warm-up inference failed; /readyz stays 503"}'],
          'crash-loop': ['{"level":"fatal","msg":"cannot read /model/MLmodel: no such file or directory"}'],
          'oom-killed': ['{"level":"info","msg":"loading model"}'],
        }[runtime?.behaviour ?? 'healthy'];
    return `${(tailLines > 0 ? lines.slice(-tailLines) : lines).join('\n')}\n`;
  }
}

export function isPodReady(pod: JsonObject): boolean {
  return (((pod.status as JsonObject | undefined)?.conditions as JsonObject[] | undefined) ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

/** `FAKE_KUBE_POD_BEHAVIOUR` of the first container, or an image tag ending in `-never-ready`. */
function behaviourOf(container: JsonObject): PodRuntime['behaviour'] {
  const env = ((container.env as JsonObject[] | undefined) ?? []).find((e) => e.name === 'FAKE_KUBE_POD_BEHAVIOUR')?.value;
  if (env === 'never-ready' || env === 'crash-loop' || env === 'oom-killed') return env;
  return String(container.image ?? '').endsWith('-never-ready') ? 'never-ready' : 'healthy';
}
