import type { RouteTable } from './route-table.js';

/**
 * A plain HTML page listing every route, its variants and a curl that works. Self-contained
 * (no CDN, no script): the gateway may run where nothing outside the cluster is reachable.
 * The full machine-readable description is /openapi.json.
 */
export function renderDocsPage(table: RouteTable, baseUrl: string): string {
  const sections = table.routes.map((entry) => {
    const rows = entry.variants.map((v) => `<tr><td>${esc(v.id)}</td><td>${v.shadow ? 'shadow' : `${v.weight}%`}</td><td>${esc(v.deployName)}</td><td>${esc(v.source)}</td><td>${esc(v.upstream)}</td></tr>`).join('');
    const example = entry.variants.find((v) => !v.shadow && v.inputExample !== undefined)?.inputExample;
    const body = example === undefined ? '{"dataframe_split": {"columns": [...], "data": [[...]]}}' : JSON.stringify(example);
    const curl = `curl -s -X POST ${baseUrl}${entry.route} -H 'content-type: application/json' -H '${entry.stickyHeader}: caller-1' -d '${body.replace(/'/g, `'\\''`)}'`;
    const fields = describeInputs(entry.variants.find((v) => !v.shadow && v.inputSchema !== undefined)?.inputSchema);
    return `<section><h2><code>POST ${esc(entry.route)}</code></h2>
<p>Model <b>${esc(entry.model)}</b>. Sticky header: <code>${esc(entry.stickyHeader)}</code>.</p>
<table><thead><tr><th>variant</th><th>traffic</th><th>deployName</th><th>source</th><th>upstream</th></tr></thead><tbody>${rows}</tbody></table>
${fields}<pre>${esc(curl)}</pre></section>`;
  });
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>modelfleet gateway</title>
<style>body{font-family:system-ui,sans-serif;margin:2rem;max-width:70rem}table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #ccc;padding:.2rem .5rem;text-align:left}pre{background:#f4f4f4;padding:.5rem;overflow-x:auto;white-space:pre-wrap}</style>
</head><body>
<h1>modelfleet gateway</h1>
<p>${table.routes.length} route${table.routes.length === 1 ? '' : 's'}. Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI 3). Also: <a href="/routes">/routes</a>, <a href="/metrics">/metrics</a>.</p>
<p>Every response names who answered in <code>x-modelfleet-model</code>, <code>x-modelfleet-variant</code> and <code>x-modelfleet-deploy-name</code>. A model that is down answers 503 with a JSON reason.</p>
${sections.join('\n')}
</body></html>
`;
}

function describeInputs(schema: unknown): string {
  const records = (schema as { oneOf?: { properties?: { dataframe_records?: { items?: { properties?: Record<string, { type?: string; format?: string }> } } } }[] } | undefined)
    ?.oneOf?.find((s) => s.properties?.dataframe_records)?.properties?.dataframe_records?.items?.properties;
  if (!records) return '';
  const cols = Object.entries(records).map(([name, s]) => `<code>${esc(name)}</code> (${esc(s.format ?? s.type ?? 'any')})`).join(', ');
  return `<p>Inputs: ${cols}.</p>`;
}

function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
