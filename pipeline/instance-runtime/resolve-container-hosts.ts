/**
 * Where a server in a container is reached, and the address it must bind.
 *
 * Containers run with host networking, so a server in one shares the network of the machine
 * that runs the Docker engine. With a local engine (a unix socket, or TCP on loopback) that is
 * this machine: bind 127.0.0.1, connect to 127.0.0.1, nothing is exposed. On GitLab's Docker
 * executor with Docker-in-Docker (`DOCKER_HOST=tcp://docker:2375`) the engine, and so the
 * container's host network, is the `docker` service: the job reaches the server at that host
 * name, and the server must bind 0.0.0.0 to be reachable from the job
 * (https://docs.gitlab.com/ci/docker/using_docker_build/#use-docker-in-docker).
 * MODELFLEET_CONTAINER_HOST names the host explicitly when neither guess fits.
 */
export interface ContainerHosts {
  /** Host name or IP the job connects to (in URL form: an IPv6 address keeps its brackets). */
  readonly connectHost: string;
  /** Address the server in the container listens on (its HOST). */
  readonly bindHost: string;
}

const LOCAL: ContainerHosts = { connectHost: '127.0.0.1', bindHost: '127.0.0.1' };
/** Schemes of engines on another machine; unix:// and npipe:// are always this machine. */
const REMOTE_SCHEMES = new Set(['tcp:', 'http:', 'https:', 'ssh:']);

export function resolveContainerHosts(env: Readonly<Record<string, string | undefined>>): ContainerHosts {
  const override = env.MODELFLEET_CONTAINER_HOST?.trim();
  if (override) return isLoopback(override) ? LOCAL : { connectHost: override, bindHost: '0.0.0.0' };
  const host = remoteEngineHost(env.DOCKER_HOST?.trim() ?? '');
  return host === undefined || isLoopback(host) ? LOCAL : { connectHost: host, bindHost: '0.0.0.0' };
}

/** The host of a DOCKER_HOST that points at an engine over the network; undefined for a local socket. */
function remoteEngineHost(dockerHost: string): string | undefined {
  if (dockerHost === '') return undefined;
  let url: URL;
  try {
    url = new URL(dockerHost);
  } catch {
    // Not a URL: the engine client cannot use it either, so no engine answers and nothing is started.
    return undefined;
  }
  return REMOTE_SCHEMES.has(url.protocol) && url.hostname !== '' ? url.hostname : undefined;
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '[::1]' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host);
}
