import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Ajv } from 'ajv';
import { afterEach, describe, expect, it } from 'vitest';
import { readRouteInputs, readRouteInputsOrWarn } from '../../serving/gateway/read-route-inputs.js';
import { signatureToJsonSchema } from '../../serving/gateway/signature-to-json-schema.js';
import { fleet, model, variant } from './fleet-fixture.js';

const REPO = resolve(import.meta.dirname, '../..');
// OpenAPI 3.0 schemas carry `format: double` and `title`; validate structure, not formats.
const ajv = new Ajv({ strict: false, validateFormats: false });

describe('input schemas from MLflow signatures', () => {
  it('reads the signature and input example of every local model variant', async () => {
    const spec = fleet([
      model('logreg', '/probability/2/TAXI/trafficaware', [
        variant('logreg-v1', 50, { id: 'v1', path: 'examples/models/match-logreg-v1' }),
        variant('logreg-v2', 50, { id: 'v2', path: 'examples/models/match-logreg-v2' }),
      ]),
    ], resolve(REPO, 'models.yaml'));
    const inputs = await readRouteInputs(spec);
    expect([...inputs.keys()].sort()).toEqual(['logreg-v1', 'logreg-v2']);
    const v1 = inputs.get('logreg-v1');
    const validate = ajv.compile(v1?.schema ?? {});
    expect(validate(v1?.example)).toBe(true);
    const columns = ['route_decision_score', 'farevalueinminor', 'offer_throughput_rate', 'eventtime', 'backtoback'];
    expect(validate({ dataframe_records: [Object.fromEntries(columns.map((c) => [c, 1.5]))] })).toBe(true);
    expect(validate({ dataframe_records: [{ route_decision_score: 'high' }] })).toBe(false);
    expect(validate({ rows: [] })).toBe(false);
  });

  it('describes tensor inputs as nested arrays of the declared shape', () => {
    const schema = signatureToJsonSchema({ kind: 'tensors', specs: [{ kind: 'tensor', name: 'x', dtype: 'float32', shape: [-1, 3] }] });
    const validate = ajv.compile(schema);
    expect(validate({ inputs: [[1, 2, 3], [4, 5, 6]] })).toBe(true);
    expect(validate({ inputs: [[1, 2]] })).toBe(false);
    expect(validate({ inputs: [['a', 'b', 'c']] })).toBe(false);
  });

  it('marks only required columns as required in records', () => {
    const schema = signatureToJsonSchema({ kind: 'columns', specs: [
      { kind: 'column', name: 'city', type: 'string', required: true },
      { kind: 'column', name: 'hour', type: 'long', required: false },
    ] });
    const validate = ajv.compile(schema);
    expect(validate({ dataframe_records: [{ city: 'x' }] })).toBe(true);
    expect(validate({ dataframe_records: [{ hour: 3 }] })).toBe(false);
    expect(validate({ dataframe_records: [{ city: 'x', hour: 2.5 }] })).toBe(false);
  });
});

describe('input schemas when one model cannot be read', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
  });

  /** A fleet of a readable model and one whose MLmodel is not YAML, in a temp folder. */
  async function fleetWithABrokenModel() {
    const dir = await mkdtemp(join(tmpdir(), 'modelfleet-route-inputs-'));
    dirs.push(dir);
    await cp(resolve(REPO, 'examples/models/match-logreg-v1'), join(dir, 'models/good'), { recursive: true });
    await mkdir(join(dir, 'models/broken'), { recursive: true });
    await writeFile(join(dir, 'models/broken/MLmodel'), 'flavors: [onnx\n');
    return fleet([
      model('good', '/probability/1/CAR/good', [variant('good', 100, { path: 'models/good' })]),
      model('broken', '/probability/1/CAR/broken', [variant('broken', 100, { path: 'models/broken' })]),
    ], join(dir, 'models.yaml'));
  }

  it('leaves the unreadable model out for a deploy and warns once, naming it and the reason', async () => {
    const lines: string[] = [];
    const inputs = await readRouteInputsOrWarn(await fleetWithABrokenModel(), (line) => lines.push(line));
    expect([...inputs.keys()]).toEqual(['good']);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^warning: broken: the gateway's OpenAPI document has no input schema for it: .*models\/broken\/MLmodel: not valid YAML/);
  });

  it('fails outright where every schema is required', async () => {
    await expect(readRouteInputs(await fleetWithABrokenModel())).rejects.toThrow(/models\/broken\/MLmodel: not valid YAML/);
  });
});
