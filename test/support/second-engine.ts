/**
 * Shared set-up for tests that need a second, empty Docker engine: the stand-in for a fresh
 * per-job GitLab runner (Docker-in-Docker starts with no images). Fails, never skips, when it
 * does not answer.
 */
import { openDocker } from '../../pipeline/seams/docker.js';

/** Where `scripts/start-second-engine.sh` puts its socket; the same variable moves both. */
export const secondEngineSocket: string = process.env.MODELFLEET_DOCKER2_SOCKET ?? '/run/modelfleet-docker2.sock';

/** Returns the second engine's socket path after a ping, or throws with the fix. */
export async function requireSecondEngine(): Promise<string> {
  const engine = await openDocker({ socketPath: secondEngineSocket, timeoutMs: 5_000 });
  if (!engine) {
    throw new Error(
      `No second Docker engine answers on unix://${secondEngineSocket}. These tests need it: run \`npm run setup\` ` +
        '(or `bash scripts/start-second-engine.sh`, after scripts/setup-docker.sh), then retry.',
    );
  }
  return secondEngineSocket;
}
