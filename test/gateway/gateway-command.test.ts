import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../cli/main.js';
import { readRouteTable } from '../../serving/gateway/route-table-file.js';

const REPO = resolve(import.meta.dirname, '../..');

describe('modelfleet gateway', () => {
  let dir: string;
  let errors: string[];
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'modelfleet-gw-cli-'));
    errors = [];
    vi.spyOn(console, 'error').mockImplementation((text: string) => void errors.push(text));
    vi.spyOn(console, 'log').mockImplementation(() => undefined);
  });
  afterEach(async () => {
    vi.restoreAllMocks();
    await rm(dir, { recursive: true, force: true });
  });

  it('writes the route table of the example fleet, one Service per variant, with input schemas', async () => {
    const out = join(dir, 'routes.json');
    const code = await main(['gateway', 'routes', '--fleet', join(REPO, 'models.yaml'), '--upstream', 'http://{deployName}.models.svc:8080', '--out', out]);
    expect(code).toBe(0);
    const table = await readRouteTable(out);
    expect(table.routes.length).toBeGreaterThanOrEqual(2);
    const ab = table.routes.find((r) => r.variants.filter((v) => !v.shadow).length > 1);
    expect(ab).toBeDefined();
    for (const v of ab?.variants ?? []) expect(v.upstream).toBe(`http://${v.deployName}.models.svc:8080`);
    expect(table.routes.every((r) => r.variants.every((v) => v.source.startsWith('path:') ? v.inputSchema !== undefined : true))).toBe(true);
  });

  it('refuses an upstream template without {deployName}', async () => {
    const code = await main(['gateway', 'routes', '--fleet', join(REPO, 'models.yaml'), '--upstream', 'http://one-server:8080', '--out', join(dir, 'r.json')]);
    expect(code).toBe(1);
    expect(errors.join('\n')).toMatch(/error\[GATEWAY_OPTION_INVALID\]: --upstream http:\/\/one-server:8080 has no \{deployName\}/);
  });

  it('says how to get a route table when none is given, and rejects a bad port', async () => {
    const saved = process.env.GATEWAY_ROUTES;
    delete process.env.GATEWAY_ROUTES;
    try {
      expect(await main(['gateway'])).toBe(1);
      expect(errors.join('\n')).toMatch(/error\[USAGE\]: no route table: pass --routes FILE or set GATEWAY_ROUTES/);
      expect(await main(['gateway', '--routes', join(dir, 'routes.json'), '--port', 'eighty'])).toBe(1);
      expect(errors.join('\n')).toMatch(/--port \/ PORT must be a whole number from 0 to 65535, got "eighty"/);
    } finally {
      if (saved !== undefined) process.env.GATEWAY_ROUTES = saved;
    }
  });
});
