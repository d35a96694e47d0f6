import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { findPackageRoot, packageVersion } from '../../lib/package-root.js';
import { defaultCiImage } from '../../lib/ci-image.js';

/**
 * What `modelfleet init` writes. A `whole` file is written only where there is none (or the same
 * one); a `lines` file (.gitignore, .npmrc) only gains the lines it lacks, so a user's own lines stay.
 */
export type InitFile =
  | { readonly path: string; readonly kind: 'whole'; readonly content: Buffer }
  | { readonly path: string; readonly kind: 'lines'; readonly lines: readonly string[] };

export interface InitOptions {
  /** `$CI_SERVER_FQDN/<group>/<project>/fleet`: where the CI/CD component is published. */
  readonly component: string;
  readonly version?: string;
}

/** The project path GitLab's CI/CD catalog knows modelfleet under, unless `--component` says otherwise. */
export const DEFAULT_COMPONENT = '$CI_SERVER_FQDN/modelfleet/modelfleet/fleet';

/** The example model init copies: a 5-column logistic regression from the package's examples. */
const EXAMPLE_MODEL = join('examples', 'models', 'match-logreg-v1');
export const EXAMPLE_MODEL_DIR = 'models/example';

export function initFiles(options: InitOptions): InitFile[] {
  const version = options.version ?? packageVersion();
  const text = (path: string, content: string): InitFile => ({ path, kind: 'whole', content: Buffer.from(content) });
  return [
    text('models.yaml', modelsYaml()),
    text('.gitlab-ci.yml', gitlabCiYaml(options.component, version)),
    { path: '.gitignore', kind: 'lines', lines: ['# modelfleet', '/build/', '/.modelfleet/', 'node_modules/'] },
    // onnxruntime-node's install script downloads GPU libraries modelfleet never loads; offline it
    // fails the install. Jobs that fall back to `npm ci` read this file too.
    { path: '.npmrc', kind: 'lines', lines: ['# modelfleet serves on CPU: skip onnxruntime-node\'s GPU download', 'onnxruntime-node-install=skip'] },
    ...exampleModelFiles(),
  ];
}

function exampleModelFiles(): InitFile[] {
  const from = join(findPackageRoot(), EXAMPLE_MODEL);
  return readdirSync(from)
    .sort()
    .map((name) => ({ path: `${EXAMPLE_MODEL_DIR}/${name}`, kind: 'whole', content: readFileSync(join(from, name)) }));
}

function modelsYaml(): string {
  return `# The fleet: one entry per model. modelfleet turns this file into a GitLab child pipeline that
# builds each model's serving image, load-tests it to measure its memory, writes the limits into
# its Kubernetes manifests and deploys it; a gateway routes traffic to every model.
# Reference: docs/generator.md in the modelfleet package (node_modules/modelfleet/docs/).
#
# Check it:                       npx modelfleet validate
# Run the whole pipeline here:    npx modelfleet up        (gateway on http://127.0.0.1:8000)

defaults:
  # A model answers on /<endpoint>/<parameters...>.
  endpoint: probability
  # Batching, scaling and the load test that sizes memory, for every model unless it says otherwise.
  batching: { enabled: true, maxBatchSize: 32, maxLatencyMs: 5 }
  scaling: { minReplicas: 1, maxReplicas: 3, targetCpuUtilization: 70 }
  loadtest: { durationSeconds: 5, connections: 4, rowsPerRequest: 1, p99BudgetMs: 250 }

models:
  # An MLflow model folder (MLmodel + model.onnx) in this repository: a logistic regression over
  # five double columns, answering on /probability/1/example. Replace it with your own models.
  - name: example
    parameters: [1, example]
    path: ${EXAMPLE_MODEL_DIR}
    # A model registered in MLflow instead of a folder:
    #   mlflow: { name: my-model, version: "3" }
    # An A/B test: 20% of callers get a second version, each caller always the same one:
    #   ab:
    #     stickyHeader: x-user-id
    #     variants:
    #       - { name: v1, weight: 80 }
    #       - { name: v2, weight: 20, path: models/example-v2 }

# How the generated jobs run: runner tags, image, services, variables, where deploys go and
# which branches deploy (docs/generator.md, "The ci: block"). For GitLab's Docker executor with
# Docker-in-Docker, for example:
# ci:
#   tags: [docker]
#   services: [{ name: "docker:27-dind", alias: docker, command: ["--tls=false"] }]
#   variables: { DOCKER_HOST: "tcp://docker:2375", DOCKER_TLS_CERTDIR: "" }
`;
}

function gitlabCiYaml(component: string, version: string): string {
  return `# The pipeline for the models in models.yaml, from modelfleet's CI/CD component: it checks the
# file, writes one folder per model and runs a child pipeline that builds, load-tests and deploys
# every model that changed. Inputs: templates/fleet.yml in the modelfleet package.
include:
  - component: ${component}@${version}
    inputs:
      models-file: models.yaml
      environment: production
      # The image the jobs run in, with the CLI inside: \`npx modelfleet build --ci-image --push\`
      # in a job (or with MODELFLEET_REGISTRY_IMAGE set) puts it there.
      ci-image: ${defaultCiImage(version)}
      # runner-tags: [docker]
      # max-jobs: 500
`;
}
