/**
 * How to reach an MLflow tracking server, read from the environment variables MLflow's own
 * clients use (https://mlflow.org/docs/latest/ml/auth/#authenticating-to-mlflow): in GitLab
 * they come from the project's CI/CD variables.
 */
export interface MlflowConnection {
  /** Tracking URI without a trailing slash, e.g. `https://mlflow.example.com` or `http://127.0.0.1:5000/mlflow`. */
  readonly baseUrl: string;
  /** Authorization header value, when credentials are configured. */
  readonly authorization?: string;
  /** Per-request timeout. */
  readonly timeoutMs: number;
}

export const DEFAULT_MLFLOW_TIMEOUT_MS = 30_000;

/** Undefined when MLFLOW_TRACKING_URI is unset or not an http(s) URL. */
export function readMlflowConnection(env: NodeJS.ProcessEnv = process.env): MlflowConnection | undefined {
  const uri = env.MLFLOW_TRACKING_URI?.trim();
  if (!uri || !/^https?:\/\//i.test(uri)) return undefined;
  const token = env.MLFLOW_TRACKING_TOKEN?.trim();
  const user = env.MLFLOW_TRACKING_USERNAME;
  const password = env.MLFLOW_TRACKING_PASSWORD;
  const authorization = token
    ? `Bearer ${token}`
    : user !== undefined && password !== undefined
      ? `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`
      : undefined;
  const timeout = Number(env.MLFLOW_HTTP_REQUEST_TIMEOUT);
  return {
    baseUrl: uri.replace(/\/+$/, ''),
    ...(authorization ? { authorization } : {}),
    timeoutMs: Number.isFinite(timeout) && timeout > 0 ? timeout * 1000 : DEFAULT_MLFLOW_TIMEOUT_MS,
  };
}
