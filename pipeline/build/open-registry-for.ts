import { openRegistry, type RegistryClient } from '../registry/registry-client.js';
import type { RegistryTarget } from './registry-target.js';

/** Registry calls are small (manifests, JSON records); a registry silent this long is down. */
const REGISTRY_TIMEOUT_MS = 30_000;

/** A registry API client logged in the way `docker push` to `target` would be. */
export function openRegistryFor(target: RegistryTarget): RegistryClient {
  return openRegistry({
    host: target.host,
    ...(target.auth ? { credentials: { username: target.auth.username, password: target.auth.password } } : {}),
    timeoutMs: REGISTRY_TIMEOUT_MS,
  });
}
