import type { RegistryAuth } from '../seams/docker.js';

/** Where a model image is pushed, and with which credentials, from GitLab's predefined variables. */
export interface RegistryTarget {
  /** Full reference, e.g. `registry.example.com/group/project/match-7-moto-baseline:0123456789ab`. */
  readonly reference: string;
  readonly auth: RegistryAuth;
}

/**
 * Undefined when no registry is configured: images stay in the local engine. GitLab sets
 * CI_REGISTRY, CI_REGISTRY_IMAGE, CI_REGISTRY_USER and CI_REGISTRY_PASSWORD together when the
 * project's container registry is enabled (https://docs.gitlab.com/ci/variables/predefined_variables/),
 * so all of CI_REGISTRY, CI_REGISTRY_USER and CI_REGISTRY_PASSWORD are required: gitlab-ci-local
 * sets CI_REGISTRY alone (`local-registry.<host>`, nothing listens there), and a push to it would
 * only fail. MODELFLEET_PUSH=false turns pushing off in any case.
 */
export function registryTargetFor(deployName: string, tag: string, env: NodeJS.ProcessEnv = process.env): RegistryTarget | undefined {
  const registry = env.CI_REGISTRY?.trim();
  const user = env.CI_REGISTRY_USER;
  const password = env.CI_REGISTRY_PASSWORD;
  if (!registry || !user || !password || env.MODELFLEET_PUSH === 'false') return undefined;
  const repository = env.CI_REGISTRY_IMAGE?.trim() || `${registry}/modelfleet`;
  return {
    reference: `${repository}/${deployName}:${tag}`,
    auth: { serveraddress: registry, username: user, password },
  };
}
