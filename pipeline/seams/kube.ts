/**
 * The one place that talks to a Kubernetes API server (@kubernetes/client-node). The rest of
 * modelfleet sees plain JSON objects and five verbs, so tests can point it at the fake API
 * server in test/support/fake-kube-api.ts through an ordinary kubeconfig.
 */
import { existsSync } from 'node:fs';
import type { KubeConfig as KubeConfigType, KubernetesObjectApi as ObjectApiType, CoreV1Api as CoreApiType } from '@kubernetes/client-node';

/** Every object we apply or read: apiVersion, kind, metadata, and whatever the kind carries. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: KubeMetadata;
  [field: string]: unknown;
}

export interface KubeMetadata {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  generation?: number;
  [field: string]: unknown;
}

export interface ObjectRef {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly namespace?: string;
}

/** A Kubernetes `Status` (the body of every error answer). https://kubernetes.io/docs/reference/kubernetes-api/common-definitions/status/ */
export interface KubeStatus {
  kind?: string;
  status?: string;
  message?: string;
  reason?: string;
  code?: number;
  details?: { name?: string; kind?: string; group?: string; causes?: Array<{ reason?: string; message?: string; field?: string }> };
}

/** The request an error answered: what a 403 message falls back on when the Status does not say. */
export interface KubeRequest {
  /** The RBAC request verb (https://kubernetes.io/docs/reference/access-authn-authz/authorization/#determine-the-request-verb); apply is `patch`. */
  readonly verb: 'get' | 'list' | 'patch' | 'delete';
  readonly apiVersion: string;
  readonly kind: string;
  readonly namespace?: string;
  readonly name?: string;
  readonly subresource?: string;
}

export class KubeApiError extends Error {
  override readonly name = 'KubeApiError';
  constructor(
    readonly status: number,
    readonly body: KubeStatus | undefined,
    message: string,
    readonly request?: KubeRequest,
  ) {
    super(message);
  }
}

export interface KubeClient {
  /** The API server URL, for messages. */
  readonly server: string;
  /**
   * Server-side apply with one field manager, forcing ownership of the fields we set.
   * `dryRun` asks the server to validate and merge without storing anything.
   */
  apply(object: KubeObject, options?: { dryRun?: boolean }): Promise<KubeObject>;
  get(ref: ObjectRef): Promise<KubeObject | undefined>;
  list(apiVersion: string, kind: string, namespace: string | undefined, selectors?: { labelSelector?: string; fieldSelector?: string }): Promise<KubeObject[]>;
  /** Deletes one object; false when it was already gone. */
  remove(ref: ObjectRef): Promise<boolean>;
  podLogs(namespace: string, pod: string, tailLines: number): Promise<string>;
}

/** The field manager every apply uses: https://kubernetes.io/docs/reference/using-api/server-side-apply/#managers */
export const FIELD_MANAGER = 'modelfleet';

/**
 * A cluster counts as configured when the job has a kubeconfig (KUBECONFIG) or runs inside a
 * pod (the service account the kubelet mounts). A developer's ~/.kube/config alone does not
 * switch `--target auto` to Kubernetes: deploying to whatever cluster is current by accident
 * is worse than the local target.
 */
export function isKubeConfigured(env: NodeJS.ProcessEnv = process.env): boolean {
  const file = env.KUBECONFIG?.split(':').find((part) => part !== '');
  if (file !== undefined && existsSync(file)) return true;
  return env.KUBERNETES_SERVICE_HOST !== undefined && existsSync('/var/run/secrets/kubernetes.io/serviceaccount/token');
}

/**
 * Connects with the job's kubeconfig (KUBECONFIG, in-cluster), or the file given. Makes no
 * request yet. `context` (an environment's `context:` in models.yaml) wins over KUBE_CONTEXT.
 */
export async function openKube(options: { kubeconfig?: string; context?: string } = {}): Promise<KubeClient> {
  const k8s = await import('@kubernetes/client-node');
  const config = new k8s.KubeConfig();
  if (options.kubeconfig) config.loadFromFile(options.kubeconfig);
  else config.loadFromDefault();
  // GitLab's agent for Kubernetes puts one context per agent into the job's KUBECONFIG; the
  // job picks one with KUBE_CONTEXT (https://docs.gitlab.com/user/clusters/agent/ci_cd_workflow/).
  const context = options.context ?? process.env.KUBE_CONTEXT?.trim();
  if (context) {
    if (!config.getContextObject(context)) {
      const named = options.context !== undefined ? 'the environment\'s `context:` in models.yaml' : 'KUBE_CONTEXT';
      throw new Error(`${named} names the context "${context}", which the kubeconfig does not have (it has: ${config.getContexts().map((c) => c.name).join(', ') || 'none'})`);
    }
    config.setCurrentContext(context);
  }
  const objects = k8s.KubernetesObjectApi.makeApiClient(config);
  const core = config.makeApiClient(k8s.CoreV1Api);
  return new ClientNodeKube(config, objects, core, k8s.PatchStrategy.ServerSideApply);
}

class ClientNodeKube implements KubeClient {
  readonly server: string;

  constructor(
    config: KubeConfigType,
    private readonly objects: ObjectApiType,
    private readonly core: CoreApiType,
    private readonly applyPatch: 'application/apply-patch+yaml',
  ) {
    this.server = config.getCurrentCluster()?.server ?? '(no cluster in kubeconfig)';
  }

  async apply(object: KubeObject, options: { dryRun?: boolean } = {}): Promise<KubeObject> {
    // `force: true`: modelfleet owns these objects; a field someone changed by hand is taken back
    // instead of failing with a conflict. https://kubernetes.io/docs/reference/using-api/server-side-apply/#conflicts
    const dryRun = options.dryRun ? 'All' : undefined;
    const request = { verb: 'patch', apiVersion: object.apiVersion, kind: object.kind, namespace: object.metadata.namespace, name: object.metadata.name } as const;
    const applied = await this.call(() => this.objects.patch(structuredClone(object), undefined, dryRun, FIELD_MANAGER, true, this.applyPatch), request);
    return toPlain(applied);
  }

  async get(ref: ObjectRef): Promise<KubeObject | undefined> {
    try {
      const found = await this.call(() => this.objects.read({ apiVersion: ref.apiVersion, kind: ref.kind, metadata: { name: ref.name, ...(ref.namespace ? { namespace: ref.namespace } : {}) } }), { verb: 'get', ...ref });
      return toPlain(found);
    } catch (err) {
      if (err instanceof KubeApiError && err.status === 404) return undefined;
      throw err;
    }
  }

  async list(apiVersion: string, kind: string, namespace: string | undefined, selectors: { labelSelector?: string; fieldSelector?: string } = {}): Promise<KubeObject[]> {
    const found = await this.call(() => this.objects.list(apiVersion, kind, namespace, undefined, undefined, undefined, selectors.fieldSelector, selectors.labelSelector), { verb: 'list', apiVersion, kind, ...(namespace ? { namespace } : {}) });
    return found.items.map((item) => ({ ...toPlain(item), apiVersion, kind }));
  }

  async remove(ref: ObjectRef): Promise<boolean> {
    try {
      // Background propagation: the garbage collector removes ReplicaSets and pods after the Deployment.
      await this.call(() => this.objects.delete({ apiVersion: ref.apiVersion, kind: ref.kind, metadata: { name: ref.name, ...(ref.namespace ? { namespace: ref.namespace } : {}) } }, undefined, undefined, undefined, undefined, 'Background'), { verb: 'delete', ...ref });
      return true;
    } catch (err) {
      if (err instanceof KubeApiError && err.status === 404) return false;
      throw err;
    }
  }

  async podLogs(namespace: string, pod: string, tailLines: number): Promise<string> {
    return this.call(() => this.core.readNamespacedPodLog({ name: pod, namespace, tailLines }), { verb: 'get', apiVersion: 'v1', kind: 'Pod', namespace, name: pod, subresource: 'log' });
  }

  private async call<T>(send: () => Promise<T>, request: KubeRequest): Promise<T> {
    try {
      return await send();
    } catch (err) {
      throw toKubeApiError(err, this.server, request);
    }
  }
}

/** client-node hands back class instances (Dates, renamed keys); the rest of modelfleet wants JSON. */
function toPlain(value: object): KubeObject {
  return JSON.parse(JSON.stringify(value)) as KubeObject;
}

function toKubeApiError(err: unknown, server: string, request: KubeRequest): Error {
  if (err instanceof KubeApiError) return err;
  const candidate = err as { code?: unknown; body?: unknown; message?: unknown };
  if (typeof candidate.code === 'number' && candidate.code >= 100 && candidate.code < 600) {
    const body = parseStatus(candidate.body);
    return new KubeApiError(candidate.code, body, body?.message ?? `HTTP ${candidate.code} from ${server}`, request);
  }
  const message = err instanceof Error ? err.message : String(err);
  return new KubeApiError(0, undefined, `cannot reach the Kubernetes API server ${server}: ${message}`, request);
}

function parseStatus(body: unknown): KubeStatus | undefined {
  if (typeof body === 'object' && body !== null) return body as KubeStatus;
  if (typeof body !== 'string' || body === '') return undefined;
  try {
    const parsed: unknown = JSON.parse(body);
    return typeof parsed === 'object' && parsed !== null ? (parsed as KubeStatus) : undefined;
  } catch {
    return { message: body.slice(0, 500) };
  }
}
