/**
 * Polls `check` until it returns true; fails after `timeoutMs`. A check may throw to fail at once
 * (a container that exited will never get ready). For Docker tests, where the engine's state can
 * only be polled; the timeout bounds a failure, it is not what a test asserts.
 */
export async function waitUntil(check: () => Promise<boolean>, timeoutMs: number, intervalMs = 250): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  throw new Error(`condition not met within ${timeoutMs} ms`);
}
