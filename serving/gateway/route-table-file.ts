import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { UserError } from '../../lib/errors/user-error.js';
import { writeFileAtomically } from './write-file-atomically.js';
import { ROUTE_TABLE_FORMAT, type JsonSchema, type JsonValue, type RouteTable } from './route-table.js';

/** Paths the gateway answers itself; a model route may not take them. */
export const RESERVED_PATHS: readonly string[] = ['/healthz', '/readyz', '/metrics', '/routes', '/openapi.json', '/docs', '/-/reload'];

// RFC 9110 token characters: what a header name may contain.
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/;

const jsonValue: z.ZodType<JsonValue> = z.lazy(() =>
  z.union([z.string(), z.number(), z.boolean(), z.null(), z.array(jsonValue), z.record(z.string(), jsonValue)]),
);

// Names and paths go into HTTP heads (x-modelfleet-* answer headers, the request line to the
// model server): visible ASCII only, so no value can end a header line or start a new one.
const VISIBLE = /^[!-~]+$/;
const visibleName = z.string().min(1).regex(VISIBLE, 'must be visible ASCII characters (no spaces or control characters)');

// A version becomes one path segment (`<route>/versions/<version>`) and an answer header value.
const versionName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'must be a version like 3 or local-0123456789ab (letters, digits, ".", "_" and "-", at most 128)');
const upstreamUrl = z.string().refine(isHttpUrl, 'must be an http:// or https:// URL, e.g. http://127.0.0.1:8081');
const predictPath = z.string().regex(/^\/[!-~]*$/, 'must be a path starting with "/" (visible ASCII characters)');

const variantSchema = z.object({
  id: visibleName,
  deployName: visibleName,
  upstream: upstreamUrl,
  predictPath,
  weight: z.number().int().min(0).max(100),
  shadow: z.boolean(),
  source: z.string(),
  inputSchema: z.record(z.string(), jsonValue).optional(),
  inputExample: jsonValue.optional(),
  scaleToZero: z.object({
    idleSeconds: z.number().int().min(1),
    maxHoldMs: z.number().int().min(1),
    maxPending: z.number().int().min(1),
    concurrency: z.number().int().min(1),
    readyPath: predictPath,
  }).optional(),
  version: versionName.optional(),
});

const keptSchema = z.object({
  id: visibleName,
  deployName: visibleName,
  version: versionName,
  upstream: upstreamUrl,
  predictPath,
  source: z.string(),
});

const tableSchema = z.object({
  format: z.literal(ROUTE_TABLE_FORMAT),
  routes: z.array(
    z.object({
      route: z.string().startsWith('/'),
      model: visibleName,
      stickyHeader: z.string().toLowerCase().regex(HEADER_NAME, 'must be an HTTP header name'),
      variants: z.array(variantSchema).min(1),
      kept: z.array(keptSchema).optional(),
    }),
  ),
});

/**
 * Reads routes.json text into a RouteTable, or throws one UserError listing every problem
 * (path into the file + what is wrong). `where` names the file in messages.
 */
export function parseRouteTable(text: string, where: string): RouteTable {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new UserError('GATEWAY_ROUTES_INVALID', `${where}: not valid JSON (${(err as Error).message})`);
  }
  return validateRouteTable(json, where);
}

/** Checks a route table given as data (parsed JSON, or a table built in code) against every rule of parseRouteTable. */
export function validateRouteTable(json: unknown, where: string): RouteTable {
  const parsed = tableSchema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`);
    throw invalid(where, problems);
  }
  const table = parsed.data;
  const problems: string[] = [];
  const seen = new Set<string>();
  table.routes.forEach((entry, i) => {
    if (seen.has(entry.route)) problems.push(`routes.${i}.route: ${entry.route} appears twice`);
    seen.add(entry.route);
    if (RESERVED_PATHS.includes(entry.route)) problems.push(`routes.${i}.route: ${entry.route} is a gateway endpoint (${RESERVED_PATHS.join(', ')})`);
    const serving = entry.variants.filter((v) => !v.shadow);
    const total = serving.reduce((sum, v) => sum + v.weight, 0);
    if (serving.length === 0) problems.push(`routes.${i} (${entry.route}): has only shadow variants; one variant must serve`);
    else if (total !== 100) problems.push(`routes.${i} (${entry.route}): serving weights must add up to 100 (they add up to ${total})`);
    const keptVersions = new Set<string>();
    (entry.kept ?? []).forEach((kept, k) => {
      if (!entry.variants.some((v) => v.deployName === kept.deployName)) problems.push(`routes.${i}.kept.${k}.deployName: ${kept.deployName} is no variant of ${entry.route}`);
      if (keptVersions.has(kept.version)) problems.push(`routes.${i}.kept.${k}.version: version ${kept.version} is kept twice for ${entry.route}`);
      keptVersions.add(kept.version);
    });
  });
  // A route under another's /versions/ would be answered instead of that version (or the reverse).
  for (const entry of table.routes) {
    const owner = table.routes.find((other) => entry.route.startsWith(`${other.route}/versions/`));
    if (owner) problems.push(`routes: ${entry.route} lies under ${owner.route}/versions/, where the gateway answers the versions of ${owner.model}`);
  }
  if (problems.length > 0) throw invalid(where, problems);
  return {
    format: ROUTE_TABLE_FORMAT,
    routes: table.routes.map((r) => ({
      ...r,
      variants: r.variants.map((v) => ({
        ...v,
        upstream: v.upstream.replace(/\/+$/, ''),
        ...(v.inputSchema === undefined ? {} : { inputSchema: v.inputSchema as JsonSchema }),
      })),
      ...(r.kept === undefined ? {} : { kept: r.kept.map((k) => ({ ...k, upstream: k.upstream.replace(/\/+$/, '') })) }),
    })),
  };
}

export async function readRouteTable(file: string): Promise<RouteTable> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new UserError('FILE_NOT_FOUND', `cannot read the route table ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
      'Write it with `modelfleet gateway routes --fleet models.yaml --out routes.json` (or let `modelfleet deploy` write it), then pass --routes.', { cause: err });
  }
  return parseRouteTable(text, file);
}

/** The file content: stable key order and a final newline, so the same table is the same bytes. */
export function formatRouteTable(table: RouteTable): string {
  return `${JSON.stringify(table, null, 2)}\n`;
}

/**
 * Writes routes.json atomically (temp file in the same folder, then rename), so a gateway that
 * reloads at any moment reads the old table or the new one, never half of one.
 */
export async function writeRouteTable(file: string, table: RouteTable): Promise<void> {
  await writeFileAtomically(file, formatRouteTable(table));
}

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.search === '' && url.hash === '';
  } catch {
    return false;
  }
}

function invalid(where: string, problems: readonly string[]): UserError {
  const shown = problems.slice(0, 5).join('; ');
  const more = problems.length > 5 ? `; and ${problems.length - 5} more` : '';
  return new UserError('GATEWAY_ROUTES_INVALID', `${where}: ${shown}${more}`,
    'Regenerate the route table from models.yaml with `modelfleet gateway routes --fleet models.yaml --out routes.json`.');
}
