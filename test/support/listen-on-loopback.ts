import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Starts a test server on a port the OS picks on 127.0.0.1 (no race with another test for a
 * "free" port) and resolves with its base URL, `http://127.0.0.1:<port>`.
 */
export async function listenOnLoopback(server: Server): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}
