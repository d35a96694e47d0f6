import { createHash } from 'node:crypto';

/** Kubernetes object names and labels: https://kubernetes.io/docs/concepts/overview/working-with-objects/names/#dns-label-names */
export const DNS_LABEL_MAX = 63;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export function isDnsLabel(value: string): boolean {
  return value.length <= DNS_LABEL_MAX && DNS_LABEL.test(value);
}

export function shortHash(value: string, length = 8): string {
  return createHash('sha256').update(value).digest('hex').slice(0, length);
}

/**
 * Turns any text into a DNS-1123 label. When it must cut, it keeps the meaningful end
 * (the model-specific suffix) and adds a short hash of the whole, so two long names never
 * collide after cutting.
 */
export function toDnsLabel(value: string, max = DNS_LABEL_MAX): string {
  const cleaned = value
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/^-+|-+$/g, '');
  const base = cleaned === '' ? 'x' : cleaned;
  if (base.length <= max) return base;
  const hash = shortHash(value);
  const tail = base.slice(base.length - (max - hash.length - 1)).replace(/^-+/, '');
  return `${hash}-${tail}`;
}
