import type { ErrorCodeInfo } from './error-code-info.js';

export const generatorErrors = {
  FLEET_NOT_FOUND: {
    summary: 'The models.yaml file (or the file passed with --file) does not exist or cannot be read.',
    fix: 'Run the command from the repository root, or pass the fleet file with `--file path/to/models.yaml`.',
  },
  FLEET_SYNTAX: {
    summary: 'models.yaml is not valid YAML (or holds more than one document, or uses anchors and aliases).',
    fix: 'Fix the YAML at the line and column shown; repeated settings belong under `defaults:` instead of `&anchors`.',
  },
  FLEET_INVALID: {
    summary: 'models.yaml parses, but some entries break the fleet rules (unknown keys, bad names, weights, duplicate routes, ...).',
    fix: 'Fix each listed problem at its file:line:col; `modelfleet validate` checks the file without writing anything.',
  },
  UNKNOWN_MODEL: {
    summary: 'The model (deploy name) given with --model to generate, build, loadtest or deploy is not in models.yaml.',
    fix: 'Use a deploy name from `modelfleet validate` output: the model name, or `<model>-<variant>` for A/B variants.',
  },
  UNKNOWN_ENVIRONMENT: {
    summary: 'The environment given with --env (or MODELFLEET_ENV) to deploy is not one of the `environments:` in models.yaml.',
    fix: 'Use a name from models.yaml\'s `environments:` (staging and production when it has none), or add the environment there.',
  },
  GIT_FAILED: {
    summary: 'Finding what changed since the previous commit failed (git is missing, the folder is not a repository, or the revision is unknown).',
    fix: 'Pass a revision the clone has (fetch more history, e.g. GIT_DEPTH: 0), or use `--all` to generate every model.',
  },
  OUTPUT_FAILED: {
    summary: 'The generated folder could not be written; the previous output was left untouched.',
    fix: 'Check that the --out folder is writable and the disk has room, then run `modelfleet generate` again.',
  },
  INIT_WOULD_OVERWRITE: {
    summary: '`modelfleet init` found files (models.yaml, .gitlab-ci.yml, the example model) that exist with other content; it wrote nothing.',
    fix: 'Run `modelfleet init --force` to replace them, or `modelfleet init --dir <empty folder>` and merge the files by hand.',
  },
  GENERATE_PINS_PRESET: {
    summary: 'MODELFLEET_MLFLOW_VERSIONS or MODELFLEET_IMAGE_CONTENT is set where `generate` runs (a project or pipeline variable); it would replace the alias versions or image contents `generate` pins on each job.',
    fix: 'Remove the variable from the project\'s CI/CD variables and from the pipeline run; to serve a particular version, name it in models.yaml (`mlflow: { name, version }`).',
  },
  TEMPLATE_FAILED: {
    summary: 'A template under image-templates/model/ could not be read or rendered.',
    fix: 'Fix the Handlebars syntax in the named template (values only: `{{name}}`, no helpers that emit structure).',
  },
} as const satisfies Record<string, ErrorCodeInfo>;
