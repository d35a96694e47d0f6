import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readMlflowModel } from '../../serving/mlflow/read-mlflow-model.js';
import { parseCsv, RequestValidator } from '../../serving/model-server/validate-request.js';
import { EXAMPLE_NAMES } from './support/model-server.js';
import { EXAMPLES_DIR } from './support/reference-models.js';

const validators = async () => Promise.all(EXAMPLE_NAMES.map(async (name) =>
  new RequestValidator((await readMlflowModel(join(EXAMPLES_DIR, name))).signature, { maxRows: 20 })));

/** JSON-like values biased towards the shapes scoring bodies have. */
const cell = fc.oneof(fc.double(), fc.integer(), fc.string({ maxLength: 6 }), fc.boolean(), fc.constant(null), fc.constantFrom('NaN', 'TAXI', '1.5'));
const row = fc.array(cell, { maxLength: 6 });
const body = fc.oneof(
  fc.jsonValue(),
  fc.record({ dataframe_split: fc.record({ columns: fc.array(fc.constantFrom('vehicle_type', 'route_decision_score', 'farevalueinminor', 'backtoback', 'x'), { maxLength: 5 }), data: fc.array(row, { maxLength: 4 }) }) }),
  fc.record({ dataframe_records: fc.array(fc.dictionary(fc.constantFrom('vehicle_type', 'backtoback', 'eventtime', 'y'), cell), { maxLength: 4 }) }),
  fc.record({ inputs: fc.oneof(fc.array(fc.array(cell, { maxLength: 70 }), { maxLength: 3 }), fc.dictionary(fc.string({ maxLength: 4 }), fc.array(cell, { maxLength: 3 }))) }),
  fc.record({ instances: fc.array(fc.oneof(row, fc.dictionary(fc.string({ maxLength: 4 }), cell)), { maxLength: 3 }) }),
);
const v2Body = fc.record({ inputs: fc.array(fc.record({ name: fc.constantFrom('features', 'vehicle_type', 'backtoback', 'z'), shape: fc.array(fc.integer({ min: -1, max: 3 }), { maxLength: 3 }), datatype: fc.constantFrom('FP32', 'FP64', 'INT64', 'BYTES', 'BOOL'), data: fc.array(cell, { maxLength: 6 }) }), { maxLength: 3 }) });

describe('the request validator', () => {
  it('never throws on any JSON body: it accepts rows or returns 4xx problems', async () => {
    const all = await validators();
    fc.assert(fc.property(body, v2Body, (json, v2) => {
      for (const v of all) {
        for (const result of [v.validateScoringJson(json), v.validateScoring('application/json', JSON.stringify(json)), v.validateV2(v2), v.validateV2(json)]) {
          if (result.ok) expect(result.batch.rows).toBeGreaterThan(0);
          else expect(result.failure.status).toBeGreaterThanOrEqual(400);
          if (!result.ok) expect(result.failure.status).toBeLessThan(500);
        }
      }
    }), { numRuns: 300 });
  });

  it('never throws on any CSV text', async () => {
    const all = await validators();
    fc.assert(fc.property(fc.string({ maxLength: 200 }), (text) => {
      for (const v of all) {
        const result = v.validateScoring('text/csv', text);
        if (!result.ok) expect(result.failure.status).toBe(400);
      }
    }), { numRuns: 300 });
  });

  it('parses quoted CSV fields with commas, quotes and line breaks', () => {
    expect(parseCsv('a,b\n"x, y","say ""hi""\nthere"\r\n1,\n')).toEqual({ ok: true, rows: [['a', 'b'], ['x, y', 'say "hi"\nthere'], ['1', '']] });
  });
});
