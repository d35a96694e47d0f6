/**
 * Registry authentication as the Docker engine does it: send nothing, and when the registry
 * answers 401 read its `WWW-Authenticate` challenge. `Basic` wants the credentials on every
 * request; `Bearer realm=…,service=…,scope=…` wants a token from the realm, fetched with the
 * credentials (anonymously without) — the token flow of GitLab's container registry
 * (https://distribution.github.io/distribution/spec/auth/token/).
 */
import { errorFromFailure, errorFromResponse, RegistryError, type RequestContext } from './registry-error.js';
import { isLoopbackHost } from './registry-base-url.js';

export interface RegistryCredentials {
  readonly username: string;
  readonly password: string;
}

export type Challenge =
  | { readonly scheme: 'basic'; readonly realm?: string }
  | { readonly scheme: 'bearer'; readonly realm: string; readonly service?: string; readonly scope?: string };

/**
 * Parses a `WWW-Authenticate` header (RFC 7235: scheme, then `key=value` or `key="quoted"`
 * parameters). Undefined for schemes other than Basic and Bearer, or a Bearer without realm.
 */
export function parseChallenge(header: string | null | undefined): Challenge | undefined {
  const match = /^\s*([A-Za-z]+)(?:\s+(.*))?$/s.exec(header ?? '');
  if (!match) return undefined;
  const scheme = match[1]!.toLowerCase();
  const params: Record<string, string> = {};
  const param = /([A-Za-z][\w-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))/g;
  for (const [, key, quoted, bare] of (match[2] ?? '').matchAll(param)) {
    params[key!.toLowerCase()] = quoted !== undefined ? quoted.replace(/\\(.)/g, '$1') : (bare ?? '');
  }
  if (scheme === 'basic') return { scheme, ...(params.realm !== undefined ? { realm: params.realm } : {}) };
  if (scheme === 'bearer' && params.realm) {
    return {
      scheme,
      realm: params.realm,
      ...(params.service !== undefined ? { service: params.service } : {}),
      ...(params.scope !== undefined ? { scope: params.scope } : {}),
    };
  }
  return undefined;
}

export interface Authenticator {
  /** The Authorization header already known for `scope` (a cached token, or Basic), if any. */
  headerFor(scope: string): string | undefined;
  /**
   * Meets the challenge of a 401 answer and returns the header to retry with; undefined when it
   * cannot be met (no or unknown challenge, Basic without credentials): the 401 stands.
   */
  answer(challengeHeader: string | null, scope: string, context: RequestContext): Promise<string | undefined>;
}

export interface AuthenticatorOptions {
  readonly credentials?: RegistryCredentials;
  readonly timeoutMs: number;
  readonly fetchImpl: typeof fetch;
  readonly now?: () => number;
}

/** The token service's default lifetime when it names none (the spec's 60 seconds). */
const DEFAULT_TOKEN_SECONDS = 60;
/** Tokens are dropped this long before they expire, so a request never leaves with a dying one. */
const EXPIRY_MARGIN_MS = 5_000;

/** One per client: tokens are cached per scope for the client's life, until they expire. */
export function createAuthenticator(options: AuthenticatorOptions): Authenticator {
  const now = options.now ?? Date.now;
  const tokens = new Map<string, { header: string; expiresAtMs: number }>();
  const basic = options.credentials
    ? `Basic ${Buffer.from(`${options.credentials.username}:${options.credentials.password}`).toString('base64')}`
    : undefined;
  let basicWanted = false;

  return {
    headerFor(scope) {
      if (basicWanted) return basic;
      const cached = tokens.get(scope);
      if (cached && cached.expiresAtMs > now()) return cached.header;
      return undefined;
    },

    async answer(challengeHeader, scope, context) {
      const challenge = parseChallenge(challengeHeader);
      if (!challenge) return undefined;
      if (challenge.scheme === 'basic') {
        basicWanted = true;
        return basic;
      }
      const wanted = challenge.scope ?? scope;
      const { header, lifetimeSeconds } = await fetchToken(challenge.realm, challenge.service, wanted, context);
      const lifetimeMs = lifetimeSeconds * 1000;
      const entry = { header, expiresAtMs: now() + lifetimeMs - Math.min(EXPIRY_MARGIN_MS, lifetimeMs / 2) };
      // Under the scope the client asked for, so the next request of that kind sends it at once,
      // and under the registry's own wording of it.
      tokens.set(scope, entry);
      tokens.set(wanted, entry);
      return header;
    },
  };

  async function fetchToken(
    realm: string,
    service: string | undefined,
    scope: string,
    context: RequestContext,
  ): Promise<{ header: string; lifetimeSeconds: number }> {
    let url: URL;
    try {
      url = new URL(realm);
    } catch {
      throw new RegistryError(
        `registry ${context.registry}: ${context.action} for ${context.reference} needs a token, but the token realm ${JSON.stringify(realm)} is not a URL`,
        context.registry,
        context.reference,
        401,
      );
    }
    if (service !== undefined) url.searchParams.set('service', service);
    // A challenge may ask for several scopes at once, separated by spaces.
    for (const one of scope.split(' ').filter(Boolean)) url.searchParams.append('scope', one);
    // Credentials travel in clear over plain HTTP: only to the loopback stand-ins of tests.
    if (basic && url.protocol !== 'https:' && !isLoopbackHost(url.host)) {
      throw new RegistryError(
        `registry ${context.registry}: refusing to send credentials to the token realm ${url.origin} over plain HTTP`,
        context.registry,
        context.reference,
        401,
      );
    }
    const tokenContext = { ...context, action: `token for ${context.action} (${url.origin}${url.pathname}, scope ${scope})` };
    let response: Response;
    try {
      response = await options.fetchImpl(url, {
        headers: { accept: 'application/json', ...(basic ? { authorization: basic } : {}) },
        signal: AbortSignal.timeout(options.timeoutMs),
      });
    } catch (err) {
      throw errorFromFailure(err, tokenContext, url.toString(), options.timeoutMs);
    }
    if (!response.ok) {
      throw await errorFromResponse(response, tokenContext, basic ? 'the credentials were refused' : 'no credentials were given');
    }
    const body = (await response.json().catch(() => undefined)) as { token?: unknown; access_token?: unknown; expires_in?: unknown } | undefined;
    const token = typeof body?.token === 'string' ? body.token : typeof body?.access_token === 'string' ? body.access_token : undefined;
    if (!token) {
      throw new RegistryError(
        `registry ${context.registry}: the token service ${url.origin}${url.pathname} answered without a token (neither "token" nor "access_token")`,
        context.registry,
        context.reference,
        response.status,
      );
    }
    const lifetimeSeconds = typeof body?.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : DEFAULT_TOKEN_SECONDS;
    return { header: `Bearer ${token}`, lifetimeSeconds };
  }
}
