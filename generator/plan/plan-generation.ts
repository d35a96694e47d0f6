import { listDeployables } from '../fleet/find-deployable.js';
import type { Deployable, FleetSpec } from '../fleet/types.js';
import { buildChildPipelines, type ChildPipelineFile } from '../pipeline/build-child-pipeline.js';
import { withDefaultRunnerTags } from '../pipeline/runner-settings.js';
import type { ModelTemplate } from '../render/model-templates.js';
import { compileModelFolder, type PlannedFile } from '../render/render-model-folder.js';
import { formatPinnedVersions, type PinnedVersions } from '../../pipeline/mlflow-registry/pinned-aliases.js';
import { aliasUsesOf, pinAliasUses } from './alias-uses.js';
import { imagePinsOnJobs } from './image-pins.js';
import { formatPinnedImages, type PinnedImages } from '../../pipeline/build/pinned-images.js';
import type { ChangeSet } from './select-changes.js';

export interface PlanInput {
  readonly fleet: FleetSpec;
  /** models.yaml as jobs and generated files name it (relative to the repository root). */
  readonly fleetFile: string;
  /** The output folder as jobs name it (`build`). */
  readonly outDir: string;
  readonly templates: readonly ModelTemplate[];
  readonly changes: ChangeSet;
  readonly maxJobs: number;
  /**
   * `--runner-tags`: tags for every job whose `ci:` settings name none (the CI/CD component's
   * `runner-tags` input). Not part of change detection: it describes the runners, not the fleet.
   */
  readonly runnerTags?: readonly string[];
  /** For `--model`: only this deployable's folder, no pipeline. */
  readonly only?: Deployable;
  /**
   * The registry version of every MLflow alias the jobs read (`name@alias` → version), resolved
   * by `runGenerate` before planning; each job carries the ones it reads.
   */
  readonly aliasVersions?: PinnedVersions;
  /**
   * The content digest of every image the jobs build and deploy (`<deployName>[@version]` →
   * `sha256:…`), computed by `runGenerate` before planning; each job carries the ones it builds
   * or deploys. None: no job carries MODELFLEET_IMAGE_CONTENT.
   */
  readonly imageContents?: PinnedImages;
}

export interface GenerationPlan {
  /**
   * `full` owns every generated file of the output folder (stale ones are removed);
   * `single` only rewrites one model folder and leaves everything else alone.
   */
  readonly scope: 'full' | 'single';
  /** Every file to write, relative to the output folder, in a stable order. */
  readonly files: readonly PlannedFile[];
  readonly pipelines: readonly ChildPipelineFile[];
  readonly changes: ChangeSet;
}

export const PLAN_FILE = 'plan.json';

/**
 * The pure core of `modelfleet generate`: fleet, templates and change set in, every file's
 * path and content out. Same input, byte-identical output.
 */
export function planGeneration(input: PlanInput): GenerationPlan {
  const renderFolder = compileModelFolder(input.templates, input.fleetFile);
  if (input.only) {
    return { scope: 'single', files: renderFolder(input.only), pipelines: [], changes: input.changes };
  }
  const deployables = listDeployables(input.fleet);
  const files: PlannedFile[] = deployables.flatMap(renderFolder);
  const withJobs = deployables.filter((d) => input.changes.changed.has(d.variant.deployName));
  const deployNames = withJobs.map((d) => d.variant.deployName);
  const aliasPins = pinAliasUses(aliasUsesOf(input.fleet, withJobs), input.aliasVersions ?? new Map());
  const allAliasPins = formatPinnedVersions([...aliasPins.values()].flatMap((pins) => pins.buildAndTest));
  const imagePins = imagePinsOnJobs(input.fleet, withJobs, input.imageContents ?? new Map());
  const allImagePins = formatPinnedImages([...imagePins.values()].flatMap((pins) => pins.buildAndTest));
  const pipelines = buildChildPipelines(
    {
      deployNames, removed: input.changes.removed, gatewayChanged: input.changes.gatewayChanged, summary: input.changes.summary,
      pinnedEnvironments: pinnedEnvironments(deployables, input.fleet), aliasPins, imagePins,
    },
    {
      fleetFile: input.fleetFile,
      outDir: input.outDir,
      maxJobs: input.maxJobs,
      regenerateArgs: [
        ...(input.changes.mode === 'incremental' && input.changes.since ? ['--since', input.changes.since] : ['--all']),
        ...(input.runnerTags && input.runnerTags.length > 0 ? ['--runner-tags', JSON.stringify(input.runnerTags)] : []),
        // A dispatcher recreates the part files with the versions resolved here, not with where the aliases point by then.
        ...(allAliasPins !== '' ? ['--mlflow-versions', allAliasPins] : []),
        ...(allImagePins !== '' ? ['--image-contents', allImagePins] : []),
      ],
      ci: withDefaultRunnerTags(input.fleet.ci, input.runnerTags ?? []),
      environments: input.fleet.environments,
    },
  );
  for (const p of pipelines) files.push({ path: p.file, content: p.yaml });
  files.push({ path: PLAN_FILE, content: `${JSON.stringify(planSummary(input, deployNames, pipelines), null, 2)}\n` });
  return { scope: 'full', files, pipelines, changes: input.changes };
}

/** Per deployable, the first environment of each distinct registry pin it has (models.yaml order). */
function pinnedEnvironments(deployables: readonly Deployable[], fleet: FleetSpec): Map<string, string[]> {
  const pinned = new Map<string, string[]>();
  for (const { model, variant } of deployables) {
    const seen = new Set<string>();
    for (const env of fleet.environments) {
      const pin = model.environments?.[env.name]?.pin;
      if (!pin) continue;
      const key = JSON.stringify(pin);
      if (seen.has(key)) continue;
      seen.add(key);
      pinned.set(variant.deployName, [...(pinned.get(variant.deployName) ?? []), env.name]);
    }
  }
  return pinned;
}

function planSummary(input: PlanInput, deployNames: readonly string[], pipelines: readonly ChildPipelineFile[]): Record<string, unknown> {
  return {
    fleetFile: input.fleetFile,
    summary: input.changes.summary,
    mode: input.changes.mode,
    deployables: listDeployables(input.fleet).length,
    changed: deployNames.map((name) => ({ deployName: name, reason: input.changes.changed.get(name) })),
    removed: input.changes.removed,
    gatewayChanged: input.changes.gatewayChanged,
    pipelines: pipelines.map((p) => p.file),
  };
}
