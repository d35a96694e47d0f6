import type { RegistryAuth } from '../seams/docker.js';

/** Where a deployable's images and records live in the registry, and how to log in. */
export interface RegistryTarget {
  /** `host[:port]`, e.g. `registry.example.com` or `127.0.0.1:5000`. */
  readonly host: string;
  /** Repository path inside the registry, e.g. `group/project/match-7-moto-baseline`. */
  readonly repository: string;
  /** Full image reference, e.g. `registry.example.com/group/project/match-7-moto-baseline:0123456789ab`. */
  readonly reference: string;
  /** Undefined for a registry that takes anonymous pushes (a local one). */
  readonly auth: RegistryAuth | undefined;
}

/**
 * Undefined when no registry is configured: images stay in the local engine, which only works
 * when every job shares one engine (a shell runner, `modelfleet up`).
 *
 * - `MODELFLEET_REGISTRY_IMAGE` (e.g. `127.0.0.1:5000/modelfleet`) names the repository prefix;
 *   credentials come from MODELFLEET_REGISTRY_USER / MODELFLEET_REGISTRY_PASSWORD, else from
 *   GitLab's CI_REGISTRY_USER / CI_REGISTRY_PASSWORD when the host is CI_REGISTRY, else none.
 * - Otherwise GitLab's project registry: GitLab sets CI_REGISTRY, CI_REGISTRY_IMAGE,
 *   CI_REGISTRY_USER and CI_REGISTRY_PASSWORD together when it is enabled
 *   (https://docs.gitlab.com/ci/variables/predefined_variables/). All three of CI_REGISTRY,
 *   CI_REGISTRY_USER and CI_REGISTRY_PASSWORD are required: gitlab-ci-local sets CI_REGISTRY
 *   alone (`local-registry.<host>`, where nothing listens).
 * - MODELFLEET_PUSH=false turns the registry off in any case.
 */
export function registryTargetFor(deployName: string, tag: string, env: NodeJS.ProcessEnv = process.env): RegistryTarget | undefined {
  if (env.MODELFLEET_PUSH === 'false') return undefined;
  const ciRegistry = env.CI_REGISTRY?.trim();
  const ciAuth = (host: string): RegistryAuth | undefined =>
    ciRegistry && host === ciRegistry && env.CI_REGISTRY_USER && env.CI_REGISTRY_PASSWORD
      ? { serveraddress: host, username: env.CI_REGISTRY_USER, password: env.CI_REGISTRY_PASSWORD }
      : undefined;

  const explicit = env.MODELFLEET_REGISTRY_IMAGE?.trim().replace(/\/+$/, '');
  if (explicit) {
    const host = explicit.split('/')[0] ?? explicit;
    const user = env.MODELFLEET_REGISTRY_USER;
    const password = env.MODELFLEET_REGISTRY_PASSWORD;
    const auth = user && password ? { serveraddress: host, username: user, password } : ciAuth(host);
    return targetIn(explicit, host, deployName, tag, auth);
  }
  if (!ciRegistry || !env.CI_REGISTRY_USER || !env.CI_REGISTRY_PASSWORD) return undefined;
  const prefix = env.CI_REGISTRY_IMAGE?.trim() || `${ciRegistry}/modelfleet`;
  return targetIn(prefix, ciRegistry, deployName, tag, ciAuth(ciRegistry));
}

function targetIn(prefix: string, host: string, deployName: string, tag: string, auth: RegistryAuth | undefined): RegistryTarget {
  const repositoryPrefix = prefix.slice(host.length).replace(/^\/+/, '');
  const repository = repositoryPrefix ? `${repositoryPrefix}/${deployName}` : deployName;
  return { host, repository, reference: `${host}/${repository}:${tag}`, auth };
}

/** The same repository, another tag (the sizing record sits beside the image). */
export function withTag(target: RegistryTarget, tag: string): RegistryTarget {
  return { ...target, reference: `${target.host}/${target.repository}:${tag}` };
}
