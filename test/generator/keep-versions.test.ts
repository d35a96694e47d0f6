import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { findDeployable } from '../../generator/fleet/find-deployable.js';
import { deployableInEnvironment, findEnvironment } from '../../generator/fleet/find-environment.js';
import { fleetErrorOf, fleetFromText } from './support/generator-fixtures.js';

const fleet = (defaults: string, ...models: string[]): string => `defaults:\n  endpoint: probability\n${defaults}models:\n${models.join('')}`;
const model = (name: string, extra = '', parameters = `[${name}]`): string => `  - name: ${name}\n    parameters: ${parameters}\n    path: models/x\n${extra}`;

describe('keepVersions: in models.yaml', () => {
  it('keeps one earlier version unless told otherwise, and takes the model\'s own over defaults', () => {
    expect(fleetFromText(fleet('', model('m'))).models[0]?.keepVersions).toBe(1);
    const spec = fleetFromText(fleet('  keepVersions: 3\n', model('a'), model('b', '    keepVersions: 0\n')));
    expect(spec.models.map((m) => m.keepVersions)).toEqual([3, 0]);
  });

  it('lets a model keep another number of versions in one environment', () => {
    const text = `environments:\n  - name: staging\n  - name: production\n${fleet('', model('m', '    keepVersions: 2\n    environments:\n      production: { keepVersions: 5 }\n'))}`;
    const spec = fleetFromText(text);
    const deployable = findDeployable(spec, 'm');
    expect(deployableInEnvironment(deployable, findEnvironment(spec, 'staging')).model.keepVersions).toBe(2);
    expect(deployableInEnvironment(deployable, findEnvironment(spec, 'production')).model.keepVersions).toBe(5);
  });

  it('accepts every whole number from 0 to 10 and refuses anything else, naming the key path (property)', () => {
    const value = fc.oneof(fc.integer({ min: -20, max: 40 }), fc.double({ min: -5, max: 15, noNaN: true }).filter((n) => !Number.isInteger(n)), fc.constantFrom('"two"', 'true', 'null'));
    fc.assert(fc.property(value, fc.boolean(), (raw, underDefaults) => {
      const text = underDefaults ? fleet(`  keepVersions: ${String(raw)}\n`, model('m')) : fleet('', model('m', `    keepVersions: ${String(raw)}\n`));
      if (typeof raw === 'number' && Number.isInteger(raw) && raw >= 0 && raw <= 10) {
        expect(fleetFromText(text).models[0]?.keepVersions).toBe(raw);
      } else {
        expect(fleetErrorOf(text).message).toContain(underDefaults ? 'defaults.keepVersions' : 'models[0].keepVersions');
      }
    }), { numRuns: 80 });
  });

  it('refuses a route that lies under another model\'s /versions/ path, with the place and the fix', () => {
    const err = fleetErrorOf(fleet('', model('taxi', '', '[2, TAXI]'), model('clash', '', '[2, TAXI, versions, "3"]')));
    expect(err.message).toContain('models[1].parameters');
    expect(err.message).toContain('/probability/2/TAXI/versions/3 lies under /probability/2/TAXI/versions/');
    expect(err.message).toContain('model "taxi"');
    expect(err.message).toMatch(/pick another endpoint or parameters/);
    // "versions" elsewhere in a route is fine.
    expect(fleetFromText(fleet('', model('taxi', '', '[2, TAXI]'), model('ok', '', '[versions, "3"]'))).models).toHaveLength(2);
  });
});
