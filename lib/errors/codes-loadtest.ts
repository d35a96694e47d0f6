import type { ErrorCodeInfo } from './error-code-info.js';

/** Errors of `modelfleet loadtest`: starting the server, the checks, sizing and manifests. */
export const loadtestErrors = {
  LOADTEST_IMAGE_MISSING: {
    summary: "The model's serving image (by its content tag) is neither in this Docker engine nor in the configured registry.",
    fix: 'Re-run the `<model>:build` job (locally: `modelfleet build --model <model>`), then the load test. On per-job runners set MODELFLEET_REGISTRY_IMAGE (or enable GitLab\'s container registry) so the image crosses jobs.',
  },
  LOADTEST_RECORD_FAILED: {
    summary: 'The load test passed, but its sizing record could not be stored beside the image in the registry.',
    fix: 'Check that the registry answers and that the job may push to it (CI_REGISTRY_USER / CI_REGISTRY_PASSWORD or MODELFLEET_REGISTRY_USER / MODELFLEET_REGISTRY_PASSWORD), then re-run `<model>:test`.',
  },
  LOADTEST_DOCKER_UNAVAILABLE: {
    summary: '`--mode docker` was asked for, or the model brings its own image, but no Docker engine answers.',
    fix: 'Start a Docker engine (`scripts/setup-docker.sh`), or run with `--mode process` for a model served by modelfleet.',
  },
  LOADTEST_NOT_BUILT: {
    summary: 'Process mode starts `node bin/modelfleet.js serve`, which needs the compiled CLI in dist/.',
    fix: 'Run `npm run build` in the modelfleet folder, then the load test again.',
  },
  LOADTEST_MODEL_NOT_LOCAL: {
    summary: 'Process mode needs the model files on disk, but this model lives in an MLflow registry and was not downloaded.',
    fix: 'Run the `<model>:build` job first (it downloads the artifacts), or load-test in Docker mode.',
  },
  LOADTEST_SCHEMA_UNREADABLE: {
    summary: "The model's input signature could not be read, so no conforming inputs can be generated.",
    fix: 'Give the model an MLflow `signature` (or, for an `image:` model, a `schema:` file holding an MLmodel or a JSON signature).',
  },
  LOADTEST_SERVER_NOT_READY: {
    summary: 'The model server did not answer its readiness path in time, or exited while starting.',
    fix: "Read the server's last log lines in the message; fix the model or the image and re-run `<model>:build`, then the test.",
  },
  LOADTEST_CHECKS_FAILED: {
    summary: 'The load test ran but at least one check failed: request errors, p99 over budget, a bad request not answered 4xx, a crash/restart/OOM kill, or the limit proof.',
    fix: 'Open build/models/<model>/report/report.html; each failed check says what was measured. Raise `loadtest.p99BudgetMs`, fix the server, or fix the leak.',
  },
  MANIFEST_INVALID: {
    summary: 'A rendered Kubernetes manifest does not pass the official Kubernetes API schema.',
    fix: "The message names the manifest and field. Check the model's `scheduling` (node selector, tolerations) and `scaling` values in models.yaml.",
  },
} as const satisfies Record<string, ErrorCodeInfo>;
