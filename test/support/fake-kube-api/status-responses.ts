import type { ServerResponse } from 'node:http';
import type { Json, JsonObject } from './json.js';
import { qualifiedPlural, type ResourceType } from './resource-types.js';

/**
 * Errors as a `Status` body with reason and code
 * (https://github.com/kubernetes/community/blob/master/contributors/devel/sig-architecture/api-conventions.md#http-status-codes).
 */
export function statusBody(code: number, reason: string, message: string, details?: JsonObject): JsonObject {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, ...(details ? { details } : {}), code };
}

export function sendJson(res: ServerResponse, code: number, body: Json): void {
  res.writeHead(code, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

export function sendStatus(res: ServerResponse, code: number, reason: string, message: string, details?: JsonObject): void {
  sendJson(res, code, statusBody(code, reason, message, details));
}

export function sendNotFound(res: ServerResponse, type: ResourceType, name: string): void {
  sendStatus(res, 404, 'NotFound', `${qualifiedPlural(type)} "${name}" not found`, { name, group: type.group, kind: type.plural });
}
