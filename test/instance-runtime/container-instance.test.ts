import { describe, expect, it } from 'vitest';
import { startContainerInstance } from '../../pipeline/instance-runtime/container-instance.js';
import type { ContainerHandle, ContainerState, DockerSeam, RunRequest } from '../../pipeline/seams/docker.js';

/**
 * A stand-in for the Docker seam that records what would be run: these tests are about what the
 * runtime asks of the engine and where it then looks, not about the engine (test/loadtest/
 * loadtest-docker.test.ts and test/deploy/local-target-docker.test.ts run real containers).
 */
function recordingDocker(state: ContainerState): { docker: DockerSeam; runs: RunRequest[]; calls: string[] } {
  const runs: RunRequest[] = [];
  const calls: string[] = [];
  const handle: ContainerHandle = {
    id: '0123456789abcdef0123',
    name: 'x',
    inspect: async () => state,
    stats: async function* () {},
    logs: async () => {
      calls.push('logs');
      return 'line 1\nline 2';
    },
    stop: async (timeoutSec) => {
      calls.push(`stop ${timeoutSec}`);
    },
    remove: async () => {
      calls.push('remove');
    },
  };
  const used: Partial<DockerSeam> = {
    runContainer: async (request) => {
      runs.push(request);
      return handle;
    },
    container: () => handle,
  };
  // Any other seam method is a call the runtime must not make.
  const docker = new Proxy(used, {
    get: (target, key) => target[key as keyof DockerSeam] ?? (() => {
      throw new Error(`the instance runtime called DockerSeam.${String(key)}`);
    }),
  }) as DockerSeam;
  return { docker, runs, calls };
}

const exited: ContainerState = { running: false, oomKilled: true, exitCode: 137, restartCount: 0, status: 'exited' };
const spec = { image: 'modelfleet/m:abc', name: 'modelfleet-test-m', port: 18_080, env: { MODEL_NAME: 'm' }, labels: { 'modelfleet.test': 'yes' } };

describe('a container instance', () => {
  it('binds and is reached on 127.0.0.1 with a local engine, as the pod runs it (read-only root, /tmp tmpfs, memory cap)', async () => {
    const { docker, runs } = recordingDocker(exited);
    const instance = await startContainerInstance(docker, { ...spec, memoryCapBytes: 160 * 1024 * 1024, hosts: { connectHost: '127.0.0.1', bindHost: '127.0.0.1' } });
    expect(runs[0]).toMatchObject({
      image: 'modelfleet/m:abc',
      env: { MODEL_NAME: 'm', HOST: '127.0.0.1', PORT: '18080', ORT_DISABLE_TELEMETRY: '1' },
      readOnlyRootFs: true,
      tmpfs: { '/tmp': 'rw,size=64m' },
      memoryBytes: 160 * 1024 * 1024,
    });
    expect(instance.baseUrl).toBe('http://127.0.0.1:18080');
    expect(instance.description).toBe('container 0123456789ab (modelfleet/m:abc, memory cap 160Mi)');
  });

  it('binds 0.0.0.0 and is reached at the engine\'s host under Docker-in-Docker, and records that host', async () => {
    const { docker, runs } = recordingDocker(exited);
    const instance = await startContainerInstance(docker, { ...spec, hosts: { connectHost: 'docker', bindHost: '0.0.0.0' } });
    expect(runs[0]?.env).toMatchObject({ HOST: '0.0.0.0', PORT: '18080' });
    expect(runs[0]?.memoryBytes).toBeUndefined();
    expect(instance.baseUrl).toBe('http://docker:18080');
    expect(instance.record).toMatchObject({ runtime: 'docker', host: 'docker', port: 18080, containerId: '0123456789abcdef0123', containerName: 'modelfleet-test-m' });
  });

  it('leaves HOST and PORT to an image that brings its own server', async () => {
    const { docker, runs } = recordingDocker(exited);
    await startContainerInstance(docker, { ...spec, listensOnOwnAddress: true, hosts: { connectHost: '127.0.0.1', bindHost: '127.0.0.1' } });
    expect(runs[0]?.env).toEqual({ MODEL_NAME: 'm', ORT_DISABLE_TELEMETRY: '1' });
  });

  it('reads its fate from the engine, keeps its output past removal, and stops once', async () => {
    const { docker, calls } = recordingDocker(exited);
    const instance = await startContainerInstance(docker, { ...spec, hosts: { connectHost: '127.0.0.1', bindHost: '127.0.0.1' } });
    expect(await instance.state()).toEqual({ running: false, oomKilled: true, exitCode: 137, restartCount: 0 });
    await instance.stop(3);
    await instance.stop(3);
    expect(calls).toEqual(['logs', 'stop 3', 'remove']);
    expect(await instance.logs(1)).toBe('line 2');
  });
});
