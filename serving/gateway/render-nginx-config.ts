import { UserError } from '../../lib/errors/user-error.js';
import { DEPLOY_NAME_HEADER, MODEL_HEADER, VARIANT_HEADER } from './compile-route-table.js';
import type { RouteEntry, RouteTable, RouteVariant } from './route-table.js';

export interface NginxConfigOptions {
  /** nginx's `listen` parameter: a port (`8000`) or address and port (`127.0.0.1:8000`). */
  readonly listen: string;
  /** `worker_processes`: a count or `auto`. Default `auto`. */
  readonly workerProcesses?: number | 'auto';
  /** Bound on connecting (capped at 5 s), on each read and write to a model server, in ms (UPSTREAM_TIMEOUT_MS). Default 10000. */
  readonly upstreamTimeoutMs?: number;
  /** Largest request body (MAX_BODY_BYTES). Default 10 MiB. */
  readonly maxBodyBytes?: number;
  /** Where the table came from, for the header comment. */
  readonly source?: string;
}

// What may appear unquoted-safe in the generated file: nginx strings cannot escape `$`, and
// everything written comes from the route table, so every value is checked against these.
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const ROUTE = /^\/[A-Za-z0-9._~/-]*$/;
const HTTP_PATH = /^\/[A-Za-z0-9._~/%-]*$/;
/** Header names nginx exposes as $http_<name> with its default `ignore_invalid_headers on`. */
const NGINX_HEADER = /^[a-z0-9-]+$/;
const HOST = /^([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])$/;
const LISTEN = /^((\d{1,3}(\.\d{1,3}){3}|\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):)?\d{1,5}$/;

/**
 * The gateway's route table as an nginx configuration (nginx 1.22 or later), for teams that run
 * nginx as the data plane: the same routes, the same sticky A/B split, shadows, answer headers,
 * timeouts and body limit. Pure: returns the file's text; the same table gives the same bytes.
 *
 * - **Split.** One `split_clients` per A/B route over `"<model>:<sticky header value>"`, with the
 *   weights as percentages and the last weighted variant as `*`. nginx hashes that string with
 *   MurmurHash2 and the gateway computes exactly the same (pick-variant.ts), so a caller reaches the
 *   same variant through either. A caller without the header is hashed on `$request_id` (random),
 *   a weighted random pick as in the gateway.
 * - **Upstreams.** One `upstream` block per variant, named after its deployName, with kept-alive
 *   connections (closed after 4 s idle, below the model server's 5 s, as in the gateway).
 * - **Shadows.** `mirror` to an internal location per shadow; nginx drops the shadow's answer.
 * - **Errors.** nginx's own 502/504 become the gateway's JSON 503 (`retry-after: 1`); a model
 *   server's own answers, 4xx and 5xx included, pass through unchanged. Unknown paths get a JSON 404,
 *   other methods a 405, bodies over the limit a 413.
 *
 * Paths (pid, error log, temp files) are relative, so `nginx -p DIR -c FILE` keeps them in DIR.
 */
export function renderNginxConfig(table: RouteTable, options: NginxConfigOptions): string {
  if (!LISTEN.test(options.listen)) throw unsupported(`listen ${options.listen}`, 'must be a port or address:port, e.g. 8000 or 127.0.0.1:8000');
  const timeoutS = Math.max(1, Math.ceil((options.upstreamTimeoutMs ?? 10_000) / 1000));
  const connectS = Math.min(5, timeoutS);
  const maxBody = options.maxBodyBytes ?? 10 * 1024 * 1024;
  table.routes.forEach(checkRoute);

  const stickyHeaders = [...new Set(table.routes.filter((r) => servingOf(r).length > 1).map((r) => r.stickyHeader))].sort();
  const variants = table.routes.flatMap((r) => r.variants);
  const out: string[] = [];
  const line = (text = ''): void => void out.push(text);

  line(`# modelfleet gateway routes as an nginx configuration${options.source ? `, generated from ${options.source}` : ''}`);
  line('# by `modelfleet gateway nginx-config`. Do not edit: regenerate it when models.yaml changes.');
  line('# Run: nginx -p DIR -c THIS_FILE (pid, logs and temp files stay in DIR).');
  line(`worker_processes ${options.workerProcesses ?? 'auto'};`);
  line('pid nginx.pid;');
  line('error_log error.log warn;');
  line();
  line('events {');
  line('    worker_connections 4096;');
  line('}');
  line();
  line('http {');
  line('    access_log off;');
  line('    server_tokens off;');
  line('    default_type application/json;');
  line('    client_body_temp_path client_body_temp;');
  line('    proxy_temp_path proxy_temp;');
  line('    fastcgi_temp_path fastcgi_temp;');
  line('    uwsgi_temp_path uwsgi_temp;');
  line('    scgi_temp_path scgi_temp;');
  line();
  line('    # The gateway\'s limits: idle callers 5 s, headers 30 s, body gaps 60 s, bodies MAX_BODY_BYTES.');
  line('    keepalive_timeout 5s;');
  line('    keepalive_requests 100000;');
  line('    client_header_timeout 30s;');
  line('    client_body_timeout 60s;');
  line(`    client_max_body_size ${maxBody};`);
  line('    client_body_buffer_size 64k;');
  line();
  line('    # Kept-alive HTTP/1.1 to the model servers; UPSTREAM_TIMEOUT_MS bounds each step; no retries.');
  line('    proxy_http_version 1.1;');
  line('    proxy_set_header Connection "";');
  line(`    proxy_connect_timeout ${connectS}s;`);
  line(`    proxy_send_timeout ${timeoutS}s;`);
  line(`    proxy_read_timeout ${timeoutS}s;`);
  line('    proxy_next_upstream off;');
  line();
  if (stickyHeaders.length > 0) {
    line('    # Sticky keys: the header\'s value, or a random one ($request_id) when the caller sends none.');
    for (const header of stickyHeaders) {
      line(`    map $http_${underscored(header)} $${keyVariable(header)} {`);
      line('        "" $request_id;');
      line(`        default $http_${underscored(header)};`);
      line('    }');
    }
    line();
  }
  table.routes.forEach((route, i) => {
    const serving = servingOf(route);
    if (serving.length < 2) return;
    line(`    # ${route.route}: ${serving.map((v) => `${v.id} ${v.weight}%`).join(', ')}`);
    line(`    split_clients "${route.model}:$${keyVariable(route.stickyHeader)}" $modelfleet_split_${i} {`);
    serving.forEach((v, j) => line(`        ${j === serving.length - 1 ? '*' : `${v.weight}%`} "${v.deployName}";`));
    line('    }');
  });
  line();
  line('    # Each variant by deployName: its id (x-modelfleet-variant) and where its model server takes requests.');
  line('    map $modelfleet_deploy_name $modelfleet_variant {');
  for (const v of variants) line(`        "${v.deployName}" "${v.id}";`);
  line('    }');
  line('    map $modelfleet_deploy_name $modelfleet_upstream_url {');
  for (const v of variants) line(`        "${v.deployName}" "http://${v.deployName}${upstreamPath(v)}";`);
  line('    }');
  line();
  for (const v of variants) {
    line(`    upstream ${v.deployName} {`);
    line(`        server ${hostAndPort(v)};`);
    line('        keepalive 64;');
    line('        keepalive_timeout 4s;');
    line('        keepalive_requests 100000;');
    line('    }');
  }
  line();
  line('    server {');
  line(`        listen ${options.listen};`);
  line('        error_page 502 503 504 = @modelfleet_unavailable;');
  line('        error_page 413 = @modelfleet_too_large;');
  line();
  table.routes.forEach((route, i) => {
    const serving = servingOf(route);
    const shadows = route.variants.filter((v) => v.shadow);
    line(`        location = ${route.route} {`);
    line('            if ($request_method != POST) {');
    line('                add_header allow POST always;');
    line(`                return 405 '${jsonForNginx({ error: 'method not allowed', route: route.route, model: route.model, reason: `${route.route} takes POST with a JSON scoring body` })}';`);
    line('            }');
    line(`            set $modelfleet_deploy_name ${serving.length > 1 ? `$modelfleet_split_${i}` : `"${(serving[0] as RouteVariant).deployName}"`};`);
    line(`            set $modelfleet_model "${route.model}";`);
    for (const shadow of shadows) line(`            mirror /_modelfleet/mirror/${shadow.deployName};`);
    line('            proxy_pass $modelfleet_upstream_url;');
    line(`            add_header ${MODEL_HEADER} $modelfleet_model always;`);
    line(`            add_header ${VARIANT_HEADER} $modelfleet_variant always;`);
    line(`            add_header ${DEPLOY_NAME_HEADER} $modelfleet_deploy_name always;`);
    line('        }');
    for (const shadow of shadows) {
      line(`        location = /_modelfleet/mirror/${shadow.deployName} {`);
      line('            internal;');
      line(`            proxy_pass http://${shadow.deployName}${upstreamPath(shadow)};`);
      line('        }');
    }
  });
  line();
  line('        location = /healthz {');
  line(`            return 200 '${jsonForNginx({ status: 'ok' })}';`);
  line('        }');
  line('        location / {');
  line(`            return 404 '${jsonForNginx({ error: 'no route', reason: 'this path is not a model route', routes: table.routes.map((r) => r.route) })}';`);
  line('        }');
  line('        location @modelfleet_unavailable {');
  line('            add_header retry-after 1 always;');
  line(`            add_header ${MODEL_HEADER} $modelfleet_model always;`);
  line(`            add_header ${VARIANT_HEADER} $modelfleet_variant always;`);
  line(`            add_header ${DEPLOY_NAME_HEADER} $modelfleet_deploy_name always;`);
  line(`            return 503 '{"error":"model unavailable","model":"$modelfleet_model","variant":"$modelfleet_variant","deployName":"$modelfleet_deploy_name","reason":"the model server is down, refused or reset the connection, or did not answer within ${timeoutS} s"}';`);
  line('        }');
  line('        location @modelfleet_too_large {');
  line(`            return 413 '${jsonForNginx({ error: 'request body too large', reason: `the body exceeds the limit of ${maxBody} bytes (MAX_BODY_BYTES)` })}';`);
  line('        }');
  line('    }');
  line('}');
  return `${out.join('\n')}\n`;
}

function servingOf(route: RouteEntry): RouteVariant[] {
  // nginx refuses a 0% part; a variant without weight gets no callers either way.
  return route.variants.filter((v) => !v.shadow && v.weight > 0);
}

function checkRoute(route: RouteEntry, i: number): void {
  const where = `routes.${i} (${route.route})`;
  if (!ROUTE.test(route.route)) throw unsupported(`${where}.route`, 'must be a path of letters, digits and "._~/-"');
  if (!NAME.test(route.model)) throw unsupported(`${where}.model`, 'must be letters, digits and "._-"');
  if (servingOf(route).length > 1 && !NGINX_HEADER.test(route.stickyHeader)) {
    throw unsupported(`${where}.stickyHeader ${route.stickyHeader}`, 'nginx reads only header names of lower-case letters, digits and "-" (ignore_invalid_headers)');
  }
  route.variants.forEach((v, j) => {
    const at = `${where}.variants.${j}`;
    if (!NAME.test(v.deployName) || !NAME.test(v.id)) throw unsupported(`${at} (${v.deployName}, ${v.id})`, 'names must be letters, digits and "._-"');
    const url = new URL(v.upstream);
    if (url.protocol !== 'http:') throw unsupported(`${at}.upstream ${v.upstream}`, 'nginx upstreams here are plain http:// (put TLS in front of nginx, or serve this variant through the modelfleet gateway)');
    if (!HOST.test(url.hostname) || !HTTP_PATH.test(upstreamPath(v))) throw unsupported(`${at}.upstream ${v.upstream}`, 'must be http://host:port with a plain path');
  });
}

function upstreamPath(v: RouteVariant): string {
  return `${new URL(v.upstream).pathname.replace(/\/+$/, '')}${v.predictPath}`;
}

function hostAndPort(v: RouteVariant): string {
  const url = new URL(v.upstream);
  return `${url.hostname}:${url.port || '80'}`;
}

function underscored(header: string): string {
  return header.replaceAll('-', '_');
}

function keyVariable(header: string): string {
  return `modelfleet_key_${underscored(header)}`;
}

/** JSON in a single-quoted nginx string: no `'`, `\` or `$` may remain (nginx cannot escape `$`). */
function jsonForNginx(value: unknown): string {
  const text = JSON.stringify(value);
  if (/['\\$]/.test(text)) throw unsupported(text, 'contains a character nginx strings cannot hold');
  return text;
}

function unsupported(what: string, why: string): UserError {
  return new UserError('GATEWAY_NGINX_UNSUPPORTED', `the nginx config cannot express ${what}: ${why}`,
    'Change the route table (models.yaml) so it fits, or serve these routes with the modelfleet gateway.');
}
