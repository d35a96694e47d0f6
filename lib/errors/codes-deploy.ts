import type { ErrorCodeInfo } from './error-code-info.js';

/** Errors of `modelfleet deploy`, `modelfleet up` and `modelfleet down`. */
export const deployErrors = {
  DEPLOY_ROLLOUT_FAILED: {
    summary: 'The new version of a model did not become ready in time; the previous version was restored and keeps serving.',
    fix: 'Read the events and log lines printed above (image, readiness probe, memory limit), fix the model or its settings in models.yaml, push, and re-run `<model>:deploy:<env>`.',
  },
  DEPLOY_MANIFEST_REJECTED: {
    summary: 'The Kubernetes API server rejected a manifest (HTTP 422); nothing already deployed was changed.',
    fix: 'The message names the object and the field. Fix the setting in models.yaml (or k8s-templates/), push, and re-run `<model>:deploy:<env>` (it renders the manifests).',
  },
  DEPLOY_API_ERROR: {
    summary: 'The Kubernetes API server answered with an error or could not be reached.',
    fix: 'Check the job\'s kubeconfig (KUBECONFIG, or the in-cluster service account), that the cluster answers, and that the account may apply objects in the namespace; then re-run `<model>:deploy:<env>`.',
  },
  DEPLOY_FORBIDDEN: {
    summary: 'The Kubernetes API server refused a request of the deploy job (HTTP 403): its identity lacks a permission. The message names the verb, the resource and the namespace.',
    fix: 'Give the job\'s identity the Role `modelfleet rbac --env <env>` prints (a cluster admin applies it once; docs/deploy.md shows how for a service-account token and for the GitLab agent), then re-run the job.',
  },
  DEPLOY_NAMESPACE_MISSING: {
    summary: 'The environment\'s namespace does not exist, and deploy does not create namespaces unless models.yaml asks it to; nothing was applied.',
    fix: 'Have a cluster admin create it (`kubectl create namespace <namespace>`, then apply `modelfleet rbac --env <env>`), or set `kubernetes: { createNamespace: true }` in models.yaml if the job may create namespaces; then re-run the job.',
  },
  DEPLOY_MISSING_INPUT: {
    summary: 'Something the deploy needs (the image in the registry, the measured sizing) is gone and cannot be recreated here.',
    fix: 'Re-run the job the message names (`<model>:build` or `<model>:test`), then `<model>:deploy:<env>`.',
  },
  DEPLOY_REGISTRY_ALIAS_FAILED: {
    summary: 'The model deployed, but its version could not be marked in the MLflow model registry (the environment\'s `registryAlias`), so the registry does not show what serves.',
    fix: 'Check MLFLOW_TRACKING_URI and MLFLOW_TRACKING_TOKEN for the deploy job and that the token may edit the registered model, then re-run `<model>:deploy:<env>` (an unchanged model is not deployed again; the alias is set). `registryAlias: false` on the environment turns it off.',
  },
  PROMOTE_INVALID: {
    summary: '`modelfleet promote` was asked for something it cannot do: the same environment twice, or a model with no recorded deployment in the source environment; nothing was changed.',
    fix: 'Promote from one environment to another (`--from staging --to production`), after the model was deployed to the source environment (`<model>:deploy:<env>`).',
  },
  ROLLBACK_NO_REVISION: {
    summary: '`modelfleet rollback` found no recorded revision to go back to (none earlier with another image, or none matching `--to`), or the revision recorded no measured limits; nothing was changed.',
    fix: 'List the recorded revisions with `modelfleet history --model <model> --env <env>` and pass one with `--to REVISION` or `--to VERSION`.',
  },
  ROLLBACK_IMAGE_GONE: {
    summary: 'The image (or model folder) a recorded revision ran is no longer where the record says: gone from the registry, this Docker engine, or changed on disk; nothing was changed.',
    fix: 'Rebuild it by re-running the `<model>:build` job of the pipeline that deployed it (the record names its commit), or pick another revision.',
  },
  CANARY_FAILED: {
    summary: 'A canary gate (`gate: canary` on an environment) read the previous environment\'s gateway metrics for the model over its window, and they missed a target: too few requests, a success rate below `minSuccessRate`, or a p99 above `maxP99Ms`. The next environment\'s deploy did not run.',
    fix: 'Find the cause in the previous environment (its gateway\'s /metrics, the model\'s logs, `modelfleet status`), then re-run `<model>:canary:<env>`; when the traffic there was not representative, promote by hand with `modelfleet promote --model <model> --from <previous> --to <env>`.',
  },
  CANARY_NO_METRICS: {
    summary: 'A canary check could not read the previous environment\'s gateway metrics: no URL is known for them, or the gateway did not answer.',
    fix: 'On Kubernetes, give the previous environment a `url:` (its gateway) or the gated one `canary.metricsUrl:`; locally, deploy the previous environment\'s gateway (`modelfleet deploy --gateway --env <previous>`). Then re-run `<model>:canary:<env>`.',
  },
  DEPLOY_STILL_ROUTED: {
    summary: '`deploy --remove` was asked to remove a model that the live gateway still routes to (its model kept its previous route after a failed deploy); nothing was removed.',
    fix: 'Fix and re-run the failed `<variant>:deploy:<env>` job, then `gateway:deploy:<env>`, then the `<model>:remove:<env>` job again.',
  },
  DEPLOY_NO_CLUSTER: {
    summary: 'A deploy inside GitLab CI (GITLAB_CI=true) found no Kubernetes cluster and was not told to deploy onto the runner.',
    fix: 'Give the job a cluster (a KUBECONFIG file variable, or the GitLab agent with KUBE_CONTEXT), or deploy onto the runner on purpose with `--target local` (`ci: { deployTarget: local }` in models.yaml).',
  },
  DEPLOY_LOCAL_NOT_READY: {
    summary: 'On the local target, the new instance of a model did not answer /readyz in time; the previous instance keeps serving.',
    fix: 'Read the log lines printed above (out of memory, bad model file, port in use), fix the cause and run `modelfleet deploy --model <name>` again.',
  },
  DEPLOY_LOCAL_NO_RUNTIME: {
    summary: 'The local target can run neither a container (no Docker engine, or the image is missing) nor a process (the model has no local MLflow directory).',
    fix: 'Start Docker (`scripts/setup-docker.sh`) and build the image (`modelfleet build --model <name>`), or use a `path:` source for the model.',
  },
  DEPLOY_GATEWAY_FAILED: {
    summary: 'The local gateway did not start or did not take the new route table.',
    fix: 'Read the gateway log named in the message (`.modelfleet/local/gateway.log`), fix the cause, then run `modelfleet deploy --gateway`.',
  },
  UP_STEP_FAILED: {
    summary: 'One step of `modelfleet up` (generate, build, loadtest, deploy, gateway) failed.',
    fix: 'The message names the step and the model; its own output is printed above. Fix the cause and run `npm start` again: finished steps are quick to repeat.',
  },
} as const satisfies Record<string, ErrorCodeInfo>;
