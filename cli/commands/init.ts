import type { Command } from 'commander';

interface InitFlags {
  dir: string;
  force: boolean;
  component?: string;
}

/**
 * `modelfleet init`: sets up a repository to ship its models with modelfleet: a commented
 * models.yaml with an example model, a .gitlab-ci.yml that includes the CI/CD component, and
 * .gitignore lines. Never overwrites without --force; run twice, it changes nothing.
 */
export function register(program: Command): void {
  program
    .command('init')
    .description('Set up this repository: models.yaml with an example model, a .gitlab-ci.yml that includes the modelfleet CI/CD component, .gitignore lines.')
    .option('--dir <path>', 'the repository folder', '.')
    .option('--force', 'replace files that exist with other content', false)
    .option('--component <path>', 'where your GitLab instance publishes the modelfleet component (without @version)')
    .action(async (flags: InitFlags) => {
      const [{ resolve }, { initFiles, DEFAULT_COMPONENT, EXAMPLE_MODEL_DIR }, { applyInit }] = await Promise.all([
        import('node:path'),
        import('../../generator/init/init-files.js'),
        import('../../generator/init/apply-init.js'),
      ]);
      const dir = resolve(flags.dir);
      const result = applyInit(dir, initFiles({ component: flags.component ?? DEFAULT_COMPONENT }), flags.force);
      const changed = result.files.filter((f) => f.outcome !== 'unchanged');
      if (changed.length === 0) {
        console.log(`modelfleet init: ${dir} is already set up; nothing to change`);
        return;
      }
      console.log(`modelfleet init: ${dir}`);
      for (const f of result.files) console.log(`  ${f.outcome.padEnd(9)} ${f.path}`);
      console.log(`
Next:
  1. npx modelfleet validate        check models.yaml (the example model is in ${EXAMPLE_MODEL_DIR}/)
  2. npx modelfleet up              the whole pipeline on this machine; the gateway answers on
                                    http://127.0.0.1:8000/probability/1/example
  3. npx modelfleet build --ci-image --push
                                    the image the jobs run in, pushed to MODELFLEET_REGISTRY_IMAGE
                                    (or build it in a GitLab job, where CI_REGISTRY_IMAGE is used)
  4. commit and push: GitLab runs the pipeline in .gitlab-ci.yml for every model that changed.`);
    });
}
