import { listDeployables } from '../../generator/fleet/find-deployable.js';
import { findEnvironment } from '../../generator/fleet/find-environment.js';
import type { EnvironmentSpec, FleetSpec } from '../../generator/fleet/types.js';
import { environmentStateRoot, keptOf, readLocalState } from '../local-target/local-state.js';
import { modelVersionOf, readLiveVersions } from '../deploy/kube/read-live-versions.js';
import type { KubeClient, KubeObject } from '../seams/kube.js';
import type { DeploymentRecord } from './deployment-record.js';
import { readKubeRecords } from './kube-history.js';
import { localRecords } from './local-history.js';

/**
 * `modelfleet status` and `modelfleet history`: what runs where, read from the local target's
 * state or the cluster, with the deployment records kept beside each model.
 */

/** One model in one environment, as `status` shows it. */
export interface StatusRow {
  readonly environment: string;
  readonly deployName: string;
  /** What serves now: `ready`, `2/3 ready`, `stopped` ...; `not deployed` when nothing runs. Locally it also names the kept versions. */
  readonly state: string;
  readonly last: DeploymentRecord | undefined;
  /** The memory limit the running instance has (cluster: its container's; local: Docker's cap). */
  readonly memoryLimitBytes: number | undefined;
}

/** The environments `--env` selects: one by name (UNKNOWN_ENVIRONMENT with a suggestion otherwise), or all of the fleet's in promotion order. */
export function selectEnvironments(fleet: FleetSpec, name: string | undefined): readonly EnvironmentSpec[] {
  return name === undefined ? fleet.environments : [findEnvironment(fleet, name)];
}

/** Local target: each environment's state folder; an instance counts as ready when its /readyz answers 200. */
export async function localStatus(fleet: FleetSpec, environments: readonly EnvironmentSpec[], root?: string): Promise<StatusRow[]> {
  const rows: StatusRow[] = [];
  for (const environment of environments) {
    const state = await readLocalState(environmentStateRoot(fleet.environments, environment.name, root));
    for (const { variant } of listDeployables(fleet)) {
      const instance = state.models[variant.deployName];
      const last = localRecords(state, variant.deployName).at(-1);
      const address = instance ? `${instance.host ?? '127.0.0.1'}:${instance.port}` : undefined;
      const serving = address ? ((await answersReady(address)) ? `ready on ${address}` : `not answering on ${address}`) : 'not deployed';
      const kept = keptOf(state, variant.deployName).map((k) => `${k.version ?? '?'} on ${k.host ?? '127.0.0.1'}:${k.port}`);
      rows.push({ environment: environment.name, deployName: variant.deployName, state: kept.length > 0 ? `${serving}; kept ${kept.join(', ')}` : serving, last, memoryLimitBytes: instance?.memoryLimitBytes });
    }
  }
  return rows;
}

/** Cluster: the Deployment each model's Service sends traffic to in its environment's namespace, and its kept versions (`kubeFor` opens the environment's context). */
export async function kubeStatus(fleet: FleetSpec, environments: readonly EnvironmentSpec[], kubeFor: (environment: EnvironmentSpec) => Promise<KubeClient>): Promise<StatusRow[]> {
  const rows: StatusRow[] = [];
  for (const environment of environments) {
    const kube = await kubeFor(environment);
    for (const { variant } of listDeployables(fleet)) {
      const { serving, kept } = await readLiveVersions(kube, environment.namespace, variant.deployName);
      const last = (await readKubeRecords(kube, environment.namespace, variant.deployName)).at(-1);
      const spec = serving?.spec as { template?: { spec?: { containers?: { resources?: { limits?: { memory?: string } } }[] } } } | undefined;
      const state = serving ? readiness(serving) : 'not deployed';
      const keptText = kept.map((k) => `${modelVersionOf(k) ?? k.metadata.name} (${readiness(k)})`);
      rows.push({ environment: environment.name, deployName: variant.deployName, state: keptText.length > 0 ? `${state}; kept ${keptText.join(', ')}` : state, last, memoryLimitBytes: parseMemory(spec?.template?.spec?.containers?.[0]?.resources?.limits?.memory) });
    }
  }
  return rows;
}

function readiness(deployment: KubeObject): string {
  const replicas = (deployment.spec as { replicas?: number } | undefined)?.replicas ?? 0;
  const ready = (deployment.status as { readyReplicas?: number } | undefined)?.readyReplicas ?? 0;
  return `${ready}/${replicas} ready`;
}

export function formatStatus(rows: readonly StatusRow[]): string {
  return table(['ENVIRONMENT', 'MODEL', 'VERSION', 'IMAGE', 'MEMORY LIMIT', 'SERVING', 'DEPLOYED', 'BY'], rows.map((row) => [
    row.environment,
    row.deployName,
    row.last?.version ?? '-',
    row.last ? shortImage(row.last.image) : '-',
    row.memoryLimitBytes !== undefined ? mebibytes(row.memoryLimitBytes) : '-',
    row.state,
    row.last ? `${shortTime(row.last.deployedAt)} (rev ${row.last.revision})` : '-',
    row.last ? by(row.last) : '-',
  ]));
}

/** Newest first. */
export function formatHistory(records: readonly DeploymentRecord[]): string {
  if (records.length === 0) return 'no deployment recorded\n';
  return table(['REV', 'DEPLOYED', 'VERSION', 'IMAGE', 'CONTENT', 'MEMORY LIMIT', 'REPLICAS', 'RESULT', 'COMMIT', 'BY'], [...records].reverse().map((r) => [
    String(r.revision),
    shortTime(r.deployedAt),
    r.version ?? '-',
    shortImage(r.image),
    r.content.replace(/^sha256:/, '').slice(0, 12),
    r.memoryLimitBytes !== undefined ? mebibytes(r.memoryLimitBytes) : '-',
    r.minReplicas !== undefined ? `${r.minReplicas}-${r.maxReplicas ?? r.minReplicas}` : '-',
    r.via ? `${r.outcome}, ${r.via}` : r.outcome,
    r.commit?.slice(0, 8) ?? '-',
    by(r),
  ]));
}

function by(record: DeploymentRecord): string {
  if (record.jobUrl) return record.jobUrl;
  return record.user ?? 'outside CI';
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ').trimEnd();
  return `${[line(header), ...rows.map(line)].join('\n')}\n`;
}

/** `registry.example.com/team/fleet/m:0123456789ab` → `…/m:0123456789ab`: the repository path is the same for every model. */
function shortImage(image: string): string {
  const slash = image.lastIndexOf('/');
  return slash > 0 && image.length > 48 ? `…${image.slice(slash)}` : image;
}

function shortTime(iso: string): string {
  return iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

function mebibytes(bytes: number): string {
  return `${Math.ceil(bytes / 2 ** 20)}Mi`;
}

function parseMemory(quantity: string | undefined): number | undefined {
  const match = quantity === undefined ? null : /^(\d+)(Ki|Mi|Gi)?$/.exec(quantity);
  if (!match) return undefined;
  const unit = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30 }[match[2] as 'Ki' | 'Mi' | 'Gi'] ?? 1;
  return Number(match[1]) * unit;
}

async function answersReady(address: string): Promise<boolean> {
  try {
    const response = await fetch(`http://${address}/readyz`, { signal: AbortSignal.timeout(2_000) });
    await response.arrayBuffer();
    return response.ok;
  } catch {
    return false;
  }
}
