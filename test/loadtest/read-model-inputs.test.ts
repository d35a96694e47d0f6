import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSignatureFile } from '../../pipeline/loadtest/read-model-inputs.js';
import { UserError } from '../../lib/errors/user-error.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'modelfleet-signature-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const specs = '[{"type": "double", "name": "score", "required": true}, {"type": "string", "name": "vehicle", "required": false}]';
const expected = {
  inputs: {
    kind: 'columns',
    specs: [
      { kind: 'column', name: 'score', type: 'double', required: true },
      { kind: 'column', name: 'vehicle', type: 'string', required: false },
    ],
  },
  outputs: undefined,
};

describe('a bring-your-own image\'s schema file', () => {
  it('can be an MLmodel file with a signature', async () => {
    const file = join(dir, 'MLmodel');
    writeFileSync(file, `flavors: {}\nsignature:\n  inputs: '${specs}'\n`);
    expect(await readSignatureFile(file, 'byo')).toEqual(expected);
  });

  it('can be a JSON signature with inputs', async () => {
    const file = join(dir, 'signature.json');
    writeFileSync(file, JSON.stringify({ inputs: specs }));
    expect(await readSignatureFile(file, 'byo')).toEqual(expected);
  });

  it('can be a bare JSON list of input specs', async () => {
    const file = join(dir, 'inputs.json');
    writeFileSync(file, specs);
    expect(await readSignatureFile(file, 'byo')).toEqual(expected);
  });

  it('fails naming the model and the file when it is missing or not JSON', async () => {
    const missing = await readSignatureFile(join(dir, 'nope.json'), 'byo-model').catch((err: unknown) => err);
    expect(missing).toBeInstanceOf(UserError);
    expect((missing as UserError).code).toBe('LOADTEST_SCHEMA_UNREADABLE');
    expect((missing as UserError).message).toMatch(/model byo-model: cannot read its schema file .*nope\.json/);
    const broken = join(dir, 'broken.json');
    writeFileSync(broken, '{"inputs": [');
    const error = await readSignatureFile(broken, 'byo-model').catch((err: unknown) => err);
    expect((error as UserError).message).toMatch(/broken\.json: not valid JSON/);
  });
});
