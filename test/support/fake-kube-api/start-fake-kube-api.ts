import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FakeIdentity } from './authentication.js';
import { servedImages } from './endpoints.js';
import { FakeCluster } from './fake-cluster.js';
import { handleRequest } from './handle-request.js';
import type { JsonObject } from './json.js';
import { ADMIN_TOKEN, writeKubeconfig } from './kubeconfig.js';
import type { RecordedRequest } from './recorded-request.js';
import { sendStatus } from './status-responses.js';

export interface FakeKubeOptions {
  /** How often the controller reconciles (default 50 ms). */
  readonly tickMs?: number;
  /** How long a healthy pod takes to become ready (default 150 ms). */
  readonly readyAfterMs?: number;
  /** Namespaces that exist from the start, besides `default` and `kube-system` (what a cluster admin created). */
  readonly namespaces?: readonly string[];
}

export interface FakeKubeApi {
  readonly url: string;
  /** Every request received, in order, with its user, scope and authorization decisions. */
  readonly requests: readonly RecordedRequest[];
  /**
   * Writes a kubeconfig pointing at this server and returns its path. Without a token it
   * carries the admin's token; with one (see serviceAccountToken, addIdentity) requests are
   * authorized by the RBAC objects stored in the fake. Each token gets its own file in `dir`.
   */
  writeKubeconfig(dir: string, options?: { readonly token?: string }): Promise<string>;
  /** Makes `token` authenticate as `identity`; its requests are then authorized by RBAC. */
  addIdentity(token: string, identity: FakeIdentity): void;
  /**
   * A bearer token of the ServiceAccount `namespace/name`, with the user name and groups
   * Kubernetes gives service accounts (`system:serviceaccount:<ns>:<name>`,
   * https://kubernetes.io/docs/reference/access-authn-authz/rbac/#referring-to-subjects).
   */
  serviceAccountToken(namespace: string, name: string): string;
  /** A copy of the stored objects of one kind (all namespaces unless one is given). */
  objects(kind: string, namespace?: string): JsonObject[];
  /** Images of the ready pods behind a Service: what it would serve right now. */
  servedImages(namespace: string, service: string): string[];
  /**
   * Stops the garbage collector (and the namespace controller's cleanup) until the returned
   * function is called: a collector that is slow, as a busy cluster's can be, made deterministic.
   */
  holdGarbageCollection(): () => void;
  close(): Promise<void>;
}

export async function startFakeKubeApi(options: FakeKubeOptions = {}): Promise<FakeKubeApi> {
  const cluster = new FakeCluster(options.readyAfterMs ?? 150, options.namespaces ?? []);
  const requests: RecordedRequest[] = [];
  const tokens = new Map<string, FakeIdentity>();
  const server: Server = createServer((req, res) => {
    void handleRequest(cluster, requests, tokens, req, res).catch((err: unknown) => {
      sendStatus(res, 500, 'InternalError', err instanceof Error ? err.message : String(err));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  const timer = setInterval(() => cluster.reconcile(), options.tickMs ?? 50);
  return {
    url,
    requests,
    writeKubeconfig: (dir: string, kubeconfigOptions: { readonly token?: string } = {}) => writeKubeconfig(dir, url, kubeconfigOptions.token ?? ADMIN_TOKEN),
    addIdentity(token, identity) {
      tokens.set(token, { user: identity.user, groups: [...identity.groups] });
    },
    serviceAccountToken(namespace, name) {
      const token = `sa-${namespace}-${name}-${randomBytes(6).toString('hex')}`;
      tokens.set(token, { user: `system:serviceaccount:${namespace}:${name}`, groups: ['system:serviceaccounts', `system:serviceaccounts:${namespace}`, 'system:authenticated'] });
      return token;
    },
    objects: (kind, namespace) => cluster.store.list(kind, namespace).map((o) => structuredClone(o)),
    servedImages: (namespace, service) => servedImages(cluster.store, namespace, service),
    holdGarbageCollection() {
      cluster.gcHolds += 1;
      let released = false;
      return () => {
        if (!released) cluster.gcHolds -= 1;
        released = true;
      };
    },
    async close() {
      clearInterval(timer);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
