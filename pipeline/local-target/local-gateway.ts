/**
 * The local gateway: `modelfleet gateway --routes .modelfleet/local/routes.json` as a detached
 * process on 127.0.0.1. Model deploys rewrite the routes file and ask the running gateway to
 * reload (POST /-/reload, which swaps tables without dropping requests); `deploy --gateway`
 * starts it when it is not running.
 */
import { join } from 'node:path';
import { UserError } from '../../lib/errors/user-error.js';
import type { FleetSpec } from '../../generator/fleet/types.js';
import { findFreePort } from '../loadtest/free-port.js';
import type { DockerSeam } from '../seams/docker.js';
import { isInstanceAlive, startProcess, stopInstance, tailFile } from './instance-runtime.js';
import { localDir, stateRoot, updateLocalState, type LocalGatewayInstance, type LocalState } from './local-state.js';
import { waitHttpReady } from './wait-http-ready.js';

/** Port the local gateway prefers (MODELFLEET_GATEWAY_PORT overrides); a free one is taken when it is busy. */
export const DEFAULT_GATEWAY_PORT = 8000;
/** Where a variant that is not deployed locally points: nothing listens there, so the gateway answers 503 for it. */
export const NOT_DEPLOYED_UPSTREAM = 'http://127.0.0.1:9';

export function routesFile(root = stateRoot()): string {
  return join(localDir(root), 'routes.json');
}

/** Writes the route table for the fleet with every locally deployed variant's 127.0.0.1 port. */
export async function writeLocalRoutes(fleet: FleetSpec, state: LocalState, file: string): Promise<number> {
  const [{ buildRouteTable }, { readRouteInputs }, { writeRouteTable }] = await Promise.all([
    import('../../serving/gateway/route-table.js'),
    import('../../serving/gateway/read-route-inputs.js'),
    import('../../serving/gateway/route-table-file.js'),
  ]);
  const inputs = await readRouteInputs(fleet).catch(() => new Map());
  const table = buildRouteTable(fleet, (name) => {
    const instance = state.models[name];
    return instance ? `http://127.0.0.1:${instance.port}` : NOT_DEPLOYED_UPSTREAM;
  }, { inputsFor: (name) => inputs.get(name) });
  await writeRouteTable(file, table);
  return table.routes.length;
}

/** Asks a running gateway to re-read its routes file; false when no gateway runs. Throws when it refuses the file. */
export async function reloadLocalGateway(state: LocalState, docker: DockerSeam | undefined): Promise<boolean> {
  const gateway = state.gateway;
  if (!gateway || !(await isInstanceAlive(gateway, docker))) return false;
  const response = await fetch(`http://127.0.0.1:${gateway.port}/-/reload`, { method: 'POST', signal: AbortSignal.timeout(10_000) }).catch((err: unknown) => err as Error);
  if (response instanceof Error) return false;
  const body = await response.text();
  if (response.status !== 200) {
    throw new UserError('DEPLOY_GATEWAY_FAILED', `the local gateway on 127.0.0.1:${gateway.port} refused the new route table ${gateway.routesFile}: ${body.slice(0, 300)}`,
      `It keeps serving the previous table. Read ${gateway.logFile ?? 'its log'}, fix the cause, then run \`modelfleet deploy --gateway\`.`);
  }
  return true;
}

export interface GatewayDeployResult {
  readonly url: string;
  readonly outcome: 'started' | 'reloaded';
  readonly routes: number;
}

/** `deploy --gateway` on the local target: writes the routes, then reloads the running gateway or starts one. */
export async function deployLocalGateway(fleet: FleetSpec, docker: DockerSeam | undefined, report: (line: string) => void, root = stateRoot()): Promise<GatewayDeployResult> {
  const file = routesFile(root);
  let routes = 0;
  const state = await updateLocalState(async (current) => {
    routes = await writeLocalRoutes(fleet, current, file);
    return current;
  }, root);
  if (await reloadLocalGateway(state, docker)) {
    const url = `http://127.0.0.1:${state.gateway?.port ?? 0}`;
    report(`gateway: reloaded ${routes} route(s) on ${url}`);
    return { url, outcome: 'reloaded', routes };
  }
  if (state.gateway) await stopInstance(state.gateway, docker);
  const port = await pickGatewayPort();
  const logFile = join(localDir(root), 'logs', 'gateway.log');
  const running = await startProcess({ args: ['gateway', '--routes', file, '--port', String(port), '--host', '127.0.0.1'], port, env: { LOG_LEVEL: 'info' }, logFile });
  const ready = await waitHttpReady({ url: `http://127.0.0.1:${port}/readyz`, timeoutMs: 30_000, exitReason: () => running.exitReason() });
  if (!ready.ready) {
    await stopInstance(running.instance, docker, 2);
    const log = await tailFile(logFile, 15);
    throw new UserError('DEPLOY_GATEWAY_FAILED', `the local gateway did not start on 127.0.0.1:${port}: ${ready.reason}${log ? `\n${log}` : ''}`,
      `Read ${logFile}, fix the cause, then run \`modelfleet deploy --gateway\`.`);
  }
  const gateway: LocalGatewayInstance = { ...running.instance, routesFile: file };
  // A model deployed while the gateway was starting wrote routes the new process may have missed.
  const after = await updateLocalState(async (current) => {
    await writeLocalRoutes(fleet, current, file);
    return { ...current, gateway };
  }, root);
  await reloadLocalGateway(after, docker).catch(() => false);
  const url = `http://127.0.0.1:${port}`;
  report(`gateway: started on ${url} with ${routes} route(s) (pid ${gateway.pid ?? '?'}, log ${logFile})`);
  return { url, outcome: 'started', routes };
}

async function pickGatewayPort(): Promise<number> {
  const wanted = Number(process.env.MODELFLEET_GATEWAY_PORT ?? DEFAULT_GATEWAY_PORT);
  // 0 (or nonsense) means "any free port": tests run side by side.
  if (!Number.isInteger(wanted) || wanted <= 0 || wanted > 65_535) return findFreePort();
  const { createServer } = await import('node:net');
  const free = await new Promise<boolean>((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(wanted, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
  return free ? wanted : findFreePort();
}
