import path from 'node:path';
import { listDeployables } from '../fleet/find-deployable.js';
import type { Deployable, FleetSpec } from '../fleet/types.js';
import { digestOf } from './canonical-json.js';
import { buildConfigDigests, toGatewayConfig } from './deployable-config.js';

/**
 * Files every model image, load test or deploy depends on: a change to any of them rebuilds
 * the whole fleet. Paths are relative to the repository root; a trailing `/` means a folder.
 */
export const SHARED_PATHS: readonly string[] = [
  'serving/',
  'templates/',
  'k8s-templates/',
  'pipeline/',
  'generator/',
  'lib/',
  'cli/',
  'bin/',
  'package.json',
  'package-lock.json',
  '.npmrc',
  'tsconfig.json',
  'tsconfig.build.json',
];

/** Which deployables get jobs, and why. */
export interface ChangeSet {
  /** `all` when every deployable is rebuilt (forced, first push, shared code, ...). */
  readonly mode: 'all' | 'incremental' | 'single';
  /** One line a person reads in the job log. */
  readonly summary: string;
  /** deployName → why it gets jobs, in models.yaml order. */
  readonly changed: ReadonlyMap<string, string>;
  /** Deploy names that were in the previous models.yaml and are gone now. */
  readonly removed: readonly string[];
  /** Whether the gateway's route table or any upstream changed. */
  readonly gatewayChanged: boolean;
  /** The full commit SHA compared against, for incremental change sets. */
  readonly since?: string;
}

export function selectAll(fleet: FleetSpec, reason: string): ChangeSet {
  const changed = new Map(listDeployables(fleet).map((d) => [d.variant.deployName, reason] as const));
  return { mode: 'all', summary: `all ${changed.size} deployables: ${reason}`, changed, removed: [], gatewayChanged: true };
}

export interface ChangeInput {
  readonly fleet: FleetSpec;
  /** The fleet at the previous commit; undefined when models.yaml did not exist there. */
  readonly previous: FleetSpec | undefined;
  /** Files that differ from the previous commit, relative to the repository root, `/`-separated. */
  readonly changedFiles: readonly string[];
  /** Folder of models.yaml relative to the repository root (`''` at the root); model paths resolve against it. */
  readonly fleetDir: string;
  readonly since: string;
}

/** Pure: compares two fleets and a list of changed files. */
export function selectChanges(input: ChangeInput): ChangeSet {
  const { fleet, previous, changedFiles, fleetDir, since } = input;
  const short = since.slice(0, 12);
  const shared = changedFiles.find((file) => SHARED_PATHS.some((p) => (p.endsWith('/') ? file.startsWith(p) : file === p)));
  if (shared !== undefined) return selectAll(fleet, `shared code changed since ${short} (${shared})`);
  // The `ci:` block sets every job's runner, image, services, variables and branch rules: a
  // change there changes every job (not the images, whose tags are content-addressed, so the
  // build jobs find them and skip), so every deployable gets its jobs again.
  if (previous !== undefined && digestOf(previous.ci) !== digestOf(fleet.ci)) return selectAll(fleet, `ci: settings changed since ${short}`);
  // Every model has one deploy job per environment, each with the environment's settings.
  if (previous !== undefined && digestOf(previous.environments) !== digestOf(fleet.environments)) return selectAll(fleet, `environments: changed since ${short}`);
  // Every model's Deployment (and the gateway's) lists the image pull Secrets.
  if (previous !== undefined && digestOf(previous.kubernetes.imagePullSecrets) !== digestOf(fleet.kubernetes.imagePullSecrets)) {
    return selectAll(fleet, `kubernetes.imagePullSecrets changed since ${short}`);
  }

  const before = previous ? buildConfigDigests(previous) : new Map<string, string>();
  const now = buildConfigDigests(fleet);
  const changed = new Map<string, string>();
  for (const deployable of listDeployables(fleet)) {
    const name = deployable.variant.deployName;
    const old = before.get(name);
    if (old === undefined) changed.set(name, `added since ${short}`);
    else if (old !== now.get(name)) changed.set(name, `config changed since ${short}`);
    else {
      const file = changedSourceFile(deployable, changedFiles, fleetDir);
      if (file !== undefined) changed.set(name, `model files changed since ${short} (${file})`);
    }
  }
  const removed = [...before.keys()].filter((name) => !now.has(name)).sort();
  const gatewayChanged =
    changed.size > 0 || removed.length > 0 || previous === undefined || digestOf(toGatewayConfig(previous)) !== digestOf(toGatewayConfig(fleet));
  const parts = [`${changed.size} changed`, `${removed.length} removed`, gatewayChanged ? 'gateway changed' : 'gateway unchanged'];
  return { mode: 'incremental', summary: `since ${short}: ${parts.join(', ')}`, changed, removed, gatewayChanged, since };
}

/** The first changed file that belongs to this deployable's model source, if any. */
function changedSourceFile(deployable: Deployable, changedFiles: readonly string[], fleetDir: string): string | undefined {
  const source = deployable.variant.source;
  if (source.kind === 'path') {
    const dir = path.posix.join(fleetDir, source.path);
    return changedFiles.find((file) => file === dir || file.startsWith(`${dir}/`));
  }
  if (source.kind === 'image') {
    const schema = path.posix.join(fleetDir, source.schema);
    return changedFiles.find((file) => file === schema);
  }
  // A registry version is pinned in models.yaml, so its config digest covers it. An alias can
  // move in the registry without a commit: run with --all (or --model) to pick that up.
  return undefined;
}

/** Just one deployable (`generate --model`): what a child job regenerates for itself. */
export function selectOne(deployName: string): ChangeSet {
  return { mode: 'single', summary: `only ${deployName}`, changed: new Map([[deployName, 'requested with --model']]), removed: [], gatewayChanged: false };
}
