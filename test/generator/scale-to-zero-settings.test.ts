import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SCALE_TO_ZERO_DEFAULTS } from '../../generator/fleet/resolve-scale-to-zero.js';
import { buildRouteTable } from '../../serving/gateway/route-table.js';
import { fleetErrorOf, fleetFromText } from './support/generator-fixtures.js';

const fleet = (defaults: string, ...models: string[]): string => `defaults:\n  endpoint: probability\n${defaults}models:\n${models.join('')}`;
const model = (name: string, extra = ''): string => `  - name: ${name}\n    parameters: [${name}]\n    path: models/x\n${extra}`;

describe('scaling.minReplicas: 0 and scaleToZero:', () => {
  it('gives a model with minReplicas 0 the default scale-to-zero settings, and the others none', () => {
    const spec = fleetFromText(fleet('', model('sleepy', '    scaling: { minReplicas: 0 }\n'), model('awake')));
    expect(spec.models[0]?.scaling.minReplicas).toBe(0);
    expect(spec.models[0]?.scaleToZero).toEqual(SCALE_TO_ZERO_DEFAULTS);
    expect(spec.models[1]?.scaleToZero).toBeUndefined();
    expect(Object.keys(spec.models[1] ?? {})).not.toContain('scaleToZero');
  });

  it('merges the model\'s own scaleToZero: over defaults.scaleToZero over the built-in defaults', () => {
    const spec = fleetFromText(fleet(
      '  scaleToZero: { idleSeconds: 60, maxPending: 20 }\n',
      model('sleepy', '    scaling: { minReplicas: 0 }\n    scaleToZero: { maxPending: 5 }\n'),
      model('awake'),
    ));
    expect(spec.models[0]?.scaleToZero).toEqual({ idleSeconds: 60, maxHoldMs: SCALE_TO_ZERO_DEFAULTS.maxHoldMs, maxPending: 5 });
    // defaults.scaleToZero serves every model; one that keeps replicas simply ignores it.
    expect(spec.models[1]?.scaleToZero).toBeUndefined();
  });

  it('rejects a model\'s own scaleToZero: when it keeps replicas, naming the key and the fix', () => {
    const err = fleetErrorOf(fleet('', model('awake', '    scaleToZero: { idleSeconds: 60 }\n')));
    expect(err.message).toContain('models[0].scaleToZero');
    expect(err.message).toContain('scaling.minReplicas: 1');
    expect(err.message).toContain('minReplicas: 0');
  });

  it('rejects values out of range and unknown keys with the place and the rule', () => {
    expect(fleetErrorOf(fleet('', model('m', '    scaling: { minReplicas: 0 }\n    scaleToZero: { idleSeconds: 5 }\n'))).message).toMatch(/models\[0\]\.scaleToZero\.idleSeconds.*at least 10/);
    expect(fleetErrorOf(fleet('', model('m', '    scaling: { minReplicas: 0 }\n    scaleToZero: { maxHoldMs: 1000000 }\n'))).message).toMatch(/maxHoldMs.*at most 300000/);
    expect(fleetErrorOf(fleet('', model('m', '    scaling: { minReplicas: 0 }\n    scaleToZero: { maxPendng: 3 }\n'))).message).toContain('maxPendng');
    expect(fleetErrorOf(fleet('', model('m', '    scaling: { minReplicas: -1 }\n'))).message).toMatch(/minReplicas.*at least 0/);
  });

  it('accepts every in-range setting and refuses every out-of-range one (property)', () => {
    fc.assert(fc.property(fc.integer({ min: -5, max: 100_000 }), fc.integer({ min: 0, max: 400_000 }), fc.integer({ min: -1, max: 200_000 }), (idle, hold, pending) => {
      const text = fleet('', model('m', `    scaling: { minReplicas: 0 }\n    scaleToZero: { idleSeconds: ${idle}, maxHoldMs: ${hold}, maxPending: ${pending} }\n`));
      const valid = idle >= 10 && idle <= 86_400 && hold >= 100 && hold <= 300_000 && pending >= 1 && pending <= 100_000;
      if (valid) expect(fleetFromText(text).models[0]?.scaleToZero).toEqual({ idleSeconds: idle, maxHoldMs: hold, maxPending: pending });
      else expect(fleetErrorOf(text).message).toContain('scaleToZero');
    }), { numRuns: 60 });
  });

  it('reaches the route table the gateway reads, with the ready path and the release concurrency', () => {
    const spec = fleetFromText(fleet('', model('sleepy', '    scaling: { minReplicas: 0 }\n    batching: { maxBatchSize: 8 }\n'), model('awake')));
    const table = buildRouteTable(spec, (name) => `http://${name}.models.svc`);
    const sleepy = table.routes.find((r) => r.model === 'sleepy')?.variants[0];
    const awake = table.routes.find((r) => r.model === 'awake')?.variants[0];
    expect(sleepy?.scaleToZero).toEqual({ ...SCALE_TO_ZERO_DEFAULTS, readyPath: '/readyz', concurrency: 8 });
    expect(awake && 'scaleToZero' in awake).toBe(false);
  });
});
