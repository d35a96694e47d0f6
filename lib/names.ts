import { createHash } from 'node:crypto';

/** Kubernetes object names and labels: https://kubernetes.io/docs/concepts/overview/working-with-objects/names/#dns-label-names */
export const DNS_LABEL_MAX = 63;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/**
 * Label values: at most 63 characters, empty or starting and ending with [A-Za-z0-9], with
 * `-`, `_`, `.` and alphanumerics between
 * (https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#syntax-and-character-set).
 */
export const LABEL_VALUE_MAX = 63;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

export function isDnsLabel(value: string): boolean {
  return value.length <= DNS_LABEL_MAX && DNS_LABEL.test(value);
}

export function isLabelValue(value: string): boolean {
  return value.length <= LABEL_VALUE_MAX && LABEL_VALUE.test(value);
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

/**
 * Turns any text (an environment name, an image tag, a model name) into a label value. Runs of
 * characters a label may not hold become `-`, and the ends are trimmed to alphanumerics, since
 * a trailing `-` (from `review/` say) is what the API server refuses. Like `toDnsLabel` it keeps
 * the meaningful end and a short hash of the whole when it must cut. Text with no usable
 * character gives the empty string, which is a valid label value.
 */
export function toLabelValue(text: string): string {
  const cleaned = trimToAlphanumeric(text.replace(/[^A-Za-z0-9._-]+/g, '-'));
  if (cleaned.length <= LABEL_VALUE_MAX) return cleaned;
  const hash = shortHash(text);
  const tail = trimToAlphanumeric(cleaned.slice(cleaned.length - (LABEL_VALUE_MAX - hash.length - 1)));
  return `${hash}-${tail}`;
}

function trimToAlphanumeric(value: string): string {
  return value.replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '');
}
