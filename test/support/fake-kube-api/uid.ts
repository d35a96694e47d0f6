import { randomBytes } from 'node:crypto';

/** A random UUID-shaped `metadata.uid`. */
export function uid(): string {
  const hex = randomBytes(16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
