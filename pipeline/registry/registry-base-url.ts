/**
 * The Docker engine talks plain HTTP only to registries on loopback addresses (its default
 * `insecure-registries` is 127.0.0.0/8) and HTTPS to every other one; so does this client.
 */
import { assertValidHost } from './parse-image-reference.js';

/** `http://127.0.0.1:5000` or `https://registry.gitlab.com`. */
export function registryBaseUrl(host: string): string {
  assertValidHost(host);
  return `${isLoopbackHost(host) ? 'http' : 'https'}://${host}`;
}

/** True for `127.x.y.z`, `localhost` and `[::1]`, with or without a port. */
export function isLoopbackHost(host: string): boolean {
  const name = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.replace(/:\d+$/, '');
  if (name === 'localhost' || name === '[::1]') return true;
  const octets = name.split('.');
  return octets.length === 4 && octets[0] === '127' && octets.every((octet) => /^\d{1,3}$/.test(octet) && Number(octet) <= 255);
}
