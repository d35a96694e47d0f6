import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { UserError } from '../../lib/errors/user-error.js';
import {
  PINNED_VERSIONS_VARIABLE,
  formatPinnedVersions,
  parsePinnedVersions,
  pinnedVersionOf,
  readPinnedVersions,
  type AliasPin,
} from '../../pipeline/mlflow-registry/pinned-aliases.js';

const codeOf = (text: string): string | undefined => {
  try {
    parsePinnedVersions(text);
    return undefined;
  } catch (err) {
    if (err instanceof UserError) return err.code;
    throw err;
  }
};

const pinArbitrary: fc.Arbitrary<AliasPin> = fc.record({
  name: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,20}$/),
  alias: fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_-]{0,12}$/),
  version: fc.integer({ min: 1, max: 999_999 }).map(String),
});

describe('the pinned alias versions of a job (MODELFLEET_MLFLOW_VERSIONS)', () => {
  it('reads space-separated name@alias=version entries', () => {
    const pins = parsePinnedVersions('match_taxi@champion=4 match.moto-2@challenger_b=12');
    expect(pinnedVersionOf(pins, 'match_taxi', 'champion')).toBe('4');
    expect(pinnedVersionOf(pins, 'match.moto-2', 'challenger_b')).toBe('12');
    expect(pinnedVersionOf(pins, 'match_taxi', 'challenger')).toBeUndefined();
    expect(pinnedVersionOf(pins, 'other', 'champion')).toBeUndefined();
  });

  it('takes any whitespace between entries, and none at all as no pins', () => {
    expect([...parsePinnedVersions('\n  a@x=1\t b@y=2 \n')]).toEqual([['a@x', '1'], ['b@y', '2']]);
    expect(parsePinnedVersions('').size).toBe(0);
    expect(parsePinnedVersions('   ').size).toBe(0);
    expect(readPinnedVersions({}).size).toBe(0);
    expect(pinnedVersionOf(readPinnedVersions({ [PINNED_VERSIONS_VARIABLE]: 'm@champion=7' }), 'm', 'champion')).toBe('7');
  });

  it.each([
    ['match_taxi@champion', 'is not name@alias=version'],
    ['match_taxi=4', 'is not name@alias=version'],
    ['match_taxi@champion=4=5', 'is not name@alias=version'],
    ['a@b@c=1', 'is not name@alias=version'],
    ['@champion=4', 'is not name@alias=version'],
    ['match_taxi@champion=', 'is not name@alias=version'],
    ['match_taxi@champion=latest', 'is not a registry version number'],
    ['match_taxi@champion=0', 'is not a registry version number'],
    ['match_taxi@champion=-3', 'is not a registry version number'],
    ['match_taxi@9lives=3', 'is not an MLflow alias'],
    ['$HOME@champion=3', 'is not an MLflow registered model name'],
    ['-x@champion=3', 'is not an MLflow registered model name'],
  ])('refuses %j, naming the entry and what is wrong', (text, why) => {
    expect(() => parsePinnedVersions(text)).toThrow(UserError);
    expect(() => parsePinnedVersions(text)).toThrow(why);
    expect(() => parsePinnedVersions(`ok@fine=1 ${text}`)).toThrow(`${PINNED_VERSIONS_VARIABLE} the entry ${JSON.stringify(text)}`);
  });

  it('refuses one alias pinned to two versions, and accepts the same pin twice', () => {
    expect(() => parsePinnedVersions('m@champion=3 m@champion=4')).toThrow('pins m@champion to both version 3 and version 4');
    expect(pinnedVersionOf(parsePinnedVersions('m@champion=3 m@champion=3'), 'm', 'champion')).toBe('3');
  });

  it('writes entries sorted and once each, whatever order they come in', () => {
    expect(formatPinnedVersions([
      { name: 'match_taxi', alias: 'champion', version: '4' },
      { name: 'match_moto', alias: 'champion', version: '7' },
      { name: 'match_taxi', alias: 'champion', version: '4' },
    ])).toBe('match_moto@champion=7 match_taxi@champion=4');
    expect(formatPinnedVersions([])).toBe('');
  });

  it('reads back exactly what it writes, for any pins', () => {
    fc.assert(fc.property(fc.uniqueArray(pinArbitrary, { selector: (p) => `${p.name}@${p.alias}`, maxLength: 12 }), (pins) => {
      const text = formatPinnedVersions(pins);
      const parsed = parsePinnedVersions(text);
      expect(parsed.size).toBe(pins.length);
      for (const pin of pins) expect(pinnedVersionOf(parsed, pin.name, pin.alias)).toBe(pin.version);
      expect(formatPinnedVersions([...pins].reverse())).toBe(text);
    }));
  });

  it('either reads any text or refuses it with its own error code, never anything else', () => {
    const chars = fc.constantFrom(...'ab_.-9@= \t\n$"\'`;|&\\/'.split(''));
    fc.assert(fc.property(fc.string({ unit: chars, maxLength: 40 }), (text) => {
      const code = codeOf(text);
      if (code !== undefined) {
        expect(code).toBe('MLFLOW_PINNED_VERSIONS_INVALID');
        return;
      }
      // What it reads holds only characters a name, an alias or a version may have.
      for (const [key, version] of parsePinnedVersions(text)) {
        expect(key).toMatch(/^[A-Za-z0-9][A-Za-z0-9_.-]*@[A-Za-z_][A-Za-z0-9_-]*$/);
        expect(version).toMatch(/^[1-9][0-9]*$/);
      }
    }));
  });
});
