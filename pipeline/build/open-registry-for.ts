import { openRegistry, type RegistryClient } from '../registry/registry-client.js';
import { splitReference } from '../seams/docker.js';
import type { RegistryTarget } from './registry-target.js';

/** Registry calls are small (manifests, JSON records); a registry silent this long is down. */
const REGISTRY_TIMEOUT_MS = 30_000;

/** Whether the registry holds the image (or record) `target.reference` names; rejects when it cannot be asked. */
export async function registryHas(target: RegistryTarget): Promise<boolean> {
  return openRegistryFor(target).hasManifest(target.repository, splitReference(target.reference).tag);
}

/** A registry API client logged in the way `docker push` to `target` would be. */
export function openRegistryFor(target: RegistryTarget): RegistryClient {
  return openRegistry({
    host: target.host,
    ...(target.auth ? { credentials: { username: target.auth.username, password: target.auth.password } } : {}),
    timeoutMs: REGISTRY_TIMEOUT_MS,
  });
}
