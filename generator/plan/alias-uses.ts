import { deployableInEnvironment } from '../fleet/find-environment.js';
import type { Deployable, FleetSpec, ModelSource } from '../fleet/types.js';
import { pinnedVersionOf, type AliasPin, type PinnedVersions } from '../../pipeline/mlflow-registry/pinned-aliases.js';

/** A registered model's alias one of a deployable's jobs reads, and the environment whose pin names it (none: the model's own source). */
export interface AliasUse {
  readonly name: string;
  readonly alias: string;
  readonly environment?: string;
}

/** The MLflow aliases a deployable's jobs read. */
export interface DeployableAliasUses {
  readonly deployable: Deployable;
  /** Build and test build and measure the model's own source and every environment's pin. */
  readonly buildAndTest: readonly AliasUse[];
  /** Per environment name, what its deploy job serves; environments whose deploy reads no alias are left out. */
  readonly deploys: ReadonlyMap<string, readonly AliasUse[]>;
}

/**
 * For each deployable, in the given order, the aliases its build, test and deploy jobs read;
 * deployables whose jobs read none are left out. Pure: `generate` resolves these once.
 */
export function aliasUsesOf(fleet: FleetSpec, deployables: readonly Deployable[]): DeployableAliasUses[] {
  const out: DeployableAliasUses[] = [];
  for (const deployable of deployables) {
    const own = aliasOf(deployable.variant.source);
    const buildAndTest: AliasUse[] = own ? [own] : [];
    const deploys = new Map<string, AliasUse[]>();
    for (const environment of fleet.environments) {
      const use = aliasOf(deployableInEnvironment(deployable, environment).variant.source);
      if (!use) continue;
      const pinnedHere = deployable.model.environments?.[environment.name]?.pin !== undefined;
      const located = pinnedHere ? { ...use, environment: environment.name } : use;
      deploys.set(environment.name, [located]);
      if (!buildAndTest.some((u) => u.name === use.name && u.alias === use.alias)) buildAndTest.push(located);
    }
    if (buildAndTest.length > 0) out.push({ deployable, buildAndTest, deploys });
  }
  return out;
}

function aliasOf(source: ModelSource): AliasUse | undefined {
  return source.kind === 'mlflow' && source.alias !== undefined ? { name: source.name, alias: source.alias } : undefined;
}

/** The resolved versions a deployable's jobs carry: all of them on build and test, its environment's on each deploy. */
export interface DeployableAliasPins {
  readonly buildAndTest: readonly AliasPin[];
  readonly deploys: ReadonlyMap<string, readonly AliasPin[]>;
}

/** Per deploy name, the uses with the versions `generate` resolved for them. */
export function pinAliasUses(uses: readonly DeployableAliasUses[], versions: PinnedVersions): Map<string, DeployableAliasPins> {
  const pin = (use: AliasUse): AliasPin => {
    const version = pinnedVersionOf(versions, use.name, use.alias);
    // runGenerate resolves every use before planning, so a gap here is a bug, not bad input.
    if (version === undefined) throw new Error(`no registry version was resolved for ${use.name}@${use.alias}`);
    return { name: use.name, alias: use.alias, version };
  };
  return new Map(uses.map((u) => [u.deployable.variant.deployName, {
    buildAndTest: u.buildAndTest.map(pin),
    deploys: new Map([...u.deploys].map(([environment, list]) => [environment, list.map(pin)])),
  }]));
}
