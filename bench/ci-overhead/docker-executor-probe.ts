/**
 * Whether gitlab-ci-local's Docker executor can run a job in the CI image on this engine.
 * It needs its helper image (docker.io/firecow/gitlab-ci-local-util, pulled unless present)
 * and a shell in the job image, as GitLab's own Docker executor does; the offline base image
 * has no shell, and no public registry answers here. The probe runs the job and reports the
 * first error, once with the default helper and, should that fail to pull, once with the job
 * image standing in as the helper, so the report names every obstacle.
 */
import { gitlabCiLocal, node22, readJobResults, run } from '../../test/e2e/gitlab-ci-local.js';

export interface DockerExecutorProbe {
  readonly usable: boolean;
  /** Why not, one line per attempt. */
  readonly obstacles: readonly string[];
}

export async function probeDockerExecutor(options: { cwd: string; job: string; image: string; firstOutput: RegExp }): Promise<DockerExecutorProbe> {
  const obstacles: string[] = [];
  for (const helper of [undefined, options.image]) {
    const flags = ['--no-color', '--network', 'host', ...(helper ? ['--helper-image', helper] : [])];
    const { output } = await run(node22, [gitlabCiLocal, ...flags, options.job], { cwd: options.cwd, env: { FORCE_COLOR: '0', NO_COLOR: '1' }, timeoutMs: 300_000 });
    if (readJobResults(output).get(options.job)?.passed && options.firstOutput.test(output)) return { usable: true, obstacles };
    obstacles.push(`${helper ? `with --helper-image ${helper}` : 'default helper image'}: ${firstError(output)}`);
    if (!/docker pull/.test(output)) break;
  }
  return { usable: false, obstacles };
}

function firstError(output: string): string {
  const lines = output.split('\n').map((l) => l.trim());
  const daemon = lines.find((l) => l.startsWith('Error response from daemon'));
  // gitlab-ci-local also logs failed git look-ups (no remote) that do not stop a job.
  const failed = lines.find((l) => /Command failed with exit code \d+: docker /.test(l));
  return [failed, daemon].filter(Boolean).join(' — ') || (lines.filter(Boolean).slice(-3).join(' | ') || 'no output');
}
