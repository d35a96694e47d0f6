import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';

interface GenerateFlags {
  file: string;
  out: string;
  since?: string;
  all?: boolean;
  model?: string;
  dryRun?: boolean;
  maxJobs: number;
  runnerTags?: string[];
  mlflowVersions?: string;
  imageContents?: string;
  pinImages?: boolean;
}

function parseMaxJobs(value: string): number {
  const n = Number(value);
  if (!/^[0-9]+$/.test(value) || !Number.isSafeInteger(n)) throw new InvalidArgumentError('expected a whole number');
  return n;
}

/** `["docker","linux"]` (what a CI/CD component's array input becomes inside a script) or `docker,linux`. */
export function parseRunnerTags(value: string): string[] {
  const text = value.trim();
  let tags: unknown = text.split(',');
  if (text.startsWith('[')) {
    try {
      tags = JSON.parse(text);
    } catch {
      throw new InvalidArgumentError('expected a JSON array of tags (["docker"]) or a comma-separated list (docker,linux)');
    }
  }
  if (!Array.isArray(tags) || !tags.every((tag) => typeof tag === 'string')) throw new InvalidArgumentError('expected a list of tag names');
  return tags.map((tag: string) => tag.trim()).filter((tag) => tag !== '');
}

/**
 * `modelfleet generate`: per-model folders and the GitLab child pipeline from models.yaml.
 * Reference: docs/generator.md.
 */
export function register(program: Command): void {
  program
    .command('generate')
    .description('Write build/models/<deployName>/ and build/child-pipeline.yml from models.yaml (only what changed).')
    .option('--file <path>', 'the fleet file', 'models.yaml')
    .option('--out <dir>', 'output folder', 'build')
    .option('--since <rev>', 'compare with this commit (default: $CI_COMMIT_BEFORE_SHA; none or all zeros means everything)')
    .option('--all', 'give every model jobs, whatever changed')
    .option('--model <deployName>', 'regenerate only this model\'s folder (what each child job does first)')
    .option('--dry-run', 'print the plan, write nothing')
    .option('--max-jobs <n>', 'split into several child pipelines above this many jobs (GitLab.com Free: 500)', parseMaxJobs, 500)
    .option('--runner-tags <tags>', 'runner tags for every job models.yaml `ci:` gives none (JSON array or comma-separated)', parseRunnerTags)
    .option('--mlflow-versions <pins>', 'alias versions an earlier generate resolved ("name@alias=version ..."); a dispatcher job passes them, people leave it out')
    .option('--image-contents <pins>', 'image contents an earlier generate computed ("<deployName>=sha256:... ..."); a dispatcher job passes them, people leave it out')
    .option('--pin-images', 'compute the content digest of every image the jobs build and write it on them (MODELFLEET_IMAGE_CONTENT), so deploys and their re-runs take exactly that image; needs the models (MLflow access)')
    .action(async (flags: GenerateFlags) => {
      const { runGenerate } = await import('../../generator/run-generate.js');
      const result = await runGenerate({
        file: flags.file,
        out: flags.out,
        since: flags.since,
        all: flags.all,
        model: flags.model,
        dryRun: flags.dryRun,
        maxJobs: flags.maxJobs,
        ...(flags.runnerTags ? { runnerTags: flags.runnerTags } : {}),
        ...(flags.mlflowVersions !== undefined ? { mlflowVersions: flags.mlflowVersions } : {}),
        ...(flags.imageContents !== undefined ? { imageContents: flags.imageContents } : {}),
        pinImages: flags.pinImages === true,
      });
      const { plan } = result;
      console.log(`modelfleet generate: ${plan.changes.summary}`);
      for (const pin of result.aliasPins) console.log(`  mlflow: ${pin.name}@${pin.alias} pinned to version ${pin.version} for this pipeline's jobs`);
      if (result.imagePins.length > 0) console.log(`  images: the content of ${result.imagePins.length} image(s) pinned on their jobs (MODELFLEET_IMAGE_CONTENT)`);
      if (plan.changes.mode === 'incremental') for (const [name, reason] of plan.changes.changed) console.log(`  ${name}: ${reason}`);
      for (const name of plan.changes.removed) console.log(`  ${name}: removed from the fleet`);
      for (const p of plan.pipelines) {
        const jobs = Object.keys(p.pipeline).filter((k) => !['stages', 'variables', 'default'].includes(k)).length;
        console.log(`  ${p.file}: ${jobs} job(s), ${Buffer.byteLength(p.yaml)} bytes`);
      }
      if (flags.dryRun) {
        console.log(`dry run: would write ${plan.files.length} file(s) to ${result.outDir}:`);
        for (const f of plan.files) console.log(`  ${f.path} (${Buffer.byteLength(f.content)} bytes)`);
        return;
      }
      const written = result.written;
      const removed = written && written.removed > 0 ? `, removed ${written.removed} stale file(s)` : '';
      console.log(`wrote ${written?.written ?? 0} file(s) to ${result.outDir} (${written?.unchanged ?? 0} already up to date)${removed}`);
    });
}
