import type { ErrorCodeInfo } from './error-code-info.js';

/** Errors of `modelfleet build` and of the MLflow registry client (pipeline/build, pipeline/mlflow-registry). */
export const buildErrors = {
  BUILD_DOCKER_UNAVAILABLE: {
    summary: 'No Docker engine answers, and `modelfleet build` builds images with Docker.',
    fix: 'Start a Docker engine (`bash scripts/setup-docker.sh` installs and starts one), or set DOCKER_HOST to a reachable engine.',
  },
  BUILD_NOT_COMPILED: {
    summary: 'The compiled serving code (dist/) that goes into every model image is missing.',
    fix: 'Run `npm run build` (or `npm install`, which builds through the prepare script) in the modelfleet folder.',
  },
  BUILD_FAILED: {
    summary: 'The Docker build of a model image failed.',
    fix: 'Read the builder output above the error. When the base image cannot be pulled (no registry), build the local one with `bash scripts/build-base-image.sh` and set MODELFLEET_BASE_IMAGE=modelfleet/base:local.',
  },
  BUILD_PUSH_FAILED: {
    summary: 'Asking the registry for an image, or pushing one to it, failed.',
    fix: 'Check MODELFLEET_REGISTRY_IMAGE (and MODELFLEET_REGISTRY_USER / _PASSWORD), or CI_REGISTRY, CI_REGISTRY_IMAGE, CI_REGISTRY_USER and CI_REGISTRY_PASSWORD (GitLab sets them when the project\'s container registry is enabled), then re-run the `<model>:build` job.',
  },
  BUILD_OUTPUT_MISSING: {
    summary: 'The generated model folder has no Dockerfile and the template to render one is missing.',
    fix: 'Run `modelfleet generate` first, or re-run the parent pipeline so the child pipeline gets its model folders.',
  },
  MLFLOW_NOT_CONFIGURED: {
    summary: 'A models.yaml entry reads its model from an MLflow registry, but MLFLOW_TRACKING_URI is not set.',
    fix: 'Set MLFLOW_TRACKING_URI (and MLFLOW_TRACKING_TOKEN, or MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD) as CI/CD variables of the project.',
  },
  MLFLOW_UNREACHABLE: {
    summary: 'The MLflow tracking server did not answer, or answered with something other than MLflow\'s REST API.',
    fix: 'Check MLFLOW_TRACKING_URI (scheme, host, port, path prefix) and that the server runs; the job needs network access to it.',
  },
  MLFLOW_AUTH_FAILED: {
    summary: 'The MLflow tracking server refused the credentials (401/403).',
    fix: 'Set MLFLOW_TRACKING_TOKEN (bearer token) or MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD to an account that may read the registered model.',
  },
  MLFLOW_MODEL_NOT_FOUND: {
    summary: 'The MLflow registry has no registered model of that name.',
    fix: 'Check the `mlflow.name` of the models.yaml entry against the names in the MLflow UI\'s "Models" page (names are case-sensitive).',
  },
  MLFLOW_VERSION_NOT_FOUND: {
    summary: 'The registered model has no such version, or no version carries that alias.',
    fix: 'Check `mlflow.version` / `mlflow.alias` of the models.yaml entry against the model\'s versions and aliases in the MLflow UI.',
  },
  MLFLOW_PINNED_VERSIONS_INVALID: {
    summary: 'MODELFLEET_MLFLOW_VERSIONS, the registry versions a pipeline pinned for MLflow aliases, is not a list of `name@alias=version` entries.',
    fix: 'Leave the variable to `modelfleet generate`, which writes it on every job that reads an alias. Set by hand, it takes space-separated entries such as `match_taxi@champion=4`, one version per alias.',
  },
  IMAGE_PINS_INVALID: {
    summary: 'MODELFLEET_IMAGE_CONTENT, the image content digests a pipeline pinned for its jobs, is not a list of `<deployName>[@version]=sha256:<hex>` entries.',
    fix: 'Leave the variable to `modelfleet generate`, which writes it on every build, test and deploy job; remove it from the project\'s CI/CD variables and from the pipeline run.',
  },
  IMAGE_CONTENT_CHANGED: {
    summary: 'The image this job would build or measure is not the one `generate` pinned for the pipeline (MODELFLEET_IMAGE_CONTENT): something outside the commit changed since then.',
    fix: 'Run a new pipeline for the commit (it pins the image the current CI image builds). To deploy what this pipeline built, re-run its deploy job: a deploy takes the pinned image from the registry and builds nothing.',
  },
  MLFLOW_NOT_ONNX: {
    summary: 'The registered model version has no `onnx` flavor in its MLmodel file; the model server runs ONNX models only.',
    fix: 'Log the model with `mlflow.onnx.log_model` (convert it first, e.g. with skl2onnx), register the new version and point models.yaml at it.',
  },
  MLFLOW_ARTIFACTS_UNSUPPORTED: {
    summary: 'The model version\'s artifacts are not served by the tracking server\'s artifact proxy (mlflow-artifacts:/ URIs).',
    fix: 'Run the tracking server with artifact serving (`mlflow server --serve-artifacts`, the default since MLflow 2.0) so artifacts download through /api/2.0/mlflow-artifacts.',
  },
} as const satisfies Record<string, ErrorCodeInfo>;
