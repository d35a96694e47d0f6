import type { Deployable } from '../../generator/fleet/types.js';

/** The job variable that gives a load test the value of a model's `secretEnv` variable NAME. */
export const LOADTEST_SECRET_PREFIX = 'MODELFLEET_SECRET_';

export interface LoadtestSecretEnv {
  /** Variable name → value, for the server under test only: never logged, reported or hashed. */
  readonly values: Readonly<Record<string, string>>;
  /** One line naming which variables the load test has and which it runs without (names only). */
  readonly summary: string | undefined;
}

/**
 * A load test has no cluster, so no Secret: each `secretEnv` variable NAME takes the job's
 * variable `MODELFLEET_SECRET_<NAME>` when it is set (e.g. a masked GitLab CI/CD variable), and
 * is left out otherwise. `envFrom` Secrets are never available here (their keys are not known
 * outside the cluster). The values reach the server's environment and nothing else: the sizing
 * key, the report and the log name only the variables.
 */
export function loadtestSecretEnv(deployable: Deployable, env: NodeJS.ProcessEnv): LoadtestSecretEnv {
  const { secretEnv, envFromSecrets } = deployable.model;
  if (secretEnv.length === 0 && envFromSecrets.length === 0) return { values: {}, summary: undefined };
  const values: Record<string, string> = {};
  const given: string[] = [];
  const absent: string[] = [];
  for (const { name } of secretEnv) {
    const value = env[`${LOADTEST_SECRET_PREFIX}${name}`];
    if (value === undefined || value === '') absent.push(name);
    else {
      values[name] = value;
      given.push(name);
    }
  }
  const parts = [
    ...(given.length > 0 ? [`${given.join(', ')} from ${LOADTEST_SECRET_PREFIX}<name>`] : []),
    ...(absent.length > 0 ? [`without ${absent.join(', ')} (set ${LOADTEST_SECRET_PREFIX}<name> to give a value)`] : []),
    ...(envFromSecrets.length > 0 ? [`without the variables of Secret${envFromSecrets.length === 1 ? '' : 's'} ${envFromSecrets.join(', ')} (envFrom: cluster only)`] : []),
  ];
  return { values, summary: `secret variables in the load test: ${parts.join('; ')}` };
}
