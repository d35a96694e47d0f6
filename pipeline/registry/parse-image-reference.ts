/**
 * Image references the way the Docker engine reads them
 * (https://github.com/distribution/reference/blob/main/reference.go): the first component is a
 * registry host only when it looks like one, otherwise the image lives on Docker Hub.
 */
export interface ImageReference {
  /** `host[:port]`, e.g. `127.0.0.1:5000` or `registry.gitlab.com`; `docker.io` for Hub images. */
  readonly host: string;
  /** Repository path inside the registry, e.g. `modelfleet/match-7` or `library/ubuntu`. */
  readonly repository: string;
  /** `latest` when the reference names none. */
  readonly tag: string;
}

export const DOCKER_HUB_HOST = 'docker.io';

/**
 * distribution's grammar: lower-case components joined by `/`, each of alphanumerics separated
 * by `.`, `_`, `__` or dashes. It also keeps `..` and other path tricks out of request URLs.
 */
const REPOSITORY = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;
const TAG = /^\w[\w.-]{0,127}$/;
const HOST = /^(?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)(?::\d{1,5})?$/;
/** distribution refuses longer names (`NAME_INVALID`). */
const MAX_REPOSITORY_LENGTH = 255;

/**
 * `127.0.0.1:5000/modelfleet/match-7:0123abcd` → `{ host: '127.0.0.1:5000', repository:
 * 'modelfleet/match-7', tag: '0123abcd' }`. Throws on references the engine would refuse,
 * including digest references (`name@sha256:…`): records and images here always go by tag.
 */
export function parseImageReference(ref: string): ImageReference {
  if (ref.includes('@')) throw new Error(`image reference ${JSON.stringify(ref)} names a digest; a tag is needed here`);
  const slash = ref.indexOf('/');
  const first = slash < 0 ? '' : ref.slice(0, slash);
  const hasHost = first !== '' && (first.includes('.') || first.includes(':') || first === 'localhost');
  const host = hasHost ? first : DOCKER_HUB_HOST;
  const remainder = hasHost ? ref.slice(slash + 1) : ref;

  const lastColon = remainder.lastIndexOf(':');
  const named = lastColon > remainder.lastIndexOf('/') ? remainder.slice(0, lastColon) : remainder;
  const tag = lastColon > remainder.lastIndexOf('/') ? remainder.slice(lastColon + 1) : 'latest';
  // Hub's official images live under `library/` (`ubuntu` is `docker.io/library/ubuntu`).
  const repository = host === DOCKER_HUB_HOST && !named.includes('/') ? `library/${named}` : named;

  if (hasHost) assertValidHost(host, ref);
  assertValidRepository(repository, ref);
  assertValidTag(tag, ref);
  return { host, repository, tag };
}

export function assertValidHost(host: string, context: string = host): void {
  if (!HOST.test(host)) throw new Error(`${JSON.stringify(context)}: ${JSON.stringify(host)} is not a registry host (host[:port])`);
}

export function assertValidRepository(repository: string, context: string = repository): void {
  if (repository.length > MAX_REPOSITORY_LENGTH || !REPOSITORY.test(repository)) {
    throw new Error(
      `${JSON.stringify(context)}: ${JSON.stringify(repository)} is not a valid repository name ` +
        '(lower-case letters, digits and single . _ - separators, components joined by /, at most 255 characters)',
    );
  }
}

export function assertValidTag(tag: string, context: string = tag): void {
  if (!TAG.test(tag)) {
    throw new Error(
      `${JSON.stringify(context)}: ${JSON.stringify(tag)} is not a valid tag (letters, digits, _ . -, not starting with . or -, at most 128 characters)`,
    );
  }
}
