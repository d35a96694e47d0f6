/**
 * The Docker seam: everything modelfleet asks of a Docker engine goes through this module, so
 * the rest of the code never imports dockerode and tests can stand in for the engine.
 *
 * Two rules hold for every container started here:
 * - host networking, always (`NetworkMode: 'host'`): no traffic ever goes to Docker's private
 *   bridge range (172.17.x); servers bind 127.0.0.1, or 0.0.0.0 on a Docker-in-Docker service's
 *   host (pipeline/instance-runtime/resolve-container-hosts.ts says which);
 * - a memory cap, when given, sets `Memory` and `MemorySwap` to the same value, so the cap is
 *   real and the container cannot swap past it (https://docs.docker.com/engine/containers/resource_constraints/#--memory-swap-details).
 */
import Docker from 'dockerode';

/** How long `openDocker` waits for the engine to answer a ping before it reports "no engine". */
export const DEFAULT_PING_TIMEOUT_MS = 2_000;

export interface OpenDockerOptions {
  /** Ping timeout; the default is short because callers fall back (process mode) or fail fast. */
  readonly timeoutMs?: number;
  /** Unix socket of the engine; default: DOCKER_HOST or /var/run/docker.sock. */
  readonly socketPath?: string;
}

/** One line of `docker build` output, as the builder streams it. */
export interface BuildProgress {
  /** `step` for "Step 3/8 : COPY ..." lines, `output` for everything else. */
  readonly kind: 'step' | 'output';
  readonly text: string;
}

export interface BuildRequest {
  /** A tar stream of the build context (e.g. from tar-fs `pack`). */
  readonly context: NodeJS.ReadableStream;
  /** Full reference to tag the result with, e.g. `modelfleet/match-logreg-v1:0123456789ab`. */
  readonly tag: string;
  /** Path of the Dockerfile inside the context (default `Dockerfile`). */
  readonly dockerfile?: string;
  readonly buildArgs?: Readonly<Record<string, string>>;
  readonly labels?: Readonly<Record<string, string>>;
  readonly onProgress?: (event: BuildProgress) => void;
}

export interface ImageDetails {
  /** `sha256:...` image ID. */
  readonly id: string;
  readonly tags: readonly string[];
  /** Total size in bytes, shared layers included. */
  readonly sizeBytes: number;
  /** Layer diff IDs, bottom first (`RootFS.Layers`). */
  readonly layers: readonly string[];
  readonly labels: Readonly<Record<string, string>>;
  readonly user: string;
  readonly env: readonly string[];
  readonly cmd: readonly string[];
}

export interface ImageHistoryEntry {
  /** The instruction that made it, e.g. `/bin/sh -c #(nop) COPY dir:... in /model/`. */
  readonly createdBy: string;
  readonly sizeBytes: number;
}

/** Credentials for `docker push`, e.g. GitLab's CI_REGISTRY_USER / CI_REGISTRY_PASSWORD. */
export interface RegistryAuth {
  readonly serveraddress: string;
  readonly username: string;
  readonly password: string;
}

export interface RunRequest {
  readonly image: string;
  /** Container name; a stopped or running container of the same name is replaced. */
  readonly name?: string;
  /** Overrides the image's CMD. */
  readonly command?: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  readonly labels?: Readonly<Record<string, string>>;
  /** Hard memory limit in bytes (swap capped to the same value). */
  readonly memoryBytes?: number;
  /** CPU limit in cores (e.g. 0.5). */
  readonly cpus?: number;
  readonly readOnlyRootFs?: boolean;
  /** tmpfs mounts, e.g. `{ '/tmp': 'rw,size=64m' }` (needed with a read-only root fs). */
  readonly tmpfs?: Readonly<Record<string, string>>;
  /** `uid[:gid]`; default the image's USER. */
  readonly user?: string;
}

/** One memory and CPU sample of a running container. */
export interface StatsSample {
  /** Milliseconds since the epoch when the engine read the sample. */
  readonly atMs: number;
  /**
   * Memory usage minus inactive file cache: the working set the kubelet compares with a
   * container's memory limit (https://kubernetes.io/docs/concepts/scheduling-eviction/node-pressure-eviction/#eviction-signals).
   */
  readonly workingSetBytes: number;
  /** Raw cgroup memory usage, page cache included. */
  readonly usageBytes: number;
  /** CPU use since the previous sample, 100 = one full core. */
  readonly cpuPercent: number;
}

export interface ContainerState {
  readonly running: boolean;
  readonly oomKilled: boolean;
  /** Exit code of the last run; 0 while running. */
  readonly exitCode: number;
  readonly restartCount: number;
  /** Engine status word: created, running, exited, ... */
  readonly status: string;
}

export interface ContainerHandle {
  readonly id: string;
  readonly name: string | undefined;
  inspect(): Promise<ContainerState>;
  /** Samples about once a second until the container stops or `signal` aborts. */
  stats(signal?: AbortSignal): AsyncIterable<StatsSample>;
  /** The last `tail` lines of stdout and stderr, interleaved (default 100). */
  logs(tail?: number): Promise<string>;
  /** SIGTERM, then SIGKILL after `timeoutSec` (default 10). No error when already stopped. */
  stop(timeoutSec?: number): Promise<void>;
  /** Starts a stopped container again, with the settings it was created with (no error when it runs). */
  start?(): Promise<void>;
  /** Removes the container (force: a running one is killed). No error when already gone. */
  remove(): Promise<void>;
}

export interface DockerSeam {
  imageExists(ref: string): Promise<boolean>;
  /** Undefined when no image has this reference. */
  inspectImage(ref: string): Promise<ImageDetails | undefined>;
  /** Layer diff IDs, bottom first; throws when the image does not exist. */
  imageLayers(ref: string): Promise<readonly string[]>;
  /** The image's history, oldest first; entries with `sizeBytes > 0` are its layers, in `layers` order. */
  imageHistory(ref: string): Promise<readonly ImageHistoryEntry[]>;
  /** Builds with the classic builder; rejects with the builder's error text on failure. */
  buildImage(request: BuildRequest): Promise<ImageDetails>;
  /** Adds `target` (`repo:tag`) to the image `source`. */
  tagImage(source: string, target: string): Promise<void>;
  pushImage(ref: string, auth?: RegistryAuth, onProgress?: (text: string) => void): Promise<void>;
  /** Pulls `ref` (`registry/repo:tag`) from its registry; rejects with the engine's error text. */
  pullImage(ref: string, auth?: RegistryAuth, onProgress?: (text: string) => void): Promise<void>;
  removeImage(ref: string): Promise<void>;
  /** Removes every image carrying the label `key=value` (all its tags); returns how many. */
  removeImagesWithLabel(key: string, value: string): Promise<number>;
  runContainer(request: RunRequest): Promise<ContainerHandle>;
  /** A handle on an existing container by name or ID (no call is made until it is used). */
  container(nameOrId: string): ContainerHandle;
  /** Removes every container carrying `key=value` (test and job clean-up). */
  removeContainersWithLabel(key: string, value: string): Promise<number>;
}

/**
 * Connects to the local Docker engine. Resolves to undefined, within `timeoutMs`, when no
 * engine answers, so callers can fall back (process mode) or fail with a clear message.
 */
export async function openDocker(options: OpenDockerOptions = {}): Promise<DockerSeam | undefined> {
  const connection = options.socketPath ? { socketPath: options.socketPath } : undefined;
  const timeoutMs = options.timeoutMs ?? DEFAULT_PING_TIMEOUT_MS;
  // A separate client with a request timeout for the ping only: builds and stats streams
  // must not inherit a short timeout.
  const probe = new Docker({ ...connection, timeout: timeoutMs });
  try {
    await withTimeout(probe.ping(), timeoutMs);
  } catch {
    return undefined;
  }
  return createDockerSeam(new Docker(connection));
}

function createDockerSeam(docker: Docker): DockerSeam {
  const seam: DockerSeam = {
    async imageExists(ref) {
      return (await seam.inspectImage(ref)) !== undefined;
    },

    async inspectImage(ref) {
      try {
        return toImageDetails(await docker.getImage(ref).inspect());
      } catch (err) {
        if (statusOf(err) === 404) return undefined;
        throw err;
      }
    },

    async imageLayers(ref) {
      const details = await seam.inspectImage(ref);
      if (!details) throw new Error(`Docker image ${ref} does not exist`);
      return details.layers;
    },

    async imageHistory(ref) {
      const entries = (await docker.getImage(ref).history()) as Array<{ CreatedBy?: string; Size?: number }>;
      return entries.reverse().map((entry) => ({ createdBy: entry.CreatedBy ?? '', sizeBytes: entry.Size ?? 0 }));
    },

    async buildImage(request) {
      const stream = await docker.buildImage(request.context as NodeJS.ReadableStream, {
        t: request.tag,
        dockerfile: request.dockerfile ?? 'Dockerfile',
        buildargs: { ...request.buildArgs },
        labels: { ...request.labels },
        rm: true,
        forcerm: true,
        // `pull` stays unset: the base image may exist only locally (no registry reachable).
      });
      let failure: string | undefined;
      // Lines are handled as they arrive, so progress shows while the build runs.
      await followJsonStream(stream, (event) => {
        failure ??= errorTextOf(event);
        if (request.onProgress && typeof event.stream === 'string') {
          for (const line of event.stream.split('\n')) {
            if (line.trim() === '') continue;
            request.onProgress({ kind: /^Step \d+\/\d+ :/.test(line) ? 'step' : 'output', text: line });
          }
        }
      });
      if (failure) throw new Error(`docker build of ${request.tag} failed: ${failure.trim()}`);
      const built = await seam.inspectImage(request.tag);
      if (!built) throw new Error(`docker build of ${request.tag} reported success but the image does not exist`);
      return built;
    },

    async tagImage(source, target) {
      const { repo, tag } = splitReference(target);
      await docker.getImage(source).tag({ repo, tag });
    },

    async pushImage(ref, auth, onProgress) {
      const { repo, tag } = splitReference(ref);
      const stream = await docker.getImage(repo).push({ tag, ...(auth ? { authconfig: auth } : {}) });
      await followTransfer(stream, `docker push of ${ref}`, onProgress);
    },

    async pullImage(ref, auth, onProgress) {
      let stream: NodeJS.ReadableStream;
      try {
        stream = (await docker.pull(ref, auth ? { authconfig: auth } : {})) as NodeJS.ReadableStream;
      } catch (err) {
        // The engine refuses before streaming when the registry has no such manifest (HTTP 404).
        const said = (err as { json?: { message?: unknown } }).json?.message;
        throw new Error(`docker pull of ${ref} failed: ${typeof said === 'string' ? said.trim() : (err as Error).message}`, { cause: err });
      }
      await followTransfer(stream, `docker pull of ${ref}`, onProgress);
    },

    async removeImage(ref) {
      try {
        await docker.getImage(ref).remove({ force: true });
      } catch (err) {
        if (statusOf(err) !== 404) throw err;
      }
    },

    async removeImagesWithLabel(key, value) {
      const found = await docker.listImages({ filters: { label: [`${key}=${value}`] } });
      for (const info of found) {
        try {
          await docker.getImage(info.Id).remove({ force: true });
        } catch (err) {
          if (statusOf(err) !== 404 && statusOf(err) !== 409) throw err;
        }
      }
      return found.length;
    },

    async runContainer(request) {
      if (request.name) await seam.container(request.name).remove();
      const created = await docker.createContainer({
        Image: request.image,
        ...(request.name ? { name: request.name } : {}),
        ...(request.command ? { Cmd: [...request.command] } : {}),
        ...(request.user ? { User: request.user } : {}),
        Env: Object.entries(request.env ?? {}).map(([key, value]) => `${key}=${value}`),
        Labels: { ...request.labels },
        HostConfig: {
          NetworkMode: 'host',
          ReadonlyRootfs: request.readOnlyRootFs ?? false,
          ...(request.tmpfs ? { Tmpfs: { ...request.tmpfs } } : {}),
          ...(request.memoryBytes !== undefined
            ? { Memory: request.memoryBytes, MemorySwap: request.memoryBytes }
            : {}),
          ...(request.cpus !== undefined ? { NanoCpus: Math.round(request.cpus * 1e9) } : {}),
        },
      });
      await created.start();
      return containerHandle(docker.getContainer(created.id), request.name);
    },

    container(nameOrId) {
      return containerHandle(docker.getContainer(nameOrId), nameOrId);
    },

    async removeContainersWithLabel(key, value) {
      const found = await docker.listContainers({ all: true, filters: { label: [`${key}=${value}`] } });
      for (const info of found) await seam.container(info.Id).remove();
      return found.length;
    },
  };
  return seam;
}

function containerHandle(container: Docker.Container, name: string | undefined): ContainerHandle {
  return {
    id: container.id,
    name,

    async inspect() {
      const info = await container.inspect();
      return {
        running: info.State.Running,
        oomKilled: info.State.OOMKilled,
        exitCode: info.State.ExitCode,
        restartCount: info.RestartCount,
        status: info.State.Status,
      };
    },

    stats(signal) {
      return streamStats(container, signal);
    },

    async logs(tail = 100) {
      const raw: unknown = await container.logs({ stdout: true, stderr: true, tail, follow: false });
      return demultiplexLogs(Buffer.isBuffer(raw) ? raw : Buffer.from(String(raw)));
    },

    async stop(timeoutSec = 10) {
      try {
        await container.stop({ t: timeoutSec });
      } catch (err) {
        // 304: already stopped; 404: already gone.
        if (statusOf(err) !== 304 && statusOf(err) !== 404) throw err;
      }
    },

    async start() {
      try {
        await container.start();
      } catch (err) {
        // 304: already running.
        if (statusOf(err) !== 304) throw err;
      }
    },

    async remove() {
      try {
        await container.remove({ force: true, v: true });
      } catch (err) {
        // 404: gone; 409: removal already in progress.
        if (statusOf(err) !== 404 && statusOf(err) !== 409) throw err;
      }
    },
  };
}

/** The subset of Docker's stats JSON read here; cgroup v1 and v2 name the cache counter differently. */
interface RawStats {
  read?: string;
  memory_stats?: { usage?: number; stats?: Record<string, number | undefined> };
  cpu_stats?: RawCpu;
  precpu_stats?: RawCpu;
}
interface RawCpu {
  cpu_usage?: { total_usage?: number; percpu_usage?: number[] };
  system_cpu_usage?: number;
  online_cpus?: number;
}

/** Turns one stats JSON object into a sample; exported for unit tests. */
export function toStatsSample(raw: RawStats, nowMs: number = Date.now()): StatsSample | undefined {
  const usage = raw.memory_stats?.usage;
  if (typeof usage !== 'number') return undefined; // the container is not running
  const counters = raw.memory_stats?.stats ?? {};
  // cgroup v1: total_inactive_file; cgroup v2: inactive_file (what `docker stats` and the kubelet subtract).
  const inactiveFile = counters.total_inactive_file ?? counters.inactive_file ?? 0;
  const workingSetBytes = Math.max(0, usage - inactiveFile);
  const readMs = raw.read ? Date.parse(raw.read) : Number.NaN;
  return {
    atMs: Number.isFinite(readMs) && readMs > 0 ? readMs : nowMs,
    workingSetBytes,
    usageBytes: usage,
    cpuPercent: cpuPercentOf(raw),
  };
}

function cpuPercentOf(raw: RawStats): number {
  const now = raw.cpu_stats;
  const before = raw.precpu_stats;
  const cpuDelta = (now?.cpu_usage?.total_usage ?? 0) - (before?.cpu_usage?.total_usage ?? 0);
  const systemDelta = (now?.system_cpu_usage ?? 0) - (before?.system_cpu_usage ?? 0);
  if (cpuDelta <= 0 || systemDelta <= 0) return 0;
  const cpus = now?.online_cpus ?? now?.cpu_usage?.percpu_usage?.length ?? 1;
  return (cpuDelta / systemDelta) * cpus * 100;
}

async function* streamStats(container: Docker.Container, signal?: AbortSignal): AsyncIterable<StatsSample> {
  if (signal?.aborted) return;
  const stream = (await container.stats({ stream: true })) as NodeJS.ReadableStream & { destroy?: () => void };
  const stop = () => stream.destroy?.();
  signal?.addEventListener('abort', stop, { once: true });
  let buffered = '';
  try {
    for await (const chunk of stream as AsyncIterable<Buffer | string>) {
      buffered += chunk.toString();
      let newline: number;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, newline).trim();
        buffered = buffered.slice(newline + 1);
        if (line === '') continue;
        const sample = toStatsSample(JSON.parse(line) as RawStats);
        if (sample) yield sample;
      }
      if (signal?.aborted) return;
    }
  } catch (err) {
    // Destroying the stream on abort ends the iteration with an error; that is the normal end.
    if (!signal?.aborted) throw err;
  } finally {
    signal?.removeEventListener('abort', stop);
    stop();
  }
}

/**
 * Docker multiplexes stdout and stderr of a non-TTY container into frames with an 8-byte
 * header (https://docs.docker.com/reference/api/engine/version/v1.43/#tag/Container/operation/ContainerAttach).
 */
export function demultiplexLogs(raw: Buffer): string {
  const parts: Buffer[] = [];
  let offset = 0;
  while (offset + 8 <= raw.length) {
    const streamType = raw[offset];
    if (streamType !== 0 && streamType !== 1 && streamType !== 2) return raw.toString('utf8');
    const size = raw.readUInt32BE(offset + 4);
    parts.push(raw.subarray(offset + 8, offset + 8 + size));
    offset += 8 + size;
  }
  return offset === 0 && raw.length > 0 ? raw.toString('utf8') : Buffer.concat(parts).toString('utf8');
}

interface JsonEvent {
  stream?: unknown;
  status?: unknown;
  id?: unknown;
  progress?: unknown;
  error?: unknown;
  errorDetail?: { message?: unknown };
}

async function followJsonStream(stream: NodeJS.ReadableStream, onEvent: (event: JsonEvent) => void): Promise<void> {
  let buffered = '';
  stream.on('data', (chunk: Buffer | string) => {
    buffered += chunk.toString();
    let newline: number;
    while ((newline = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, newline).trim();
      buffered = buffered.slice(newline + 1);
      if (line !== '') onEvent(parseEvent(line));
    }
  });
  await new Promise<void>((resolve, reject) => {
    stream.once('end', resolve);
    stream.once('error', reject);
  });
  if (buffered.trim() !== '') onEvent(parseEvent(buffered.trim()));
}

/** Follows a push or pull stream to its end; rejects with the engine's error text, naming `what`. */
async function followTransfer(stream: NodeJS.ReadableStream, what: string, onProgress: ((text: string) => void) | undefined): Promise<void> {
  let failure: string | undefined;
  await followJsonStream(stream, (event) => {
    failure ??= errorTextOf(event);
    // Status changes only ("Pushed", "Pull complete", the digest); progress bars are noise in a job log.
    if (onProgress && typeof event.status === 'string' && event.progress === undefined) {
      onProgress([event.id, event.status].filter((part) => typeof part === 'string').join(' '));
    }
  });
  if (failure) throw new Error(`${what} failed: ${failure.trim()}`);
}

function parseEvent(line: string): JsonEvent {
  try {
    return JSON.parse(line) as JsonEvent;
  } catch {
    return { stream: `${line}\n` };
  }
}

function errorTextOf(event: JsonEvent): string | undefined {
  if (typeof event.errorDetail?.message === 'string') return event.errorDetail.message;
  if (typeof event.error === 'string') return event.error;
  return undefined;
}

function toImageDetails(info: Docker.ImageInspectInfo): ImageDetails {
  const rootFs = (info as { RootFS?: { Layers?: string[] } }).RootFS;
  return {
    id: info.Id,
    tags: info.RepoTags ?? [],
    sizeBytes: info.Size,
    layers: rootFs?.Layers ?? [],
    labels: info.Config?.Labels ?? {},
    user: info.Config?.User ?? '',
    env: info.Config?.Env ?? [],
    cmd: info.Config?.Cmd ?? [],
  };
}

/** `registry:5000/group/name:tag` → repo `registry:5000/group/name`, tag `tag` (default `latest`). */
export function splitReference(ref: string): { repo: string; tag: string } {
  const lastSlash = ref.lastIndexOf('/');
  const lastColon = ref.lastIndexOf(':');
  if (lastColon > lastSlash) return { repo: ref.slice(0, lastColon), tag: ref.slice(lastColon + 1) };
  return { repo: ref, tag: 'latest' };
}

function statusOf(err: unknown): number | undefined {
  const code = (err as { statusCode?: unknown } | null)?.statusCode;
  return typeof code === 'number' ? code : undefined;
}

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
