import type { JsonObject } from './json.js';
import { parseQuantity } from './quantity.js';
import type { ResourceType } from './resource-types.js';

/** One reason an object is invalid, as a 422 Status lists it in `details.causes`. */
export interface Cause {
  readonly field: string;
  readonly reason: 'FieldValueRequired' | 'FieldValueInvalid' | 'FieldValueNotSupported' | 'FieldValueForbidden';
  readonly message: string;
}

// Names: https://kubernetes.io/docs/concepts/overview/working-with-objects/names/
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/**
 * What kube-apiserver's validation refuses of the objects a deploy applies: names and label
 * values (https://kubernetes.io/docs/concepts/overview/working-with-objects/names/), quantities
 * (quantity.ts), requests ≤ limits, ports, a Deployment's selector matching its template and
 * being immutable (https://kubernetes.io/docs/concepts/workloads/controllers/deployment/#selector).
 */
export function validate(type: ResourceType, object: JsonObject, existing: JsonObject | undefined): Cause[] {
  const causes: Cause[] = [];
  const meta = object.metadata as JsonObject;
  const name = String(meta.name ?? '');
  const nameRule = type.kind === 'Service' || type.kind === 'Namespace' ? DNS_LABEL : DNS_SUBDOMAIN;
  if (!nameRule.test(name) || name.length > (nameRule === DNS_LABEL ? 63 : 253)) {
    causes.push({ field: 'metadata.name', reason: 'FieldValueInvalid', message: `Invalid value: "${name}": a lowercase RFC 1123 ${nameRule === DNS_LABEL ? 'label' : 'subdomain'} must consist of lower case alphanumeric characters or '-'` });
  }
  for (const [key, value] of Object.entries((meta.labels as JsonObject | undefined) ?? {})) {
    if (typeof value !== 'string' || value.length > 63 || !LABEL_VALUE.test(value)) {
      causes.push({ field: `metadata.labels`, reason: 'FieldValueInvalid', message: `Invalid value: "${String(value)}": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (label ${key})` });
    }
  }
  const annotationBytes = JSON.stringify(meta.annotations ?? {}).length;
  if (annotationBytes > 256 * 1024) causes.push({ field: 'metadata.annotations', reason: 'FieldValueInvalid', message: 'Too long: must have at most 262144 bytes' });

  if (type.kind === 'Deployment') {
    const spec = (object.spec as JsonObject | undefined) ?? {};
    const selector = spec.selector as JsonObject | undefined;
    const template = spec.template as JsonObject | undefined;
    if (!selector || Object.keys((selector.matchLabels as JsonObject | undefined) ?? {}).length === 0) {
      causes.push({ field: 'spec.selector', reason: 'FieldValueRequired', message: 'Required value' });
    } else {
      const labels = ((template?.metadata as JsonObject | undefined)?.labels as JsonObject | undefined) ?? {};
      const matches = Object.entries(selector.matchLabels as JsonObject).every(([k, v]) => labels[k] === v);
      if (!matches) causes.push({ field: 'spec.template.metadata.labels', reason: 'FieldValueInvalid', message: `Invalid value: ${JSON.stringify(labels)}: \`selector\` does not match template \`labels\`` });
      if (existing && JSON.stringify((existing.spec as JsonObject).selector) !== JSON.stringify(selector)) {
        causes.push({ field: 'spec.selector', reason: 'FieldValueInvalid', message: `Invalid value: ${JSON.stringify(selector)}: field is immutable` });
      }
    }
    if (Number(spec.replicas ?? 1) < 0) causes.push({ field: 'spec.replicas', reason: 'FieldValueInvalid', message: `Invalid value: ${String(spec.replicas)}: must be greater than or equal to 0` });
    const rolling = (spec.strategy as JsonObject | undefined)?.rollingUpdate as JsonObject | undefined;
    if (rolling && String(rolling.maxSurge) === '0' && String(rolling.maxUnavailable) === '0') {
      causes.push({ field: 'spec.strategy.rollingUpdate.maxUnavailable', reason: 'FieldValueInvalid', message: 'Invalid value: 0: may not be 0 when `maxSurge` is 0' });
    }
    causes.push(...validatePodSpec((template?.spec as JsonObject | undefined) ?? {}, 'spec.template.spec'));
  }
  if (type.kind === 'Service') {
    const spec = (object.spec as JsonObject | undefined) ?? {};
    const ports = (spec.ports as JsonObject[] | undefined) ?? [];
    if (ports.length === 0 && spec.clusterIP !== 'None') causes.push({ field: 'spec.ports', reason: 'FieldValueRequired', message: 'Required value' });
    ports.forEach((port, i) => {
      const value = Number(port.port);
      if (!Number.isInteger(value) || value < 1 || value > 65535) causes.push({ field: `spec.ports[${i}].port`, reason: 'FieldValueInvalid', message: `Invalid value: ${String(port.port)}: must be between 1 and 65535, inclusive` });
    });
  }
  if (type.kind === 'HorizontalPodAutoscaler') {
    const spec = (object.spec as JsonObject | undefined) ?? {};
    if (!spec.scaleTargetRef) causes.push({ field: 'spec.scaleTargetRef', reason: 'FieldValueRequired', message: 'Required value' });
    if (Number(spec.maxReplicas ?? 0) < 1) causes.push({ field: 'spec.maxReplicas', reason: 'FieldValueInvalid', message: `Invalid value: ${String(spec.maxReplicas)}: must be greater than or equal to 1` });
    if (spec.minReplicas !== undefined && Number(spec.minReplicas) > Number(spec.maxReplicas)) {
      causes.push({ field: 'spec.minReplicas', reason: 'FieldValueInvalid', message: `Invalid value: ${String(spec.minReplicas)}: must be less than or equal to maxReplicas` });
    }
  }
  return causes;
}

function validatePodSpec(spec: JsonObject, path: string): Cause[] {
  const causes: Cause[] = [];
  const containers = (spec.containers as JsonObject[] | undefined) ?? [];
  if (containers.length === 0) causes.push({ field: `${path}.containers`, reason: 'FieldValueRequired', message: 'Required value' });
  containers.forEach((container, i) => {
    const at = `${path}.containers[${i}]`;
    if (!container.name) causes.push({ field: `${at}.name`, reason: 'FieldValueRequired', message: 'Required value' });
    else if (!DNS_LABEL.test(String(container.name))) causes.push({ field: `${at}.name`, reason: 'FieldValueInvalid', message: `Invalid value: "${String(container.name)}": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-'` });
    if (!container.image) causes.push({ field: `${at}.image`, reason: 'FieldValueRequired', message: 'Required value' });
    ((container.ports as JsonObject[] | undefined) ?? []).forEach((port, j) => {
      const value = Number(port.containerPort);
      if (!Number.isInteger(value) || value < 1 || value > 65535) causes.push({ field: `${at}.ports[${j}].containerPort`, reason: 'FieldValueInvalid', message: `Invalid value: ${String(port.containerPort)}: must be between 1 and 65535, inclusive` });
    });
    const resources = (container.resources as JsonObject | undefined) ?? {};
    const limits = (resources.limits as JsonObject | undefined) ?? {};
    const requests = (resources.requests as JsonObject | undefined) ?? {};
    for (const [kind, group] of [['limits', limits], ['requests', requests]] as const) {
      for (const [resource, value] of Object.entries(group)) {
        if (parseQuantity(value) === undefined) causes.push({ field: `${at}.resources.${kind}[${resource}]`, reason: 'FieldValueInvalid', message: `Invalid value: "${String(value)}": must match the regex ^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$` });
      }
    }
    for (const [resource, request] of Object.entries(requests)) {
      const limit = limits[resource];
      const r = parseQuantity(request);
      const l = limit === undefined ? undefined : parseQuantity(limit);
      if (r !== undefined && l !== undefined && r > l) causes.push({ field: `${at}.resources.requests`, reason: 'FieldValueInvalid', message: `Invalid value: "${String(request)}": must be less than or equal to ${resource} limit of ${String(limit)}` });
    }
  });
  return causes;
}
