/**
 * One HTTP exchange with a registry: bounded in time, authenticated on demand (401 →
 * challenge → one retry), redirects followed by hand so that credentials never leave the
 * registry's origin (blob downloads may redirect to object storage with a signed URL).
 */
import { createAuthenticator, type RegistryCredentials } from './registry-auth.js';
import { registryBaseUrl } from './registry-base-url.js';
import { errorFromFailure, errorFromResponse, type RegistryError, type RequestContext } from './registry-error.js';

export interface RegistryRequest {
  readonly method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'DELETE';
  /** A path under the registry (`/v2/…`) or an absolute URL it handed out (an upload Location). */
  readonly path: string;
  /** Token scope, e.g. `repository:group/name:pull`; also the key tokens are cached under. */
  readonly scope: string;
  readonly context: RequestContext;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: Uint8Array;
}

export interface RegistryHttp {
  readonly baseUrl: string;
  /** The answer, whatever its status; throws a RegistryError only when no answer came. */
  send(request: RegistryRequest): Promise<Response>;
  /** A RegistryError for an answer the caller did not expect; 401 and 403 get a hint of their own. */
  unexpected(response: Response, context: RequestContext, hint?: string): Promise<RegistryError>;
}

export interface RegistryHttpOptions {
  readonly host: string;
  readonly credentials?: RegistryCredentials;
  readonly timeoutMs: number;
  readonly fetchImpl: typeof fetch;
}

const MAX_REDIRECTS = 5;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

export function createRegistryHttp(options: RegistryHttpOptions): RegistryHttp {
  const baseUrl = registryBaseUrl(options.host);
  const origin = new URL(baseUrl).origin;
  const auth = createAuthenticator({
    ...(options.credentials ? { credentials: options.credentials } : {}),
    timeoutMs: options.timeoutMs,
    fetchImpl: options.fetchImpl,
  });

  const exchange = async (url: URL, request: RegistryRequest, authorization: string | undefined): Promise<Response> => {
    try {
      return await options.fetchImpl(url, {
        method: request.method,
        headers: { ...request.headers, ...(authorization ? { authorization } : {}) },
        ...(request.body ? { body: request.body } : {}),
        redirect: 'manual',
        signal: AbortSignal.timeout(options.timeoutMs),
      });
    } catch (err) {
      throw errorFromFailure(err, request.context, url.toString(), options.timeoutMs);
    }
  };

  return {
    baseUrl,

    async send(request) {
      let url = new URL(request.path, baseUrl);
      let retriedWithAuth = false;
      for (let hop = 0; ; hop += 1) {
        const sameOrigin = url.origin === origin;
        const authorization = sameOrigin ? auth.headerFor(request.scope) : undefined;
        let response = await exchange(url, request, authorization);
        if (response.status === 401 && sameOrigin && !retriedWithAuth) {
          retriedWithAuth = true;
          const retryWith = await auth.answer(response.headers.get('www-authenticate'), request.scope, request.context);
          if (retryWith) {
            await response.body?.cancel();
            response = await exchange(url, request, retryWith);
          }
        }
        const location = response.headers.get('location');
        const follow = (request.method === 'GET' || request.method === 'HEAD') && REDIRECT_STATUSES.has(response.status) && location;
        if (!follow) return response;
        if (hop >= MAX_REDIRECTS) return response;
        await response.body?.cancel();
        url = new URL(location, url);
      }
    },

    async unexpected(response, context, hint) {
      const authHint =
        response.status === 401
          ? options.credentials
            ? 'the registry refused the credentials'
            : 'the registry wants credentials and none were given'
          : response.status === 403
            ? 'the credentials have no access to this repository'
            : undefined;
      return errorFromResponse(response, context, hint ?? authHint);
    },
  };
}
