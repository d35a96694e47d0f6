import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { load } from 'js-yaml';
import { afterEach } from 'vitest';
import { parseFleet } from '../../../generator/fleet/load-fleet.js';
import type { FleetSpec } from '../../../generator/fleet/types.js';
import { UserError } from '../../../lib/errors/user-error.js';
import { planGeneration, type GenerationPlan } from '../../../generator/plan/plan-generation.js';
import { selectAll, type ChangeSet } from '../../../generator/plan/select-changes.js';
import { readModelTemplates } from '../../../generator/render/model-templates.js';
import type { PinnedImages } from '../../../pipeline/build/pinned-images.js';
import type { PinnedVersions } from '../../../pipeline/mlflow-registry/pinned-aliases.js';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const CASES_DIR = path.join(REPO_ROOT, 'test', 'cases');

/** A fresh temp folder per test, removed afterwards (tests run in parallel). */
export function useTempDir(prefix = 'modelfleet-gen-'): () => string {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  return () => {
    const dir = mkdtempSync(path.join(tmpdir(), prefix));
    dirs.push(dir);
    return dir;
  };
}

export function fleetFromText(text: string, file = '/repo/models.yaml'): FleetSpec {
  return parseFleet(text, file, 'models.yaml');
}

/** The plan `generate --all` makes for a fleet text, with the real templates (and, for aliases and images, what generate would pin). */
export function planAll(
  text: string,
  options: { maxJobs?: number; changes?: (fleet: FleetSpec) => ChangeSet; runnerTags?: readonly string[]; aliasVersions?: PinnedVersions; imageContents?: PinnedImages } = {},
): GenerationPlan {
  const fleet = fleetFromText(text);
  return planGeneration({
    fleet,
    fleetFile: 'models.yaml',
    outDir: 'build',
    templates: readModelTemplates(),
    changes: options.changes ? options.changes(fleet) : selectAll(fleet, 'forced with --all'),
    maxJobs: options.maxJobs ?? 500,
    ...(options.runnerTags ? { runnerTags: options.runnerTags } : {}),
    ...(options.aliasVersions ? { aliasVersions: options.aliasVersions } : {}),
    ...(options.imageContents ? { imageContents: options.imageContents } : {}),
  });
}

/** A fleet of `count` models in five lines each, as a data scientist would write it. */
export function manyModelsYaml(count: number, options: { defaults?: string; extra?: string } = {}): string {
  const lines = [
    'defaults:',
    '  endpoint: probability',
    options.defaults ?? '  loadtest: { durationSeconds: 5, connections: 4 }',
    'models:',
  ];
  for (let i = 0; i < count; i++) {
    const city = Math.floor(i / 3) + 1;
    const vehicle = ['TAXI', 'MOTO', 'VAN'][i % 3] ?? 'TAXI';
    lines.push(`  - name: match-${city}-${vehicle.toLowerCase()}`);
    lines.push(`    parameters: [${city}, ${vehicle}, trafficaware]`);
    lines.push(`    path: models/m${i % 4}`);
  }
  if (options.extra) lines.push(options.extra);
  return `${lines.join('\n')}\n`;
}

/** Job names of a child pipeline object (everything but the global keywords). */
export function jobNames(pipeline: Record<string, unknown>): string[] {
  return Object.keys(pipeline).filter((k) => !['stages', 'variables', 'default', 'workflow', 'include'].includes(k));
}

/** The UserError that parsing `text` as models.yaml throws (fails the test when nothing is thrown). */
export function fleetErrorOf(text: string): UserError {
  try {
    parseFleet(text, '/repo/models.yaml', 'models.yaml');
  } catch (err) {
    if (err instanceof UserError) return err;
    throw err;
  }
  throw new Error('expected the fleet to be rejected');
}

export const ENVIRONMENTS = `environments:
  - name: staging
  - name: production
`;

/** Models read by MLflow alias: one everywhere, one by version with an alias in production, one by version. */
export const ALIAS_FLEET = `defaults:
  endpoint: probability
${ENVIRONMENTS}
models:
  - name: match-2-taxi
    parameters: [2, TAXI]
    mlflow: { name: match_taxi, alias: champion }
  - name: match-7-moto
    parameters: [7, MOTO]
    mlflow: { name: match_moto, version: 1 }
    environments:
      production: { alias: champion }
  - name: match-9-van
    parameters: [9, VAN]
    mlflow: { name: match_van, version: 2 }
`;

/** A generated job as the tests read it back. */
export type CiJob = { variables?: Record<string, string>; script?: string[] };

/** A child pipeline file `generate` wrote under `<dir>/build`. */
export function childPipeline(dir: string, file = 'child-pipeline.yml'): Record<string, CiJob> {
  return load(readFileSync(path.join(dir, 'build', file), 'utf8')) as Record<string, CiJob>;
}

/** Job name → the value of `variable` on it, for the jobs that carry it. */
export function variableOnJobs(pipeline: Record<string, CiJob>, variable: string): Record<string, string> {
  return Object.fromEntries(jobNames(pipeline).flatMap((job) => {
    const value = pipeline[job]?.variables?.[variable];
    return value === undefined ? [] : [[job, value]];
  }));
}
