/**
 * `modelfleet canary --model M --env E`: may the model go into E? It reads the gateway metrics of
 * the environment before E twice, a window apart, and judges the model's traffic in between
 * against E's `canary:` settings (docs/generator.md, "Canary gate"). Read-only: nothing deployed
 * changes, whatever the verdict.
 */
import { findDeployable } from '../../generator/fleet/find-deployable.js';
import { environmentIndex, findEnvironment } from '../../generator/fleet/find-environment.js';
import { loadFleet } from '../../generator/fleet/load-fleet.js';
import { CANARY_DEFAULTS } from '../../generator/fleet/resolve-environments.js';
import type { CanarySettings, EnvironmentSpec, FleetSpec } from '../../generator/fleet/types.js';
import { UserError } from '../../lib/errors/user-error.js';
import { environmentStateRoot, readLocalState } from '../local-target/local-state.js';
import { difference, readSnapshot, type MetricsSnapshot } from './gateway-metrics-snapshot.js';
import { formatPercent, judgeCanary, type CanaryVerdict } from './judge-canary.js';

export interface CanaryOptions {
  readonly file: string;
  readonly model: string;
  /** The environment the model would go into next (`--env`). */
  readonly environment: string | undefined;
  readonly target: 'kube' | 'local';
  /** Overrides the environment's window (seconds), e.g. for a person checking by hand. */
  readonly windowSeconds?: number;
  readonly print: (line: string) => void;
  readonly sleep?: (ms: number) => Promise<void>;
}

export async function runCanary(options: CanaryOptions): Promise<CanaryVerdict> {
  const fleet = loadFleet(options.file);
  const deployName = findDeployable(fleet, options.model).variant.deployName;
  const environment = findEnvironment(fleet, options.environment);
  const previous = fleet.environments[environmentIndex(fleet, environment) - 1];
  if (!previous) {
    throw new UserError('CANARY_NO_METRICS', `${environment.name} is the first environment: there is no environment before it whose traffic a canary check could read`, 'Run the check for a later environment, e.g. `--env production`.');
  }
  const settings: CanarySettings = { ...(environment.canary ?? CANARY_DEFAULTS), ...(options.windowSeconds !== undefined ? { windowSeconds: options.windowSeconds } : {}) };
  const url = await metricsUrl(fleet, environment, previous, settings, options.target);
  const what = `${deployName} in ${previous.name}`;
  options.print(`${what}: reading the gateway's metrics (${url}) over ${settings.windowSeconds}s; ${environment.name} needs ≥ ${settings.minRequests} requests, success ≥ ${settings.minSuccessRate}%, p99 ≤ ${settings.maxP99Ms} ms`);
  const before = await scrape(url, deployName, previous);
  await (options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms))))(settings.windowSeconds * 1000);
  const after = await scrape(url, deployName, previous);
  const verdict = judgeCanary(difference(before, after), settings);
  const measured = `${verdict.requests} requests, success ${verdict.successRate === undefined ? '-' : formatPercent(verdict.successRate)}, p99 ${verdict.p99Ms === undefined ? '-' : `${Math.round(verdict.p99Ms)} ms`}`;
  if (!verdict.passed) {
    throw new UserError('CANARY_FAILED', `${what} over ${settings.windowSeconds}s: ${measured}: ${verdict.misses.join('; ')}. ${deployName} does not go into ${environment.name}.`,
      `Find the cause in ${previous.name} (its gateway's /metrics, the model's logs, \`modelfleet status --env ${previous.name}\`), then re-run \`${deployName}:canary:${environment.name}\`; if the traffic there was not representative, promote by hand: \`modelfleet promote --model ${deployName} --from ${previous.name} --to ${environment.name}\`.`);
  }
  options.print(`${what} over ${settings.windowSeconds}s: ${measured}: passed; ${deployName} may go into ${environment.name}`);
  return verdict;
}

/** The gated environment's `canary.metricsUrl`, else the previous environment's gateway: its local one, or its `url` on a cluster. */
async function metricsUrl(fleet: FleetSpec, environment: EnvironmentSpec, previous: EnvironmentSpec, settings: CanarySettings, target: 'kube' | 'local'): Promise<string> {
  if (settings.metricsUrl !== undefined) return settings.metricsUrl;
  if (target === 'local') {
    const gateway = (await readLocalState(environmentStateRoot(fleet.environments, previous.name))).gateway;
    if (gateway) return `http://127.0.0.1:${gateway.port}/metrics`;
    throw new UserError('CANARY_NO_METRICS', `no gateway of ${previous.name} runs on this machine, so its metrics cannot be read`, `Deploy it (\`modelfleet deploy --gateway --env ${previous.name}\`), then run the check again.`);
  }
  if (previous.url !== undefined) return `${previous.url.replace(/\/+$/, '')}/metrics`;
  throw new UserError('CANARY_NO_METRICS', `the canary gate of ${environment.name} has no address for ${previous.name}'s gateway metrics`,
    `Give ${previous.name} a \`url:\` (its gateway) or ${environment.name} \`canary: { metricsUrl: https://…/metrics }\` in models.yaml.`);
}

async function scrape(url: string, deployName: string, previous: EnvironmentSpec): Promise<MetricsSnapshot> {
  const response = await fetch(url, { signal: AbortSignal.timeout(10_000) }).catch((err: unknown) => err as Error);
  if (response instanceof Error || !response.ok) {
    const reason = response instanceof Error ? (response.cause as Error | undefined)?.message ?? response.message : `HTTP ${response.status}`;
    throw new UserError('CANARY_NO_METRICS', `${previous.name}'s gateway metrics at ${url} did not answer: ${reason}`, `Check that ${previous.name}'s gateway runs and that this job can reach it, then re-run the check.`);
  }
  return readSnapshot(await response.text(), deployName);
}
