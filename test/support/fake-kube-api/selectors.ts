export type LabelRequirement = (labels: Record<string, string>) => boolean;

/** Label selectors: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors */
export function parseLabelSelector(selector: string): LabelRequirement[] | Error {
  const parts = selector.match(/[^,(]+(\([^)]*\))?/g) ?? [];
  const out: LabelRequirement[] = [];
  for (const raw of parts) {
    const part = raw.trim();
    if (part === '') continue;
    let match: RegExpExecArray | null;
    if ((match = /^([^\s!=]+)\s*(==|=|!=)\s*([^\s]*)$/.exec(part))) {
      const [, key = '', op, value = ''] = match;
      out.push(op === '!=' ? (l) => l[key] !== value : (l) => l[key] === value);
    } else if ((match = /^([^\s]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(part))) {
      const [, key = '', op, list = ''] = match;
      const values = list.split(',').map((v) => v.trim());
      out.push(op === 'in' ? (l) => l[key] !== undefined && values.includes(l[key]) : (l) => l[key] === undefined || !values.includes(l[key]));
    } else if ((match = /^!([^\s]+)$/.exec(part))) {
      const key = match[1] ?? '';
      out.push((l) => l[key] === undefined);
    } else if (/^[^\s!=(),]+$/.test(part)) {
      out.push((l) => l[part] !== undefined);
    } else {
      return new Error(`unable to parse requirement: ${part}`);
    }
  }
  return out;
}

/** Field selectors: https://kubernetes.io/docs/concepts/overview/working-with-objects/field-selectors/ */
export function parseFieldSelector(selector: string): Array<{ path: string; value: string; negate: boolean }> | Error {
  const out: Array<{ path: string; value: string; negate: boolean }> = [];
  for (const part of selector.split(',')) {
    const match = /^([^=!]+)(==|=|!=)(.*)$/.exec(part.trim());
    if (!match) return new Error(`invalid selector: '${selector}'; can't understand '${part}'`);
    out.push({ path: match[1] ?? '', value: match[3] ?? '', negate: match[2] === '!=' });
  }
  return out;
}
