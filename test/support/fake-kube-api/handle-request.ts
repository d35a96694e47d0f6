import type { IncomingMessage, ServerResponse } from 'node:http';
import { authenticate, type FakeIdentity } from './authentication.js';
import { discover } from './discovery.js';
import { endpointsOf } from './endpoints.js';
import type { FakeCluster } from './fake-cluster.js';
import { deleteObject, propagationPolicyOf } from './garbage-collection.js';
import type { JsonObject } from './json.js';
import { authorizeInto, forbiddenStatus } from './rbac.js';
import type { AuthorizationCheck, RecordedRequest } from './recorded-request.js';
import { requestAttributes } from './request-attributes.js';
import { parsePath } from './request-path.js';
import { apiVersionOf } from './resource-types.js';
import { applyObject } from './server-side-apply.js';
import { sendJson, sendNotFound, sendStatus, statusBody } from './status-responses.js';

/**
 * Answers one request: records it, authenticates its bearer token, serves discovery, authorizes
 * resource requests by RBAC, then GET (one object or a LIST with label and field selectors, in
 * one namespace or all), DELETE with `propagationPolicy`, server-side apply (PATCH) and pod logs.
 */
export async function handleRequest(cluster: FakeCluster, requests: RecordedRequest[], tokens: ReadonlyMap<string, FakeIdentity>, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://fake');
  const query = Object.fromEntries(url.searchParams.entries());
  const method = req.method ?? 'GET';
  const identity = authenticate(tokens, req.headers.authorization);
  const discovery = discover(url.pathname);
  const parsed = discovery === undefined ? parsePath(url.pathname) : undefined;
  const checks: AuthorizationCheck[] = [];
  const scope = parsed === undefined ? 'non-resource' : parsed.type.namespaced && parsed.namespace !== undefined ? 'namespaced' : 'cluster';
  requests.push({ method, path: url.pathname, query, contentType: req.headers['content-type'], user: identity.user, scope, checks });
  const body = await readBody(req);

  // Discovery is open to every authenticated user (the `system:discovery` ClusterRole is bound to
  // `system:authenticated`, https://kubernetes.io/docs/reference/access-authn-authz/rbac/#discovery-roles).
  if (discovery !== undefined) return sendJson(res, 200, discovery);

  if (parsed === undefined) return sendStatus(res, 404, 'NotFound', 'the server could not find the requested resource');
  const { type, namespace, name, subresource } = parsed;

  // Every resource request is authorized before anything else happens, dry run or not
  // (https://kubernetes.io/docs/reference/access-authn-authz/authorization/#authorization-verbs).
  const attributes = requestAttributes(method, parsed, query);
  if (!authorizeInto(checks, cluster.store, identity, attributes)) return sendJson(res, 403, forbiddenStatus(identity, attributes));

  if (subresource === 'log' && type.kind === 'Pod' && method === 'GET' && namespace && name) {
    const log = cluster.kubelet.log(namespace, name, Number(query.tailLines ?? '0'));
    if (log === undefined) return sendNotFound(res, type, name);
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(log);
    return;
  }
  if (subresource !== undefined) return sendStatus(res, 404, 'NotFound', 'the server could not find the requested resource');

  if (method === 'GET' && name === undefined) {
    const items = cluster.store.listFiltered(type, namespace, query.labelSelector, query.fieldSelector);
    if (items instanceof Error) return sendStatus(res, 400, 'BadRequest', items.message);
    return sendJson(res, 200, {
      apiVersion: apiVersionOf(type),
      kind: `${type.kind}List`,
      metadata: { resourceVersion: String(cluster.store.resourceVersion) },
      items: items.map((item) => {
        const copy = structuredClone(item);
        delete copy.apiVersion;
        delete copy.kind;
        return copy;
      }),
    });
  }
  if (method === 'GET' && name !== undefined) {
    const found = type.kind === 'Endpoints' && namespace ? endpointsOf(cluster.store, namespace, name) : cluster.store.get(type, namespace, name);
    if (found === undefined) return sendNotFound(res, type, name);
    return sendJson(res, 200, found);
  }
  if (method === 'DELETE' && name !== undefined) {
    const found = cluster.store.get(type, namespace, name);
    if (found === undefined) return sendNotFound(res, type, name);
    const policy = propagationPolicyOf(query, body);
    if (policy instanceof Error) return sendJson(res, 422, statusBody(422, 'Invalid', policy.message, { group: 'meta.k8s.io', kind: 'DeleteOptions' }));
    if (query.dryRun === 'All') return sendJson(res, 200, found);
    // An object that waits for finalizers (foreground, orphan, a namespace) is answered as it now
    // is, with its deletionTimestamp; one removed at once is answered with a Success Status.
    const pending = deleteObject(cluster.store, type, namespace, name, policy);
    if (pending) return sendJson(res, 200, pending);
    return sendJson(res, 200, {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Success',
      details: { name, group: type.group, kind: type.plural, uid: (found.metadata as JsonObject).uid ?? '' },
    });
  }
  if (method === 'PATCH' && name !== undefined) {
    const contentType = (req.headers['content-type'] ?? '').split(';')[0]?.trim();
    if (contentType !== 'application/apply-patch+yaml') {
      return sendStatus(res, 415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/apply-patch+yaml (this fake answers only server-side apply, got ${contentType ?? 'none'})`);
    }
    // An apply that creates the object is also authorized as `create` of that name, dry run or
    // not (k8s.io/apiserver/pkg/endpoints/handlers/patch.go, createAuthorizerAttributes). Its
    // 403 carries only the authorizer's reason, which RBAC leaves empty: unlike the first check,
    // the message does not say which verb was missing.
    if (cluster.store.get(type, namespace, name) === undefined) {
      const create = { ...attributes, verb: 'create' };
      if (!authorizeInto(checks, cluster.store, identity, create)) return sendJson(res, 403, forbiddenStatus(identity, create, ''));
    }
    const result = applyObject(cluster.store, type, namespace, name, body, query.fieldManager, query.force === 'true', query.dryRun === 'All');
    if ('error' in result) return sendJson(res, result.error.code as number, result.error);
    return sendJson(res, result.created ? 201 : 200, result.object);
  }
  return sendStatus(res, 405, 'MethodNotAllowed', `${method} is not supported by the fake API server on ${url.pathname}`);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
