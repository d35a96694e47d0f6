import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** CI_COMMIT_SHA in GitLab; `git rev-parse HEAD` elsewhere; `unknown` outside a repository. */
export async function gitCommit(cwd: string, env: NodeJS.ProcessEnv): Promise<string> {
  if (env.CI_COMMIT_SHA) return env.CI_COMMIT_SHA;
  try {
    const { stdout } = await run('git', ['rev-parse', 'HEAD'], { cwd, timeout: 5_000 });
    return stdout.trim() || 'unknown';
  } catch {
    return 'unknown';
  }
}
