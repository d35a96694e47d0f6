import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** The token of the cluster admin's kubeconfig; the fake was not told about it, so RBAC never refuses it. */
export const ADMIN_TOKEN = 'fake-token';

/**
 * Writes a kubeconfig for `url` carrying `token` into `dir` and returns its path:
 * `kubeconfig.yaml` for the admin's token, `kubeconfig-<hash>.yaml` for any other.
 */
export async function writeKubeconfig(dir: string, url: string, token: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const file = join(dir, token === ADMIN_TOKEN ? 'kubeconfig.yaml' : `kubeconfig-${createHash('sha256').update(token).digest('hex').slice(0, 12)}.yaml`);
  const config = [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    // client-node refuses plain HTTP unless TLS verification is off; the fake serves 127.0.0.1 only.
    `- name: fake\n  cluster:\n    server: ${url}\n    insecure-skip-tls-verify: true`,
    'users:',
    `- name: tester\n  user:\n    token: ${token}`,
    'contexts:',
    '- name: fake\n  context:\n    cluster: fake\n    user: tester\n    namespace: default',
    'current-context: fake',
    '',
  ].join('\n');
  await writeFile(file, config);
  return file;
}
