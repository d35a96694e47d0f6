import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isDnsLabel, isLabelValue, toDnsLabel, toLabelValue } from '../../lib/names.js';

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

/**
 * The label-value rule as the Kubernetes docs state it, written out here rather than imported, so
 * the property below checks toLabelValue against the documentation and not against itself:
 * "must be 63 characters or less (can be empty), unless empty, must begin and end with an
 * alphanumeric character ([a-z0-9A-Z]), could contain dashes (-), underscores (_), dots (.),
 * and alphanumerics between"
 * (https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#syntax-and-character-set).
 */
const DOCUMENTED_LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const documentedLabelValue = (value: string): boolean => value.length <= 63 && DOCUMENTED_LABEL_VALUE.test(value);

/** Text made mostly of the characters that sit at the edges of the rule: separators, slashes, dots. */
const edgyText = fc.string({ unit: fc.constantFrom('a', 'Z', '7', '-', '_', '.', '/', ':', ' ', 'é'), maxLength: 160 });

describe('toLabelValue', () => {
  it('keeps a value that already is a label value', () => {
    expect(toLabelValue('match-2-taxi_v1.0')).toBe('match-2-taxi_v1.0');
  });

  it('replaces characters a label value may not hold', () => {
    expect(toLabelValue('registry.example.com/team/x:1.0')).toBe('registry.example.com-team-x-1.0');
  });

  it('drops the trailing "-" an environment name like review/ would leave (the API server refuses it)', () => {
    expect(toLabelValue('review/')).toBe('review');
    expect(toLabelValue('-feature/login-')).toBe('feature-login');
  });

  it('gives the empty string, a valid label value, for text with nothing usable', () => {
    expect(toLabelValue('///')).toBe('');
    expect(toLabelValue('')).toBe('');
  });

  it('caps at 63 characters, keeping the meaningful end and a hash of the whole', () => {
    const long = `review/${'x'.repeat(80)}-berlin`;
    const value = toLabelValue(long);
    expect(value).toHaveLength(63);
    expect(value.endsWith('-berlin')).toBe(true);
    expect(toLabelValue(`staging/${'x'.repeat(80)}-berlin`)).not.toBe(value);
  });

  it('always returns a value that matches the documented label-value syntax', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 200 }), fc.string({ unit: 'grapheme', maxLength: 100 }), edgyText), (text) => {
        const value = toLabelValue(text);
        expect(documentedLabelValue(value), JSON.stringify(value)).toBe(true);
        expect(isLabelValue(value)).toBe(true);
      }),
      { numRuns: 2_000 },
    );
  });

  it('agrees with the documented syntax on which values are valid', () => {
    fc.assert(
      fc.property(fc.oneof(edgyText, fc.string({ maxLength: 80 })), (text) => {
        expect(isLabelValue(text)).toBe(documentedLabelValue(text));
      }),
      { numRuns: 2_000 },
    );
  });
});
