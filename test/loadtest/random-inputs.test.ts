import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { generateRequestBodies, columnDomain } from '../../pipeline/loadtest/random-inputs.js';
import { COLUMN_TYPES, TENSOR_DTYPES, type ColumnSpec, type Signature, type TensorSpec } from '../../serving/mlflow/signature.js';
import type { InputExample } from '../../serving/mlflow/read-mlflow-model.js';
import { validateScoringRequest } from '../../serving/model-server/validate-request.js';

const columnSpec = (name: string): fc.Arbitrary<ColumnSpec> =>
  fc.record({ type: fc.constantFrom(...COLUMN_TYPES), required: fc.boolean() }).map(({ type, required }) => ({ kind: 'column', name, type, required }));

const columnSignature: fc.Arbitrary<Signature> = fc
  .uniqueArray(fc.stringMatching(/^[a-z][a-z0-9_]{0,11}$/), { minLength: 1, maxLength: 8 })
  .chain((names) => fc.tuple(...names.map(columnSpec)))
  .map((specs) => ({ inputs: { kind: 'columns', specs }, outputs: undefined }));

const tensorShape = fc.array(fc.oneof(fc.constant(-1), fc.integer({ min: 1, max: 4 })), { minLength: 0, maxLength: 3 }).map((rest) => [-1, ...rest]);

const tensorSignature: fc.Arbitrary<Signature> = fc.oneof(
  // One unnamed tensor (sent as {"inputs": [...]})
  fc.record({ dtype: fc.constantFrom(...TENSOR_DTYPES), shape: tensorShape }).map(({ dtype, shape }): Signature => ({
    inputs: { kind: 'tensors', specs: [{ kind: 'tensor', name: undefined, dtype, shape }] },
    outputs: undefined,
  })),
  // Several named tensors (sent as {"inputs": {"name": [...]}})
  fc.uniqueArray(fc.stringMatching(/^[a-z][a-z0-9_]{0,7}$/), { minLength: 1, maxLength: 3 })
    .chain((names) => fc.tuple(...names.map((name) =>
      fc.record({ dtype: fc.constantFrom(...TENSOR_DTYPES), shape: tensorShape }).map(({ dtype, shape }): TensorSpec => ({ kind: 'tensor', name, dtype, shape })))))
    .map((specs): Signature => ({ inputs: { kind: 'tensors', specs }, outputs: undefined })),
);

/** An input example over some of the signature's columns, with values of the column's type. */
function exampleFor(signature: Signature): fc.Arbitrary<InputExample | undefined> {
  if (signature.inputs.kind !== 'columns') return fc.constant(undefined);
  const specs = signature.inputs.specs;
  const cell = (spec: ColumnSpec): fc.Arbitrary<unknown> => {
    switch (spec.type) {
      case 'integer': return fc.integer({ min: -5000, max: 5000 });
      case 'long': return fc.integer({ min: -5_000_000, max: 5_000_000 });
      case 'float': case 'double': return fc.double({ min: -1e6, max: 1e6, noNaN: true });
      case 'string': return fc.constantFrom('TAXI', 'BIKE', 'VAN');
      case 'boolean': return fc.boolean();
      default: return fc.constant(null);
    }
  };
  return fc.option(fc.array(fc.tuple(...specs.map(cell)), { minLength: 1, maxLength: 4 }).map((data) => ({
    columns: specs.map((s) => s.name as string),
    data,
  })), { nil: undefined });
}

function passesServerValidation(signature: Signature, body: unknown): { ok: boolean; problems?: unknown } {
  const result = validateScoringRequest(signature, { contentType: 'application/json', body: JSON.stringify(body) }, { maxRows: 10_000 });
  return result.ok ? { ok: true } : { ok: false, problems: result.failure.problems };
}

describe('random schema-conforming inputs', () => {
  it('passes the model server\'s own validation for every column type, with and without an input example', () => {
    fc.assert(
      fc.property(
        columnSignature.chain((signature) => fc.record({
          signature: fc.constant(signature),
          example: exampleFor(signature),
          rows: fc.integer({ min: 1, max: 40 }),
          seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        })),
        ({ signature, example, rows, seed }) => {
          for (const body of generateRequestBodies(signature, { rowsPerRequest: rows, seed, count: 3, inputExample: example })) {
            expect(passesServerValidation(signature, body)).toEqual({ ok: true });
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('passes the model server\'s own validation for every tensor dtype and shape', () => {
    fc.assert(
      fc.property(tensorSignature, fc.integer({ min: 1, max: 20 }), fc.integer({ min: 0, max: 2 ** 31 - 1 }), (signature, rows, seed) => {
        for (const body of generateRequestBodies(signature, { rowsPerRequest: rows, seed, count: 3 })) {
          expect(passesServerValidation(signature, body)).toEqual({ ok: true });
        }
      }),
      { numRuns: 300 },
    );
  });

  it('covers every MLflow column type and every tensor dtype the signature parser knows', () => {
    // If the parser learns a new type, the generator (and the arbitraries above) must learn it too.
    const signature: Signature = {
      inputs: { kind: 'columns', specs: COLUMN_TYPES.map((type) => ({ kind: 'column', name: `c_${type}`, type, required: true })) },
      outputs: undefined,
    };
    const [body] = generateRequestBodies(signature, { rowsPerRequest: 2, seed: 7, count: 1 });
    expect(passesServerValidation(signature, body)).toEqual({ ok: true });
    const tensors: Signature = {
      inputs: { kind: 'tensors', specs: TENSOR_DTYPES.map((dtype) => ({ kind: 'tensor', name: `t_${dtype}`, dtype, shape: [-1, 2] })) },
      outputs: undefined,
    };
    const [tensorBody] = generateRequestBodies(tensors, { rowsPerRequest: 2, seed: 7, count: 1 });
    expect(passesServerValidation(tensors, tensorBody)).toEqual({ ok: true });
  });

  it('puts the configured number of rows in every request', () => {
    const signature: Signature = {
      inputs: { kind: 'columns', specs: [{ kind: 'column', name: 'x', type: 'double', required: true }] },
      outputs: undefined,
    };
    const bodies = generateRequestBodies(signature, { rowsPerRequest: 17, seed: 1, count: 5 });
    expect(bodies.map((b) => ('dataframe_split' in b ? b.dataframe_split.data.length : -1))).toEqual([17, 17, 17, 17, 17]);
  });

  it('gives the same bodies for the same seed and different bodies for another seed', () => {
    const signature: Signature = {
      inputs: { kind: 'columns', specs: [{ kind: 'column', name: 'x', type: 'double', required: true }, { kind: 'column', name: 'city', type: 'string', required: true }] },
      outputs: undefined,
    };
    const a = generateRequestBodies(signature, { rowsPerRequest: 3, seed: 42, count: 4 });
    const b = generateRequestBodies(signature, { rowsPerRequest: 3, seed: 42, count: 4 });
    const c = generateRequestBodies(signature, { rowsPerRequest: 3, seed: 43, count: 4 });
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
    expect(JSON.stringify(a)).not.toBe(JSON.stringify(c));
  });

  it('draws numbers from around the input example\'s range and strings from its categories', () => {
    const example: InputExample = { columns: ['score', 'vehicle'], data: [[10, 'TAXI'], [20, 'VAN'], [15, 'TAXI']] };
    const signature: Signature = {
      inputs: { kind: 'columns', specs: [{ kind: 'column', name: 'score', type: 'double', required: true }, { kind: 'column', name: 'vehicle', type: 'string', required: true }] },
      outputs: undefined,
    };
    const bodies = generateRequestBodies(signature, { rowsPerRequest: 50, seed: 3, count: 4, inputExample: example });
    const rows = bodies.flatMap((b) => ('dataframe_split' in b ? b.dataframe_split.data : []));
    expect(rows).toHaveLength(200);
    for (const [score, vehicle] of rows as [number, string][]) {
      expect(score).toBeGreaterThanOrEqual(9);
      expect(score).toBeLessThanOrEqual(21);
      expect(['TAXI', 'VAN']).toContain(vehicle);
    }
    expect(columnDomain({ kind: 'column', name: 'vehicle', type: 'string', required: true }, example)).toEqual({ kind: 'categories', values: ['TAXI', 'VAN'] });
  });
});
