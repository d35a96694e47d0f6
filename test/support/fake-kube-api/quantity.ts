import type { Json } from './json.js';

const QUANTITY = /^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$/;

/** Kubernetes quantities: https://kubernetes.io/docs/reference/kubernetes-api/common-definitions/quantity/ */
export function parseQuantity(value: Json | undefined): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value !== 'string') return undefined;
  const match = QUANTITY.exec(value);
  if (!match) return undefined;
  const number = Number(match[1]);
  const suffix = match[2] ?? '';
  const factors: Record<string, number> = { '': 1, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50 };
  if (suffix in factors && !Number.isNaN(number)) return number * (factors[suffix] ?? 1);
  const exponent = /^[eE]([-+]?[0-9]+)$/.exec(suffix);
  if (exponent && !Number.isNaN(number)) return number * 10 ** Number(exponent[1]);
  return undefined;
}
