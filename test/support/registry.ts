/**
 * Shared set-up for tests that need the real registry (Debian's docker-registry, distribution
 * 2.8, on 127.0.0.1:5000). They fail, never skip, when it does not answer: a green run must
 * mean the registry paths were exercised against the real thing.
 */
import { randomBytes } from 'node:crypto';

/** Where `scripts/setup-registry.sh` starts it; the same variable moves both. */
export const registryAddress: string = process.env.MODELFLEET_REGISTRY_ADDR ?? '127.0.0.1:5000';

const PROBE_TIMEOUT_MS = 3_000;

/**
 * Returns `host:port` of the registry after checking that `GET /v2/` answers 200, or throws
 * with the fix. Call it in `beforeAll`; the thrown error fails every test of the file.
 */
export async function requireRegistry(): Promise<string> {
  const url = `http://${registryAddress}/v2/`;
  let status: number | string;
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
    await response.body?.cancel();
    status = response.status;
  } catch (err) {
    const cause = (err as { cause?: { code?: unknown } }).cause?.code;
    status = typeof cause === 'string' ? cause : (err as Error).name;
  }
  if (status !== 200) {
    throw new Error(
      `No container registry answers on ${url} (${typeof status === 'number' ? `HTTP ${status}` : status}). ` +
        'These tests need the real one: run `npm run setup` (or `bash scripts/setup-registry.sh`: installs docker-registry and starts it on 127.0.0.1:5000), then retry.',
    );
  }
  return registryAddress;
}

/** A repository name no other test (or test run) uses, e.g. `test-3f9a0c12e4/record`. */
export function uniqueRepository(leaf = 'record'): string {
  return `test-${randomBytes(5).toString('hex')}/${leaf}`;
}
