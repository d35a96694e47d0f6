import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadFleet } from '../../generator/fleet/load-fleet.js';
import { isUserError } from '../../lib/errors/user-error.js';
import { gatewayPortSetting } from '../../pipeline/local-target/gateway-port.js';
import { NOT_DEPLOYED_UPSTREAM, writeLocalRoutes } from '../../pipeline/local-target/local-gateway.js';
import { EMPTY_STATE } from '../../pipeline/local-target/local-state.js';

const repo = resolve(import.meta.dirname, '../..');

describe('the local gateway\'s route table', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'modelfleet-local-routes-'));
    await cp(join(repo, 'examples/models/match-logreg-v1'), join(dir, 'models/good'), { recursive: true });
    // Copied, then its MLmodel broken: the folder exists, its signature cannot be read.
    await cp(join(repo, 'examples/models/match-logreg-v1'), join(dir, 'models/broken'), { recursive: true });
    await writeFile(join(dir, 'models/broken/MLmodel'), 'flavors: [onnx\n');
    await writeFile(join(dir, 'models.yaml'), [
      'defaults: { endpoint: probability }',
      'models:',
      '  - { name: good, parameters: [1, CAR, good], path: models/good }',
      '  - { name: broken, parameters: [1, CAR, broken], path: models/broken }',
      '',
    ].join('\n'));
    await mkdir(join(dir, 'local'));
  });

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('keeps the route of a model whose input schema cannot be read, and says why its schema is missing', async () => {
    const warnings: string[] = [];
    const file = join(dir, 'local', 'routes.json');
    const routes = await writeLocalRoutes(loadFleet(join(dir, 'models.yaml')), EMPTY_STATE, file, (line) => warnings.push(line));

    expect(routes).toBe(2);
    const table = JSON.parse(await readFile(file, 'utf8')) as { routes: Array<{ route: string; variants: Array<{ upstream: string; inputSchema?: unknown }> }> };
    const byRoute = new Map(table.routes.map((r) => [r.route, r.variants[0]]));
    expect(byRoute.get('/probability/1/CAR/broken')?.upstream).toBe(NOT_DEPLOYED_UPSTREAM);
    expect(byRoute.get('/probability/1/CAR/broken')?.inputSchema).toBeUndefined();
    expect(byRoute.get('/probability/1/CAR/good')?.inputSchema).toBeDefined();
    expect(warnings).toEqual([expect.stringMatching(/^warning: broken: the gateway's OpenAPI document has no input schema for it: .*MLmodel: not valid YAML/)]);
  });
});

describe('MODELFLEET_GATEWAY_PORT', () => {
  it('asks for 8000 when unset or empty, and for any free port when 0', () => {
    expect(gatewayPortSetting({})).toBe(8000);
    expect(gatewayPortSetting({ MODELFLEET_GATEWAY_PORT: '' })).toBe(8000);
    expect(gatewayPortSetting({ MODELFLEET_GATEWAY_PORT: '0' })).toBe(0);
    expect(gatewayPortSetting({ MODELFLEET_GATEWAY_PORT: '8080' })).toBe(8080);
  });

  it.each(['80OO', '-1', '65536', '8000.5', '0x1f90', 'eighty'])('refuses %j instead of picking any port', (value) => {
    let error: unknown;
    try {
      gatewayPortSetting({ MODELFLEET_GATEWAY_PORT: value });
    } catch (err) {
      error = err;
    }
    expect(isUserError(error) && error.code).toBe('GATEWAY_OPTION_INVALID');
    expect((error as Error).message).toBe(`MODELFLEET_GATEWAY_PORT must be a port number from 0 to 65535 (0 picks any free port), got "${value}"`);
  });
});
