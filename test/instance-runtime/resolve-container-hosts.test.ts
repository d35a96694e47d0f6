import { describe, expect, it } from 'vitest';
import { resolveContainerHosts } from '../../pipeline/instance-runtime/resolve-container-hosts.js';

const local = { connectHost: '127.0.0.1', bindHost: '127.0.0.1' };

describe('resolveContainerHosts', () => {
  it.each([
    { case: 'no DOCKER_HOST: the local engine', env: {}, want: local },
    { case: 'an empty DOCKER_HOST', env: { DOCKER_HOST: '' }, want: local },
    { case: 'a unix socket', env: { DOCKER_HOST: 'unix:///var/run/docker.sock' }, want: local },
    { case: 'a second engine\'s socket', env: { DOCKER_HOST: 'unix:///run/modelfleet-second/docker.sock' }, want: local },
    { case: 'an engine on this machine over TCP', env: { DOCKER_HOST: 'tcp://127.0.0.1:2375' }, want: local },
    { case: 'localhost over TCP', env: { DOCKER_HOST: 'tcp://localhost:2376' }, want: local },
    { case: 'GitLab\'s Docker-in-Docker service', env: { DOCKER_HOST: 'tcp://docker:2375' }, want: { connectHost: 'docker', bindHost: '0.0.0.0' } },
    { case: 'DinD with TLS', env: { DOCKER_HOST: 'tcp://docker:2376', DOCKER_TLS_VERIFY: '1' }, want: { connectHost: 'docker', bindHost: '0.0.0.0' } },
    { case: 'a remote engine by IP', env: { DOCKER_HOST: 'tcp://10.1.2.3:2375' }, want: { connectHost: '10.1.2.3', bindHost: '0.0.0.0' } },
    { case: 'a remote engine by IPv6, kept in URL form', env: { DOCKER_HOST: 'tcp://[fd00::5]:2375' }, want: { connectHost: '[fd00::5]', bindHost: '0.0.0.0' } },
    { case: 'an engine over ssh', env: { DOCKER_HOST: 'ssh://ci@build-host' }, want: { connectHost: 'build-host', bindHost: '0.0.0.0' } },
    { case: 'not a URL (no engine can answer it)', env: { DOCKER_HOST: 'docker:2375' }, want: local },
    { case: 'the override, which wins over DOCKER_HOST', env: { DOCKER_HOST: 'tcp://docker:2375', MODELFLEET_CONTAINER_HOST: 'dind.internal' }, want: { connectHost: 'dind.internal', bindHost: '0.0.0.0' } },
    { case: 'the override alone', env: { MODELFLEET_CONTAINER_HOST: '192.168.5.7' }, want: { connectHost: '192.168.5.7', bindHost: '0.0.0.0' } },
    { case: 'the override naming loopback, which keeps the server private', env: { DOCKER_HOST: 'tcp://docker:2375', MODELFLEET_CONTAINER_HOST: '127.0.0.1' }, want: local },
    { case: 'a blank override, ignored', env: { DOCKER_HOST: 'tcp://docker:2375', MODELFLEET_CONTAINER_HOST: '  ' }, want: { connectHost: 'docker', bindHost: '0.0.0.0' } },
  ])('$case', ({ env, want }) => {
    expect(resolveContainerHosts(env)).toEqual(want);
  });
});
