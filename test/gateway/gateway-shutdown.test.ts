import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createGateway } from '../../serving/gateway/create-gateway.js';
import { buildRouteTable } from '../../serving/gateway/route-table.js';
import { startFakeUpstream } from './fake-upstream.js';
import { fleet, model, variant } from './fleet-fixture.js';

describe('gateway shutdown', () => {
  it('finishes a request in flight when asked to stop, then stops accepting', async () => {
    const slow = await startFakeUpstream('slow', 400);
    try {
      const table = buildRouteTable(fleet([model('slow', '/score/slow', [variant('slow', 100)])]), () => slow.url);
      const gateway = await createGateway({ table, logger: pino({ level: 'silent' }) });
      const url = await gateway.listen(0);
      const inFlight = fetch(`${url}/score/slow`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
      await new Promise((r) => setTimeout(r, 100));
      const closing = gateway.close();
      const res = await inFlight;
      expect(res.status).toBe(200);
      expect(((await res.json()) as { served_by: string }).served_by).toBe('slow');
      await closing;
      await expect(fetch(`${url}/healthz`)).rejects.toThrow();
    } finally {
      await slow.kill();
    }
  });

  it('waits on stop for a request that started on a table replaced since', async () => {
    const slow = await startFakeUpstream('slow', 400);
    const other = await startFakeUpstream('other');
    try {
      const tableFor = (up: typeof slow) => buildRouteTable(fleet([model('m', '/score/m', [variant('m', 100)])]), () => up.url);
      const gateway = await createGateway({ table: tableFor(slow), logger: pino({ level: 'silent' }) });
      const url = await gateway.listen(0);
      const inFlight = fetch(`${url}/score/m`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
      await new Promise((r) => setTimeout(r, 100));
      gateway.replaceTable(tableFor(other));
      await gateway.close();
      const res = await inFlight;
      expect(res.status).toBe(200);
      expect(((await res.json()) as { served_by: string }).served_by).toBe('slow');
    } finally {
      await Promise.all([slow.kill(), other.kill()]);
    }
  });
});
