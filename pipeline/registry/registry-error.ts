/**
 * Why a registry request failed, worded for the person reading a job log: which registry,
 * which repository:tag, what was being done, and what the registry itself said
 * (https://distribution.github.io/distribution/spec/api/#errors: `{"errors":[{code,message,detail}]}`).
 * Callers turn it into a catalogued UserError; the fields let them pick the code.
 */
export class RegistryError extends Error {
  override readonly name = 'RegistryError';
  constructor(
    message: string,
    /** `host[:port]` of the registry. */
    readonly registry: string,
    /** `repository:tag` (or `repository@digest`) the request was about. */
    readonly reference: string,
    /** HTTP status, or `unreachable` when no HTTP answer came back. */
    readonly status: number | 'unreachable',
    /** The registry's own error code, e.g. `MANIFEST_INVALID`, when its body had one. */
    readonly code?: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** What the request was for, e.g. `PUT manifest`; part of every message. */
export interface RequestContext {
  readonly registry: string;
  readonly reference: string;
  readonly action: string;
}

/** The longest registry error detail a message quotes (GitLab's details can be long). */
const MAX_DETAIL_CHARS = 300;

/** An error for an HTTP answer other than the expected ones; reads the body for the registry's own words. */
export async function errorFromResponse(response: Response, context: RequestContext, hint?: string): Promise<RegistryError> {
  const body = await response.text().catch(() => '');
  const { code, text } = describeErrorBody(body);
  const said = text ? `: ${text}` : response.statusText ? `: ${response.statusText}` : '';
  const message =
    `registry ${context.registry}: ${context.action} for ${context.reference} answered HTTP ${response.status}` +
    `${code ? ` ${code}` : ''}${said}${hint ? ` (${hint})` : ''}`;
  return new RegistryError(message, context.registry, context.reference, response.status, code);
}

/** An error for a request that got no HTTP answer at all (refused, timed out, DNS, TLS). */
export function errorFromFailure(err: unknown, context: RequestContext, url: string, timeoutMs: number): RegistryError {
  const name = (err as { name?: unknown } | null)?.name;
  const cause = (err as { cause?: { code?: unknown; message?: unknown } } | null)?.cause;
  const code = typeof cause?.code === 'string' ? cause.code : undefined;
  let why: string;
  if (name === 'TimeoutError' || name === 'AbortError') why = `did not answer within ${timeoutMs} ms`;
  else if (code === 'ECONNREFUSED') why = 'does not answer (connection refused)';
  else if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') why = 'does not answer (its host name does not resolve)';
  else why = `does not answer (${code ?? (typeof cause?.message === 'string' ? cause.message : String(err))})`;
  return new RegistryError(
    `registry ${context.registry} ${why}: ${context.action} for ${context.reference} at ${url} failed; is the registry running and the host right?`,
    context.registry,
    context.reference,
    'unreachable',
    code,
    { cause: err },
  );
}

/** The first `errors[]` entry of a registry error body as `code` and `message (detail)`; raw text otherwise. */
export function describeErrorBody(body: string): { code?: string; text: string } {
  try {
    const parsed = JSON.parse(body) as { errors?: Array<{ code?: unknown; message?: unknown; detail?: unknown }> };
    const first = Array.isArray(parsed.errors) ? parsed.errors[0] : undefined;
    if (first) {
      const detail = typeof first.detail === 'string' ? first.detail : first.detail === undefined ? '' : JSON.stringify(first.detail);
      const message = typeof first.message === 'string' ? first.message : '';
      const more = parsed.errors!.length > 1 ? ` (+${parsed.errors!.length - 1} more)` : '';
      return {
        ...(typeof first.code === 'string' ? { code: first.code } : {}),
        text: `${message}${detail ? ` (${detail.slice(0, MAX_DETAIL_CHARS)})` : ''}${more}`,
      };
    }
  } catch {
    // Not JSON (a proxy's HTML page, an empty body): quote the start of it.
  }
  return { text: body.trim().slice(0, MAX_DETAIL_CHARS) };
}
