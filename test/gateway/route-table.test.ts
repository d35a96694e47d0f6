import { mkdtemp, readFile, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UserError } from '../../lib/errors/user-error.js';
import { buildRouteTable, describeSource } from '../../serving/gateway/route-table.js';
import { formatRouteTable, parseRouteTable, readRouteTable, writeRouteTable } from '../../serving/gateway/route-table-file.js';
import { createGateway } from '../../serving/gateway/create-gateway.js';
import { fleet, model, variant } from './fleet-fixture.js';

const abFleet = fleet([
  model('match-taxi', '/probability/2/TAXI/trafficaware', [
    variant('match-taxi-a', 90, { id: 'a' }),
    variant('match-taxi-shadow', 0, { id: 'candidate', shadow: true }),
    variant('match-taxi-b', 10, { id: 'b' }),
  ], 'X-Rider-Id'),
  model('match-bike', '/probability/1/BIKE/basic', [variant('match-bike', 100, { id: 'main' })]),
]);

const upstreamFor = (name: string): string => `http://${name}.models.svc:8080/`;

describe('buildRouteTable', () => {
  it('gives every model its route with each variant pointing at the upstream the caller chose', () => {
    const table = buildRouteTable(abFleet, upstreamFor);
    expect(table.routes.map((r) => r.route)).toEqual(['/probability/1/BIKE/basic', '/probability/2/TAXI/trafficaware']);
    const taxi = table.routes.find((r) => r.model === 'match-taxi');
    expect(taxi?.variants.map((v) => [v.id, v.deployName, v.upstream, v.weight, v.shadow])).toEqual([
      ['a', 'match-taxi-a', 'http://match-taxi-a.models.svc:8080', 90, false],
      ['b', 'match-taxi-b', 'http://match-taxi-b.models.svc:8080', 10, false],
      ['candidate', 'match-taxi-shadow', 'http://match-taxi-shadow.models.svc:8080', 0, true],
    ]);
    expect(taxi?.stickyHeader).toBe('x-rider-id');
    expect(taxi?.variants[0]?.predictPath).toBe('/invocations');
    expect(taxi?.variants[0]?.source).toBe('path:models/match-taxi-a');
  });

  it('uses the predict path a bring-your-own image declares', () => {
    const own = fleet([model('own', '/score/own', [{
      id: 'main', deployName: 'own', weight: 100, shadow: false,
      source: { kind: 'image', image: 'registry.example/own:1', port: 9000, predictPath: '/predict', readyPath: '/ready', schema: 'own.json' },
    }])]);
    const [route] = buildRouteTable(own, upstreamFor).routes;
    expect(route?.variants[0]?.predictPath).toBe('/predict');
    expect(route?.variants[0]?.source).toBe('image:registry.example/own:1');
  });

  it('attaches the input schema and example it is given, and only to the variants that have one', () => {
    const schema = { type: 'object', title: 'inputs of a' };
    const table = buildRouteTable(abFleet, upstreamFor, {
      inputsFor: (name) => (name === 'match-taxi-a' ? { schema, example: { dataframe_split: { columns: ['x'], data: [[1]] } } } : undefined),
    });
    const taxi = table.routes.find((r) => r.model === 'match-taxi');
    expect(taxi?.variants[0]?.inputSchema).toEqual(schema);
    expect(taxi?.variants[0]?.inputExample).toEqual({ dataframe_split: { columns: ['x'], data: [[1]] } });
    expect(taxi?.variants[1]).not.toHaveProperty('inputSchema');
  });

  it('labels registry sources by version or alias', () => {
    expect(describeSource({ kind: 'mlflow', name: 'match', version: '3' })).toBe('mlflow:match/3');
    expect(describeSource({ kind: 'mlflow', name: 'match', alias: 'champion' })).toBe('mlflow:match@champion');
  });
});

describe('routes.json', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'modelfleet-routes-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads back exactly the table it wrote, byte-identical on a second write', async () => {
    const table = buildRouteTable(abFleet, upstreamFor);
    const file = join(dir, 'routes.json');
    await writeRouteTable(file, table);
    const first = await readFile(file, 'utf8');
    expect(await readRouteTable(file)).toEqual(table);
    await writeRouteTable(file, await readRouteTable(file));
    expect(await readFile(file, 'utf8')).toBe(first);
  });

  it('rejects serving weights that do not add up to 100, naming the route', () => {
    const table = JSON.parse(formatRouteTable(buildRouteTable(abFleet, upstreamFor)));
    table.routes[1].variants[0].weight = 80;
    expect(() => parseRouteTable(JSON.stringify(table), 'routes.json')).toThrow(/\/probability\/2\/TAXI\/trafficaware\): serving weights must add up to 100 \(they add up to 90\)/);
  });

  it('rejects duplicate routes, routes on gateway endpoints and upstreams that are not URLs, all in one error', () => {
    const table = JSON.parse(formatRouteTable(buildRouteTable(abFleet, upstreamFor)));
    table.routes[0].route = table.routes[1].route;
    let error: unknown;
    try {
      parseRouteTable(JSON.stringify(table), 'routes.json');
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(UserError);
    expect((error as UserError).code).toBe('GATEWAY_ROUTES_INVALID');
    expect((error as UserError).message).toMatch(/appears twice/);

    table.routes[0].route = '/metrics';
    table.routes[1].variants[0].upstream = 'match-taxi-a:8080';
    expect(() => parseRouteTable(JSON.stringify(table), 'routes.json')).toThrow(/routes\.1\.variants\.0\.upstream: must be an http/);
    table.routes[1].variants[0].upstream = 'http://127.0.0.1:1';
    expect(() => parseRouteTable(JSON.stringify(table), 'routes.json')).toThrow(/\/metrics is a gateway endpoint/);
  });

  it('names the file when it is not JSON or does not exist', async () => {
    const file = join(dir, 'routes.json');
    await writeFile(file, '{"format": 1, "routes": [');
    await expect(readRouteTable(file)).rejects.toThrow(`${file}: not valid JSON`);
    await expect(readRouteTable(join(dir, 'missing.json'))).rejects.toMatchObject({ code: 'FILE_NOT_FOUND' });
  });

  it('refuses to start a gateway on a table built in code that breaks a rule', async () => {
    const table = buildRouteTable(fleet([model('m', '/score/m', [variant('m-a', 60), variant('m-b', 30)])]), upstreamFor);
    await expect(createGateway({ table })).rejects.toMatchObject({ code: 'GATEWAY_ROUTES_INVALID', message: expect.stringMatching(/they add up to 90/) });
  });
});
