import { watch, type FSWatcher } from 'node:fs';
import type { Server } from 'node:net';
import { dirname } from 'node:path';
import { UserError } from '../../lib/errors/user-error.js';
import { createLogger, type Logger } from '../../lib/log.js';
import { buildOpenApiDocument } from './build-openapi-document.js';
import { ColdStartGate, type Waker } from './cold-start-gate.js';
import { LiveTable, type GateFor } from './compile-route-table.js';
import { GatewayMetrics } from './gateway-metrics.js';
import { FrontServer, type Exchange } from '../../lib/http1/front-server.js';
import { proxyRequest, type ProxySettings, type ShadowState } from './proxy-request.js';
import { renderDocsPage } from './render-docs-page.js';
import { renderGateStats } from './render-gate-stats.js';
import { createReadyProbeWaker } from './ready-probe-waker.js';
import { readRouteTable, validateRouteTable } from './route-table-file.js';
import { ROUTE_TABLE_FORMAT, versionPath, VERSIONS_INFIX, type RouteTable } from './route-table.js';
import { sendJson, sendText } from './send-json.js';
import { UpstreamPools } from './upstream-pools.js';

export interface GatewayOptions {
  /** routes.json to serve; reloaded on `reload()`, `POST /-/reload` and (with `watch`) when the file changes. */
  readonly routesFile?: string;
  /** A fixed table instead of a file (tests, embedding). */
  readonly table?: RouteTable;
  /** Reload when routesFile changes on disk. Default false. */
  readonly watch?: boolean;
  /** Bound on connecting, on the first response byte and on each gap in the response body. Default 10 s. */
  readonly upstreamTimeoutMs?: number;
  /** Largest request body forwarded. Default 10 MiB. */
  readonly maxBodyBytes?: number;
  /** Largest model answer relayed; answers are collected, so one that breaks off half-way still becomes a clean 503. Default 64 MiB. */
  readonly maxAnswerBytes?: number;
  /** Mirrored requests in flight across all shadows before further mirrors are dropped. Default 256. */
  readonly maxShadowInFlight?: number;
  /** How long `close()` waits for in-flight requests. Default 10 s. */
  readonly drainTimeoutMs?: number;
  /** Version shown in the OpenAPI document. */
  readonly version?: string;
  readonly logger?: Logger;
  /** [0, 1) source for requests without a sticky key. Default Math.random. */
  readonly random?: () => number;
  /**
   * Starts (and stops) variants that may scale to zero. Default: watch the ready path only, for
   * platforms that scale on the gateway's pending-requests metric themselves (KEDA).
   */
  readonly waker?: Waker;
}

export interface ReloadResult {
  readonly routes: number;
  readonly changed: boolean;
}

export interface Gateway {
  readonly server: Server;
  readonly metrics: GatewayMetrics;
  /** The table requests are routed by now. */
  table(): RouteTable;
  /** Starts listening; resolves with the base URL, e.g. http://127.0.0.1:8000. */
  listen(port: number, host?: string): Promise<string>;
  /** Re-reads routesFile and swaps tables atomically; on a bad file keeps the old table and throws the UserError. */
  reload(): Promise<ReloadResult>;
  /** Swaps in a table directly (same atomic swap as reload). */
  replaceTable(table: RouteTable): void;
  /** Stops accepting, lets in-flight requests finish (up to drainTimeoutMs), closes upstream pools. */
  close(): Promise<void>;
}

/** GET /-/demand/<deployName>: what a scaler reads for a variant that scales to zero. */
const DEMAND_PREFIX = '/-/demand/';
const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);

/**
 * The gateway: one HTTP server in front of the fleet. Its data path is a lean HTTP/1.1 server and
 * client on `node:net` with Node's own llhttp parser (http1/), not `node:http` + undici: measured
 * side by side, each of those two layers cost about as much CPU per request as the whole proxy
 * does without them (docs/gateway.md, "Performance").
 */
export async function createGateway(options: GatewayOptions): Promise<Gateway> {
  if (!options.routesFile && !options.table) {
    throw new UserError('USAGE', 'the gateway needs a route table: pass --routes FILE (or set GATEWAY_ROUTES)');
  }
  const logger = options.logger ?? createLogger({ component: 'gateway' });
  const metrics = new GatewayMetrics();
  const upstreamTimeoutMs = options.upstreamTimeoutMs ?? 10_000;
  const pools = new UpstreamPools({
    connectTimeoutMs: Math.min(upstreamTimeoutMs, 5_000),
    upstreamTimeoutMs,
    maxAnswerBytes: options.maxAnswerBytes ?? 64 * 1024 * 1024,
    // Below Node's default server keepAliveTimeout (5 s), so the gateway closes idle sockets first
    // and rarely writes a request onto a socket the model server is closing.
    idleTimeoutMs: 4_000,
  });
  const settings: ProxySettings = {
    logger,
    upstreamTimeoutMs,
    maxBodyBytes: options.maxBodyBytes ?? 10 * 1024 * 1024,
    maxShadowInFlight: options.maxShadowInFlight ?? 256,
    random: options.random ?? Math.random,
  };
  const shadowState: ShadowState = { inFlight: 0 };
  const version = options.version ?? '0.0.0';

  // One gate per variant that may sleep, kept across reloads like its counters (and its queue).
  const waker = options.waker ?? createReadyProbeWaker();
  const gates = new Map<string, ColdStartGate>();
  /** Gates of the table being served; the others (variants moved or removed by a reload) never put anything to sleep. */
  let tableGates = new Set<ColdStartGate>();
  const compile = (table: RouteTable): LiveTable => {
    const collected = new Set<ColdStartGate>();
    const compiled = new LiveTable(table, pools, metrics, (entry, spec, labels) => {
      const gate = gateFor(entry, spec, labels);
      if (gate) collected.add(gate);
      return gate;
    });
    tableGates = collected;
    return compiled;
  };
  const gateFor: GateFor = (_entry, spec, labels) => {
    const scale = spec.scaleToZero;
    if (scale === undefined) return undefined;
    // deployName is unique in a fleet: one gate per instance, whatever its settings become.
    const key = `${spec.deployName}\u0000${spec.upstream}`;
    let gate = gates.get(key);
    if (!gate) {
      gate = new ColdStartGate(scale, spec.deployName, spec.upstream, labels, waker, logger);
      gates.set(key, gate);
    } else gate.spec = scale;
    return gate;
  };
  metrics.addText(() => renderGateStats(gates.values()));
  const gateSweeper = setInterval(() => {
    const now = performance.now();
    for (const gate of gates.values()) gate.sweep(now, tableGates.has(gate));
  }, 100);
  gateSweeper.unref();

  let live = compile(options.table ? validateRouteTable(options.table, 'the route table') : await readRouteTable(options.routesFile as string));
  /** Replaced tables whose requests have not all finished yet (close() waits for them too). */
  let retired: LiveTable[] = [];
  const inFlight = (): number => {
    retired = retired.filter((t) => t.inFlight > 0);
    return retired.reduce((n, t) => n + t.inFlight, live.inFlight);
  };
  let openapiText = '';
  let summaryText = '';
  const publish = (): void => {
    // Built once per table, not per request: these documents only change when the table does.
    openapiText = JSON.stringify(buildOpenApiDocument(live.table, version));
    summaryText = JSON.stringify(summarize(live.table, options.routesFile));
    metrics.routes.set(live.table.routes.length);
  };
  publish();

  const replaceTable = (table: RouteTable): void => {
    const checked = validateRouteTable(table, 'the route table');
    const previous = live;
    live = compile(checked);
    publish();
    previous.retire();
    if (previous.inFlight > 0) retired.push(previous);
  };

  const readAndSwap = async (): Promise<ReloadResult> => {
    try {
      if (!options.routesFile) throw new UserError('GATEWAY_OPTION_INVALID', 'this gateway serves a fixed table; there is no routes file to reload');
      const table = await readRouteTable(options.routesFile);
      const changed = JSON.stringify(table) !== JSON.stringify(live.table);
      if (changed) replaceTable(table);
      metrics.reloads.inc({ result: 'ok' });
      logger.info({ routes: table.routes.length, changed, file: options.routesFile }, 'route table reloaded');
      return { routes: table.routes.length, changed };
    } catch (err) {
      metrics.reloads.inc({ result: 'error' });
      logger.error({ err: err instanceof Error ? err.message : String(err), file: options.routesFile }, 'route table reload failed; still serving the previous table');
      throw err;
    }
  };
  // Reloads run one after another (SIGHUP, the file watch and /-/reload may coincide); each reads the
  // file after the previous one finished, so the last request always sees the latest file.
  let lastReload: Promise<unknown> = Promise.resolve();
  const reload = (): Promise<ReloadResult> => {
    const next = lastReload.catch(() => undefined).then(readAndSwap);
    lastReload = next;
    return next;
  };

  let draining = false;
  const handle = (ex: Exchange): void => {
    const url = ex.url;
    const q = url.indexOf('?');
    let path = q === -1 ? url : url.slice(0, q);
    const table = live;
    let route = table.routes.get(path);
    if (!route && path.length > 1 && path.endsWith('/')) {
      path = path.replace(/\/+$/, '');
      route = table.routes.get(path);
    }
    if (route) {
      if (ex.method === 'POST') {
        proxyRequest(settings, shadowState, ex, route, table);
        return;
      }
      sendJson(ex, 405, { error: 'method not allowed', route: route.entry.route, model: route.entry.model, reason: `${path} takes POST with a JSON scoring body` }, 'allow: POST\r\n');
      return;
    }
    const get = ex.method === 'GET' || ex.method === 'HEAD';
    switch (path) {
      case '/healthz':
        if (get) return sendJson(ex, 200, { status: 'ok' });
        break;
      case '/readyz':
        if (get) return draining ? sendJson(ex, 503, { status: 'draining' }) : sendJson(ex, 200, { status: 'ready', routes: live.table.routes.length });
        break;
      case '/routes':
        if (get) return sendText(ex, 200, 'application/json; charset=utf-8', summaryText);
        break;
      case '/openapi.json':
        if (get) return sendText(ex, 200, 'application/json; charset=utf-8', openapiText);
        break;
      case '/docs':
        // Rendered per request so its curl lines name the host the reader reached the gateway by.
        if (get) return sendText(ex, 200, 'text/html; charset=utf-8', renderDocsPage(live.table, `http://${safeHost(ex.header('host'))}`));
        break;
      case '/metrics':
        if (get) {
          metrics.render().then(
            (text) => sendText(ex, 200, metrics.contentType, text),
            (err: unknown) => sendJson(ex, 500, { error: 'metrics unavailable', reason: String(err) }),
          );
          return;
        }
        break;
      case '/-/reload':
        if (ex.method === 'POST') return handleReload(ex);
        break;
      default:
        if (get && path.startsWith(DEMAND_PREFIX)) return sendDemand(ex, path.slice(DEMAND_PREFIX.length));
        metrics.unknownRoutes.inc();
        if (sendUnknownVersion(ex, table, path)) return;
        return sendJson(ex, 404, {
          error: 'no route',
          path,
          reason: `${path} is not a model route; known routes are listed in "routes" (and at /routes, /docs)`,
          routes: table.table.routes.map((r) => r.route),
        });
    }
    sendJson(ex, 405, { error: 'method not allowed', path, reason: `${path} does not take ${ex.method}` });
  };

  /** `<known route>/versions/<unknown>`: a 404 that lists the versions the route has; false for any other path. */
  const sendUnknownVersion = (ex: Exchange, table: LiveTable, path: string): boolean => {
    const at = path.lastIndexOf(VERSIONS_INFIX);
    if (at <= 0) return false;
    const route = path.slice(0, at);
    const versions = table.versions.get(route);
    if (versions === undefined) return false;
    const version = path.slice(at + VERSIONS_INFIX.length);
    const model = table.routes.get(route)?.entry.model ?? '';
    sendJson(ex, 404, {
      error: 'no such version',
      route,
      version,
      reason: versions.length === 0
        ? `${route} (model ${model}) knows no versions of its instances, so none can be addressed`
        : `${route} (model ${model}) has no running version "${version}"; the versions it has are listed in "versions"`,
      versions,
    });
    return true;
  };

  /** One variant's demand, for KEDA's metrics-api trigger (k8s-templates/model/scaled-object.yaml.hbs). */
  const sendDemand = (ex: Exchange, deployName: string): void => {
    const gate = [...gates.values()].find((g) => g.deployName === deployName);
    if (!gate) {
      sendJson(ex, 404, { error: 'no such variant', deployName, reason: `${deployName} is no variant that scales to zero in the route table` });
      return;
    }
    sendJson(ex, 200, { deployName, ...gate.demand(performance.now()) });
  };

  const handleReload = (ex: Exchange): void => {
    // Only callers on this machine may reload (the deploy step or an operator on the pod).
    if (!LOOPBACK.has(ex.remoteAddress ?? '')) {
      sendJson(ex, 403, { error: 'forbidden', reason: 'POST /-/reload is accepted from localhost only' });
      return;
    }
    reload().then(
      (result) => sendJson(ex, 200, { reloaded: true, ...result }),
      (err: unknown) => sendJson(ex, err instanceof UserError ? 422 : 500, {
        error: 'reload failed; still serving the previous table',
        reason: err instanceof Error ? err.message : String(err),
      }),
    );
  };

  const front = new FrontServer({ onRequest: handle, keepAliveTimeoutMs: 5_000, requestTimeoutMs: 60_000, headersTimeoutMs: 30_000, maxHeaderSize: 16 * 1024 });

  let watcher: FSWatcher | undefined;
  if (options.watch && options.routesFile) {
    const file = options.routesFile;
    let timer: NodeJS.Timeout | undefined;
    // Watch the folder, not the file, and react to any entry: writers replace routes.json by rename
    // (a file watch loses the new inode), and a Kubernetes ConfigMap volume swaps its `..data` symlink
    // without touching the file's own name (https://kubernetes.io/docs/concepts/configuration/configmap/#mounted-configmaps-are-updated-automatically).
    // A reload that reads the same table changes nothing.
    watcher = watch(dirname(file), () => {
      clearTimeout(timer);
      timer = setTimeout(() => void reload().catch(() => undefined), 100);
    });
    watcher.unref();
  }

  const close = async (): Promise<void> => {
    if (draining) return;
    draining = true;
    watcher?.close();
    clearInterval(gateSweeper);
    for (const gate of gates.values()) gate.expireAll('the gateway is shutting down');
    // Connections close after the answers they owe; whatever is still open at the deadline is cut.
    await front.close(options.drainTimeoutMs ?? 10_000);
    await pools.closeAll(inFlight() > 0);
  };

  return {
    server: front.server,
    metrics,
    table: () => live.table,
    listen: (port, host = '127.0.0.1') => new Promise<string>((resolve, reject) => {
      front.listen(port, host).then((address) => {
        const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
        resolve(`http://${shown}:${address.port}`);
      }, (err: NodeJS.ErrnoException) => {
        reject(new UserError('GATEWAY_LISTEN_FAILED', `cannot listen on ${host}:${port}: ${err.code ?? err.message}`, undefined, { cause: err }));
      });
    }),
    reload,
    replaceTable,
    close,
  };
}

function summarize(table: RouteTable, file: string | undefined): unknown {
  return {
    format: ROUTE_TABLE_FORMAT,
    file: file ?? null,
    routes: table.routes.map((r) => ({
      route: r.route,
      model: r.model,
      stickyHeader: r.stickyHeader,
      variants: r.variants.map((v) => ({ id: v.id, deployName: v.deployName, upstream: v.upstream, weight: v.weight, shadow: v.shadow, source: v.source, ...(v.version === undefined ? {} : { version: v.version, path: versionPath(r.route, v.version) }) })),
      ...(r.kept === undefined ? {} : { kept: r.kept.map((k) => ({ id: k.id, deployName: k.deployName, version: k.version, path: versionPath(r.route, k.version), upstream: k.upstream, source: k.source })) }),
    })),
  };
}

/** The Host header if it looks like a host[:port] (it lands in copy-paste shell lines), else 127.0.0.1. */
function safeHost(host: string | undefined): string {
  return host !== undefined && /^[A-Za-z0-9.-]+(:\d+)?$|^\[[0-9A-Fa-f:]+\](:\d+)?$/.test(host) ? host : '127.0.0.1';
}
