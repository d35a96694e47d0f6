import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isDnsLabel, toDnsLabel } from '../../lib/names.js';

describe('toDnsLabel', () => {
  it('keeps a name that already is a DNS label', () => {
    expect(toDnsLabel('taxi-berlin-trafficaware')).toBe('taxi-berlin-trafficaware');
  });

  it('lower-cases and replaces characters Kubernetes does not allow', () => {
    expect(toDnsLabel('Taxi_Berlin/2')).toBe('taxi-berlin-2');
  });

  it('caps at 63 characters, keeping the meaningful end and a hash of the whole', () => {
    const long = `${'a'.repeat(70)}-trafficaware`;
    const label = toDnsLabel(long);
    expect(label.length).toBeLessThanOrEqual(63);
    expect(label.endsWith('trafficaware')).toBe(true);
    expect(toDnsLabel(`${'b'.repeat(70)}-trafficaware`)).not.toBe(label);
  });

  it('always returns a valid DNS label', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (value) => {
        expect(isDnsLabel(toDnsLabel(value))).toBe(true);
      }),
    );
  });
});
