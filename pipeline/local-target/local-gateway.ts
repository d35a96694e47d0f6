/**
 * The local gateway: `modelfleet gateway --routes .modelfleet/local/routes.json` as a detached
 * process on 127.0.0.1. Model deploys rewrite the routes file and ask the running gateway to
 * reload (POST /-/reload, which swaps tables without dropping requests); `deploy --gateway`
 * starts it when it is not running.
 */
import { join } from 'node:path';
import { UserError } from '../../lib/errors/user-error.js';
import type { FleetSpec } from '../../generator/fleet/types.js';
import { findFreePort, isPortFree } from '../../lib/free-port.js';
import { modelfleetArgs, startProcessInstance } from '../instance-runtime/process-instance.js';
import { isInstanceAlive, stopInstance } from '../instance-runtime/recorded-instance.js';
import { describeEnd, instanceUrl } from '../instance-runtime/server-instance.js';
import { waitForReady } from '../instance-runtime/wait-for-ready.js';
import type { DockerSeam } from '../seams/docker.js';
import { gatewayPortSetting } from './gateway-port.js';
import { keptOf, localDir, stateRoot, updateLocalState, type LocalGatewayInstance, type LocalState } from './local-state.js';

export { DEFAULT_GATEWAY_PORT } from './gateway-port.js';
/** Where a variant that is not deployed locally points: nothing listens there, so the gateway answers 503 for it. */
export const NOT_DEPLOYED_UPSTREAM = 'http://127.0.0.1:9';

export function routesFile(root = stateRoot()): string {
  return join(localDir(root), 'routes.json');
}

/**
 * Writes the route table for the fleet with every locally deployed variant's address (127.0.0.1,
 * or the Docker-in-Docker host), the version it serves and its kept earlier versions. A model whose input schema cannot be read still gets its route;
 * `warn` says why its schema is missing from the OpenAPI document.
 */
export async function writeLocalRoutes(fleet: FleetSpec, state: LocalState, file: string, warn: (line: string) => void = (line) => console.warn(line)): Promise<number> {
  const [{ buildRouteTable }, { readRouteInputsOrWarn }, { writeRouteTable }] = await Promise.all([
    import('../../serving/gateway/route-table.js'),
    import('../../serving/gateway/read-route-inputs.js'),
    import('../../serving/gateway/route-table-file.js'),
  ]);
  const inputs = await readRouteInputsOrWarn(fleet, warn);
  const table = buildRouteTable(fleet, (name) => {
    const instance = state.models[name];
    return instance ? instanceUrl(instance) : NOT_DEPLOYED_UPSTREAM;
  }, {
    inputsFor: (name) => inputs.get(name),
    versionsFor: (name) => {
      const version = state.models[name]?.version;
      const kept = keptOf(state, name).flatMap((k) => (k.version === undefined ? [] : [{ version: k.version, upstream: instanceUrl(k), source: `${k.runtime === 'docker' ? 'image' : 'path'}:${k.serves}` }]));
      return { ...(version !== undefined ? { current: version } : {}), kept };
    },
  });
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
export async function deployLocalGateway(
  fleet: FleetSpec,
  docker: DockerSeam | undefined,
  report: (line: string) => void,
  root = stateRoot(),
  /** `port`: the environment's port (MODELFLEET_GATEWAY_PORT by default); `environment`: named in warnings' job names. */
  options: { readonly port?: number; readonly environment?: string } = {},
): Promise<GatewayDeployResult> {
  // Read first, so a bad MODELFLEET_GATEWAY_PORT is refused before anything changes.
  const wantedPort = options.port ?? gatewayPortSetting();
  const file = routesFile(root);
  let routes = 0;
  const state = await updateLocalState(async (current) => {
    routes = await writeLocalRoutes(fleet, current, file, report);
    return current;
  }, root);
  for (const line of describeNotDeployedLocally(fleet, state, options.environment)) report(line);
  if (await reloadLocalGateway(state, docker)) {
    const url = `http://127.0.0.1:${state.gateway?.port ?? 0}`;
    report(`gateway: reloaded ${routes} route(s) on ${url}`);
    return { url, outcome: 'reloaded', routes };
  }
  if (state.gateway) await stopInstance(state.gateway, docker);
  const port = await pickGatewayPort(wantedPort);
  const logFile = join(localDir(root), 'logs', 'gateway.log');
  const running = await startProcessInstance({ args: modelfleetArgs('local-gateway', '--routes', file, '--port', String(port), '--host', '127.0.0.1', '--local-state', root), port, env: { LOG_LEVEL: 'info' }, logFile });
  const timeoutMs = 30_000;
  const ready = await waitForReady(running, { timeoutMs });
  if (!ready.ready) {
    await running.stop(2);
    const reason = ready.ended ? `the process ${describeEnd(ready.ended)}` : `not ready after ${timeoutMs / 1000}s: ${ready.lastProblem}`;
    const log = await running.logs(15);
    throw new UserError('DEPLOY_GATEWAY_FAILED', `the local gateway did not start on 127.0.0.1:${port}: ${reason}${log ? `\n${log}` : ''}`,
      `Read ${logFile}, fix the cause, then run \`modelfleet deploy --gateway\`.`);
  }
  const gateway: LocalGatewayInstance = { ...running.record, routesFile: file };
  // A model deployed while the gateway was starting wrote routes the new process may have missed.
  const after = await updateLocalState(async (current) => {
    // Same fleet as the first write: its warnings were reported there.
    await writeLocalRoutes(fleet, current, file, () => undefined);
    return { ...current, gateway };
  }, root);
  await reloadLocalGateway(after, docker).catch(() => false);
  const url = `http://127.0.0.1:${port}`;
  report(`gateway: started on ${url} with ${routes} route(s) (pid ${gateway.pid ?? '?'}, log ${logFile})`);
  return { url, outcome: 'started', routes };
}

/**
 * One warning line per model with a variant that has no instance on this machine (its deploy
 * failed or has not run), naming the jobs to re-run, as `gateway:deploy` on Kubernetes does.
 * Locally such a variant keeps its place in the table with NOT_DEPLOYED_UPSTREAM, so its share
 * of the route answers 503 (a model whose new instance failed keeps its previous one, which the
 * state still records, so it is not listed here).
 */
export function describeNotDeployedLocally(fleet: FleetSpec, state: LocalState, environment?: string): string[] {
  const job = (name: string) => (environment !== undefined ? `${name}:deploy:${environment}` : `${name}:deploy`);
  const local = environment !== undefined ? ` --env ${environment}` : '';
  const lines: string[] = [];
  for (const model of fleet.models) {
    const missing = model.variants.filter((v) => state.models[v.deployName] === undefined);
    if (missing.length === 0) continue;
    const serving = missing.filter((v) => !v.shadow);
    const share = serving.reduce((sum, v) => sum + v.weight, 0);
    const effect = serving.length === 0
      ? 'its shadow gets no copies of requests'
      : share >= 100 ? `${model.route} answers 503` : `${share}% of ${model.route} answers 503`;
    const names = missing.map((v) => v.deployName);
    lines.push(`warning: model ${model.name} is not fully deployed on this machine: ${names.join(', ')} ${names.length === 1 ? 'has' : 'have'} no instance (${names.length === 1 ? 'its' : 'their'} deploy failed or has not run), so ${effect}; `
      + `fix it and re-run ${names.map((n) => `\`${job(n)}\``).join(', ')} (locally: ${names.map((n) => `\`modelfleet deploy --model ${n}${local}\``).join(', ')}), then \`${job('gateway')}\``);
  }
  return lines;
}

async function pickGatewayPort(wanted: number): Promise<number> {
  if (wanted === 0) return findFreePort();
  return (await isPortFree(wanted)) ? wanted : findFreePort();
}
