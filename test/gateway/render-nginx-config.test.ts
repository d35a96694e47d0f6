import { describe, expect, it } from 'vitest';
import { renderNginxConfig } from '../../serving/gateway/render-nginx-config.js';
import { buildRouteTable } from '../../serving/gateway/route-table.js';
import { fleet, model, variant } from './fleet-fixture.js';

const abFleet = (stickyHeader = 'x-user-id') => fleet([
  model('match-taxi', '/probability/2/TAXI/trafficaware', [variant('taxi-a', 80, { id: 'a' }), variant('taxi-b', 20, { id: 'b' }), variant('taxi-shadow', 0, { id: 'candidate', shadow: true })], stickyHeader),
  model('match-bike', '/probability/1/BIKE/basic', [variant('bike', 100, { id: 'main' })]),
]);

describe('modelfleet gateway nginx-config', () => {
  it('splits on "<model>:<sticky key>" with the weights, the last variant as *, and mirrors to the shadow', () => {
    const text = renderNginxConfig(buildRouteTable(abFleet(), (name) => `http://${name}:80`), { listen: '8000' });
    expect(text).toContain('split_clients "match-taxi:$modelfleet_key_x_user_id" $modelfleet_split_1 {\n        80% "taxi-a";\n        * "taxi-b";\n    }');
    expect(text).toContain('map $http_x_user_id $modelfleet_key_x_user_id {\n        "" $request_id;');
    expect(text).toContain('mirror /_modelfleet/mirror/taxi-shadow;');
    expect(text).toMatch(/upstream taxi-a \{\n {8}server taxi-a:80;\n {8}keepalive 64;/);
    expect(text).toContain('set $modelfleet_deploy_name "bike";');
    expect(text).not.toMatch(/split_clients "match-bike/);
  });

  it('writes the same bytes for the same table', () => {
    const table = buildRouteTable(abFleet(), (name) => `http://${name}:80`);
    expect(renderNginxConfig(table, { listen: '127.0.0.1:8000', workerProcesses: 2 })).toBe(renderNginxConfig(structuredClone(table), { listen: '127.0.0.1:8000', workerProcesses: 2 }));
  });

  it('refuses what nginx cannot express, naming the entry', () => {
    const https = buildRouteTable(abFleet(), (name) => `https://${name}:443`);
    expect(() => renderNginxConfig(https, { listen: '8000' })).toThrow(expect.objectContaining({ code: 'GATEWAY_NGINX_UNSUPPORTED', message: expect.stringMatching(/routes\.0 \(\/probability\/1\/BIKE\/basic\)\.variants\.0\.upstream https:\/\/bike:443/) }));
    const underscored = buildRouteTable(abFleet('x_user_id'), (name) => `http://${name}:80`);
    expect(() => renderNginxConfig(underscored, { listen: '8000' })).toThrow(expect.objectContaining({ code: 'GATEWAY_NGINX_UNSUPPORTED', message: expect.stringMatching(/stickyHeader x_user_id/) }));
    expect(() => renderNginxConfig(buildRouteTable(abFleet(), (n) => `http://${n}:80`), { listen: '8000; evil' })).toThrow(expect.objectContaining({ code: 'GATEWAY_NGINX_UNSUPPORTED' }));
  });
});
