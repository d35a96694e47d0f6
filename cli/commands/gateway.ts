import type { Command } from 'commander';
import { UserError } from '../../lib/errors/user-error.js';
import type { Waker } from '../../serving/gateway/cold-start-gate.js';

export interface ServeFlags {
  routes?: string;
  port?: string;
  host?: string;
  upstreamTimeoutMs?: string;
  maxBodyBytes?: string;
  watch: boolean;
}

interface RoutesFlags {
  fleet: string;
  upstream: string;
  out: string;
}

interface NginxFlags {
  fleet?: string;
  routes?: string;
  upstream: string;
  listen: string;
  workerProcesses: string;
  upstreamTimeoutMs?: string;
  maxBodyBytes?: string;
  out: string;
}

/**
 * `modelfleet gateway --routes FILE` serves the fleet behind one port;
 * `modelfleet gateway routes` writes that FILE from models.yaml;
 * `modelfleet gateway nginx-config` writes the same routes as an nginx configuration.
 * Flags override the environment (GATEWAY_ROUTES, PORT, HOST, UPSTREAM_TIMEOUT_MS, MAX_BODY_BYTES; LOG_LEVEL for logs).
 */
export function register(program: Command): void {
  const gateway = withServeOptions(program.command('gateway'))
    .description('Run the gateway: one route per model, A/B splits, shadows, metrics, OpenAPI (docs/gateway.md).')
    .action(async (flags: ServeFlags) => {
      await serveGateway(flags);
    });

  gateway
    .command('routes')
    .description('Write the gateway route table from models.yaml.')
    .option('--fleet <file>', 'the fleet file', 'models.yaml')
    .option('--upstream <template>', 'base URL of each variant\'s model server, {deployName} replaced; the default names its Kubernetes Service', 'http://{deployName}:80')
    .option('--out <file>', 'where to write the route table', 'build/gateway/routes.json')
    .action(async (flags: RoutesFlags) => {
      const [{ loadFleet }, { buildRouteTable }, { readRouteInputs }, { writeRouteTable }] = await Promise.all([
        import('../../generator/fleet/load-fleet.js'),
        import('../../serving/gateway/route-table.js'),
        import('../../serving/gateway/read-route-inputs.js'),
        import('../../serving/gateway/route-table-file.js'),
      ]);
      checkUpstreamTemplate(flags.upstream);
      const fleet = loadFleet(flags.fleet);
      const inputs = await readRouteInputs(fleet);
      const table = buildRouteTable(fleet, (name) => flags.upstream.replaceAll('{deployName}', name), { inputsFor: (name) => inputs.get(name) });
      await writeRouteTable(flags.out, table);
      console.log(`wrote ${flags.out}: ${table.routes.length} route(s), ${table.routes.reduce((n, r) => n + r.variants.length, 0)} variant(s)`);
    });

  gateway
    .command('nginx-config')
    .description('Write an nginx configuration that serves the same routes: sticky A/B with split_clients (the same caller reaches the same variant as through the gateway), shadows with mirror.')
    .option('--fleet <file>', 'the fleet file (default models.yaml, unless --routes is given)')
    .option('--routes <file>', 'a route table (routes.json) instead of the fleet')
    .option('--upstream <template>', 'with --fleet: base URL of each variant\'s model server, {deployName} replaced', 'http://{deployName}:80')
    .option('--listen <address>', 'nginx listen parameter: port or address:port', '8000')
    .option('--worker-processes <n>', 'nginx worker_processes: a number or auto', 'auto')
    .option('--upstream-timeout-ms <ms>', 'give up on a model server after this long (default 10000)')
    .option('--max-body-bytes <n>', 'largest request body (default 10485760)')
    .option('--out <file>', 'where to write the configuration', 'build/gateway/nginx.conf')
    .action(async (flags: NginxFlags, command: Command) => {
      // `gateway` itself takes --routes (the file it serves), so commander hands that flag to the parent.
      const routes = flags.routes ?? (command.parent?.opts() as ServeFlags | undefined)?.routes;
      await writeNginxConfig({ ...flags, ...(routes === undefined ? {} : { routes }) });
    });
}

async function writeNginxConfig(flags: NginxFlags): Promise<void> {
  const [{ renderNginxConfig }, { readRouteTable }, { writeFileAtomically }] = await Promise.all([
    import('../../serving/gateway/render-nginx-config.js'),
    import('../../serving/gateway/route-table-file.js'),
    import('../../serving/gateway/write-file-atomically.js'),
  ]);
  if (flags.fleet !== undefined && flags.routes !== undefined) {
    throw new UserError('USAGE', 'pass either --fleet or --routes, not both', 'The config is written from models.yaml (--fleet) or from a route table (--routes).');
  }
  let table;
  let source: string;
  if (flags.routes !== undefined) {
    table = await readRouteTable(flags.routes);
    source = flags.routes;
  } else {
    checkUpstreamTemplate(flags.upstream);
    const [{ loadFleet }, { buildRouteTable }, { validateRouteTable }] = await Promise.all([
      import('../../generator/fleet/load-fleet.js'),
      import('../../serving/gateway/route-table.js'),
      import('../../serving/gateway/route-table-file.js'),
    ]);
    source = flags.fleet ?? 'models.yaml';
    table = validateRouteTable(buildRouteTable(loadFleet(source), (name) => flags.upstream.replaceAll('{deployName}', name)), `the route table from ${source} with --upstream ${flags.upstream}`);
  }
  const workers = flags.workerProcesses === 'auto' ? 'auto' : parseWhole('--worker-processes', flags.workerProcesses, 1, 1, 1024);
  const text = renderNginxConfig(table, {
    listen: flags.listen,
    workerProcesses: workers,
    upstreamTimeoutMs: parseWhole('--upstream-timeout-ms', flags.upstreamTimeoutMs, 10_000, 1, 600_000),
    maxBodyBytes: parseWhole('--max-body-bytes', flags.maxBodyBytes, 10 * 1024 * 1024, 1, 1024 * 1024 * 1024),
    source,
  });
  await writeFileAtomically(flags.out, text);
  console.log(`wrote ${flags.out}: ${table.routes.length} route(s); run it with nginx -p DIR -c ${flags.out}`);
}

/** The options of every command that runs the gateway (`gateway`, and the local target's `local-gateway`). */
export function withServeOptions(command: Command): Command {
  return command
    .option('--routes <file>', 'route table (routes.json); env GATEWAY_ROUTES')
    .option('--port <n>', 'port to listen on; env PORT (default 8000)')
    .option('--host <address>', 'address to bind; env HOST (default 127.0.0.1; 0.0.0.0 in a container)')
    .option('--upstream-timeout-ms <ms>', 'give up on a model server after this long; env UPSTREAM_TIMEOUT_MS (default 10000)')
    .option('--max-body-bytes <n>', 'largest request body forwarded; env MAX_BODY_BYTES (default 10485760)')
    .option('--no-watch', 'do not reload when the routes file changes (SIGHUP and POST /-/reload still reload)');
}

/** Runs the gateway until SIGTERM/SIGINT; `waker` wakes models that scale to zero (the local target's). */
export async function serveGateway(flags: ServeFlags, waker?: Waker): Promise<void> {
  const routesFile = flags.routes ?? process.env.GATEWAY_ROUTES;
  if (!routesFile) {
    throw new UserError('USAGE', 'no route table: pass --routes FILE or set GATEWAY_ROUTES',
      'Write one with `modelfleet gateway routes --fleet models.yaml --out routes.json`.');
  }
  const port = parseWhole('--port / PORT', flags.port ?? process.env.PORT, 8000, 0, 65_535);
  const host = flags.host ?? process.env.HOST ?? '127.0.0.1';
  const upstreamTimeoutMs = parseWhole('--upstream-timeout-ms / UPSTREAM_TIMEOUT_MS', flags.upstreamTimeoutMs ?? process.env.UPSTREAM_TIMEOUT_MS, 10_000, 1, 600_000);

  const maxBodyBytes = parseWhole('--max-body-bytes / MAX_BODY_BYTES', flags.maxBodyBytes ?? process.env.MAX_BODY_BYTES, 10 * 1024 * 1024, 1, 1024 * 1024 * 1024);

  const { createGateway } = await import('../../serving/gateway/create-gateway.js');
  const { createLogger } = await import('../../lib/log.js');
  const logger = createLogger({ component: 'gateway' });
  const gateway = await createGateway({ routesFile, watch: flags.watch, upstreamTimeoutMs, maxBodyBytes, logger, version: process.env.npm_package_version ?? '0.1.0', ...(waker ? { waker } : {}) });
  const url = await gateway.listen(port, host);
  logger.info({ url, routes: gateway.table().routes.length, file: routesFile, upstreamTimeoutMs }, `gateway listening on ${url} (docs at ${url}/docs)`);

  await new Promise<void>((resolve) => {
    const onHup = (): void => void gateway.reload().catch(() => undefined);
    const onStop = (signal: NodeJS.Signals): void => {
      logger.info({ signal }, 'draining: finishing in-flight requests, then exiting');
      process.off('SIGHUP', onHup);
      void gateway.close().then(resolve);
    };
    process.on('SIGHUP', onHup);
    process.once('SIGTERM', onStop);
    process.once('SIGINT', onStop);
  });
}

function checkUpstreamTemplate(template: string): void {
  if (!template.includes('{deployName}')) {
    throw new UserError('GATEWAY_OPTION_INVALID', `--upstream ${template} has no {deployName}: every variant would get the same model server`,
      'Use a template such as http://{deployName}:80 (the Kubernetes Service of each variant).');
  }
}

function parseWhole(name: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new UserError('GATEWAY_OPTION_INVALID', `${name} must be a whole number from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}
