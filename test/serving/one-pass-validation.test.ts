import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readMlflowModel } from '../../serving/mlflow/read-mlflow-model.js';
import { COLUMN_TYPES, TENSOR_DTYPES, type ColumnSpec, type ColumnType, type Signature, type TensorDtype, type TensorSpec } from '../../serving/mlflow/signature.js';
import { bindInputs, type GraphValue } from '../../serving/model-server/bind-inputs.js';
import { buildFeeds, feedLayout } from '../../serving/model-server/feed-layout.js';
import type { FeedLayout, RowBatch } from '../../serving/model-server/row-batch.js';
import { RequestValidator, type ValidationResult } from '../../serving/model-server/validate-request.js';
import { EXAMPLE_NAMES } from './support/model-server.js';
import { EXAMPLES_DIR } from './support/reference-models.js';

/**
 * The one-pass reader (pack-rows.ts) must be invisible: for any request it accepts exactly what the
 * full check accepts, with the same values in the graph's feeds, and a refused request gets exactly
 * the full check's answer. Compared here on random signatures, graph layouts and bodies, valid and not.
 */

const LIMITS = { maxRows: 8 };

/** A value a slot of this type takes (mostly) or refuses (sometimes). */
function cellFor(type: string): fc.Arbitrary<unknown> {
  // Numbers at the edges of the numeric types (fractions, out of range, -0), then values of other types.
  const edgy = fc.constantFrom<unknown>(2.5, -0.5, 1e40, -1, 2 ** 53, -0, 70000, 300);
  const bad = fc.constantFrom<unknown>(null, 'NaN', '1.5', true, [1], {}, '', 'yesterday', '!!');
  const valid = ((): fc.Arbitrary<unknown> => {
    switch (type) {
      case 'boolean': case 'bool': return fc.boolean();
      case 'string': case 'str': case 'object': return fc.constantFrom('TAXI', 'XL', '');
      case 'datetime': return fc.constantFrom('2026-01-15T09:00:00Z', '2026-01-15');
      case 'binary': return fc.constantFrom('AAEC', '');
      case 'integer': case 'int32': return fc.integer({ min: -2147483648, max: 2147483647 });
      case 'long': case 'int64': return fc.maxSafeInteger();
      case 'int8': return fc.integer({ min: -128, max: 127 });
      case 'int16': return fc.integer({ min: -32768, max: 32767 });
      case 'uint8': return fc.integer({ min: 0, max: 255 });
      case 'uint16': return fc.integer({ min: 0, max: 65535 });
      case 'uint32': return fc.integer({ min: 0, max: 4294967295 });
      case 'uint64': return fc.maxSafeNat();
      case 'float16': return fc.double({ min: -65504, max: 65504, noNaN: true });
      case 'float': case 'float32': return fc.double({ min: -3.4e38, max: 3.4e38, noNaN: true });
      default: return fc.double({ noNaN: true, noDefaultInfinity: true });
    }
  })();
  return fc.oneof({ weight: 12, arbitrary: valid }, { weight: 2, arbitrary: edgy }, { weight: 1, arbitrary: bad });
}

const columnSignature: fc.Arbitrary<Signature> = fc
  .uniqueArray(fc.stringMatching(/^[a-z][a-z0-9_]{0,5}$/), { minLength: 1, maxLength: 5 })
  .chain((names) => fc.tuple(...names.map((name) => fc.record({
    type: fc.oneof({ weight: 4, arbitrary: fc.constantFrom<ColumnType>('double', 'float', 'long', 'integer') }, { weight: 1, arbitrary: fc.constantFrom(...COLUMN_TYPES) }),
    required: fc.oneof({ weight: 4, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
  }).map(({ type, required }): ColumnSpec => ({ kind: 'column', name, type, required })))))
  .map((specs) => ({ inputs: { kind: 'columns', specs }, outputs: undefined }));

const tensorDtype = fc.oneof({ weight: 4, arbitrary: fc.constantFrom<TensorDtype>('float32', 'float64', 'int64') }, { weight: 1, arbitrary: fc.constantFrom(...TENSOR_DTYPES) });
const rowShape = fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 0, maxLength: 2 });
const tensorSignature: fc.Arbitrary<Signature> = fc.oneof(
  fc.record({ dtype: tensorDtype, rest: rowShape }).map(({ dtype, rest }): Signature => ({
    inputs: { kind: 'tensors', specs: [{ kind: 'tensor', name: undefined, dtype, shape: [-1, ...rest] }] }, outputs: undefined,
  })),
  fc.uniqueArray(fc.stringMatching(/^[a-z][a-z0-9]{0,4}$/), { minLength: 1, maxLength: 3 })
    .chain((names) => fc.tuple(...names.map((name) => fc.record({ dtype: tensorDtype, rest: rowShape })
      .map(({ dtype, rest }): TensorSpec => ({ kind: 'tensor', name, dtype, shape: [-1, ...rest] })))))
    .map((specs): Signature => ({ inputs: { kind: 'tensors', specs }, outputs: undefined })),
);

/** Graph inputs a model for this signature could have, in one of the layouts the binder accepts. */
function graphFor(signature: Signature): fc.Arbitrary<GraphValue[]> {
  if (signature.inputs.kind === 'tensors') {
    return fc.constant(signature.inputs.specs.map((t) => ({
      name: t.name ?? 'input',
      type: t.dtype === 'str' || t.dtype === 'object' ? 'string' : t.dtype === 'bool' ? 'bool' : t.dtype,
      shape: ['N', ...t.shape.slice(1)],
    })));
  }
  const specs = signature.inputs.specs;
  const numeric = specs.every((c) => ['double', 'float', 'long', 'integer'].includes(c.type));
  const perColumn = fc.tuple(...specs.map((c) => {
    const types = c.type === 'boolean' ? ['bool'] : c.type === 'string' || c.type === 'binary' ? ['string'] : c.type === 'datetime' ? ['string', 'int64'] : ['float64', 'float32', 'int64', 'int32'];
    return fc.record({ type: fc.constantFrom(...types), rank: fc.constantFrom(1, 2) })
      .map(({ type, rank }): GraphValue => ({ name: c.name ?? '', type, shape: rank === 1 ? ['N'] : ['N', 1] }));
  }));
  const matrix = fc.constantFrom('float64', 'float32').map((type): GraphValue[] => [{ name: 'X', type, shape: ['N', specs.length] }]);
  return numeric ? fc.oneof(perColumn, matrix) : perColumn;
}

interface Slot { readonly name: string; readonly type: string; readonly shape: readonly number[] }
const slotsOf = (signature: Signature): Slot[] => (signature.inputs.kind === 'columns'
  ? signature.inputs.specs.map((c) => ({ name: c.name ?? '', type: c.type, shape: [] }))
  : signature.inputs.specs.map((t) => ({ name: t.name ?? '', type: t.dtype, shape: t.shape.slice(1) })));

/** One row's value of a slot: a cell, or nested lists of cells shaped like the tensor row. */
function valueFor(slot: Slot): fc.Arbitrary<unknown> {
  const nest = (dims: readonly number[]): fc.Arbitrary<unknown> => {
    const [head, ...rest] = dims;
    return head === undefined ? cellFor(slot.type) : fc.array(nest(rest), { minLength: head, maxLength: head });
  };
  return fc.oneof({ weight: 12, arbitrary: nest(slot.shape) }, { weight: 1, arbitrary: cellFor(slot.type) });
}

/** Request bodies of every format for `signature`, rows mostly valid. */
function bodiesFor(signature: Signature): fc.Arbitrary<{ json: unknown; v2: boolean }> {
  const slots = slotsOf(signature);
  const rows = fc.integer({ min: 0, max: 5 }).chain((n) => fc.array(fc.tuple(...slots.map(valueFor)), { minLength: n, maxLength: n }));
  const names = slots.map((s) => s.name);
  const columnsOf = fc.oneof(
    { weight: 6, arbitrary: fc.constant(names) },
    { weight: 2, arbitrary: fc.shuffledSubarray(names, { minLength: names.length, maxLength: names.length }) },
    { weight: 1, arbitrary: fc.shuffledSubarray(names) },
    { weight: 1, arbitrary: fc.constant([...names, names[0] ?? 'x']) },
  );
  const split = fc.tuple(columnsOf, rows).map(([columns, data]) => ({
    json: { dataframe_split: { columns, data: data.map((r) => columns.map((c) => r[names.indexOf(c)])) } }, v2: false,
  }));
  const records = fc.tuple(fc.constantFrom('dataframe_records', 'instances', 'inputs'), rows)
    .map(([key, data]) => ({ json: { [key]: data.map((r) => Object.fromEntries(names.map((n, i) => [n, r[i]]))) }, v2: false }));
  const tensorRows = fc.tuple(fc.constantFrom('instances', 'inputs'), rows).map(([key, data]) => ({ json: { [key]: data.map((r) => r[0]) }, v2: false }));
  const columnar = rows.map((data) => ({ json: { inputs: Object.fromEntries(names.map((n, i) => [n, data.map((r) => r[i])])) }, v2: false }));
  const v2 = fc.tuple(rows, fc.boolean()).map(([data, nested]) => ({
    json: { inputs: slots.map((s, i) => {
      const values = data.map((r) => r[i]);
      const shape = [data.length, ...(s.shape.length === 0 ? [] : s.shape)];
      return { name: s.name || 'input', shape, datatype: v2Type(s.type), data: nested ? values : values.flat(Infinity) };
    }) },
    v2: true,
  }));
  return fc.oneof(split, records, tensorRows, columnar, v2);
}

function v2Type(type: string): string {
  if (['double', 'float64', 'float', 'float32', 'float16'].includes(type)) return 'FP64';
  if (['integer', 'long', 'int8', 'int16', 'int32', 'int64'].includes(type)) return 'INT64';
  if (type.startsWith('uint')) return 'UINT64';
  return type === 'boolean' || type === 'bool' ? 'BOOL' : 'BYTES';
}

/** The feeds a result turns into (or the error building them throws), for comparing results. */
function feedsOf(layout: FeedLayout, batch: RowBatch): unknown {
  try {
    const feeds = buildFeeds(layout, [batch]);
    return Object.fromEntries(feeds.map((f, i) => [layout.feeds[i]?.name, { type: f.type, dims: f.dims, data: Array.from(f.data as ArrayLike<unknown>) }]));
  } catch (err) {
    return { threw: (err as Error).message };
  }
}

function expectSame(layout: FeedLayout, full: ValidationResult, onePass: ValidationResult): void {
  expect(onePass.ok).toBe(full.ok);
  if (!full.ok || !onePass.ok) {
    expect(onePass).toEqual(full);
    return;
  }
  expect(onePass.format).toBe(full.format);
  expect(onePass.batch.rows).toBe(full.batch.rows);
  expect(feedsOf(layout, onePass.batch)).toEqual(feedsOf(layout, full.batch));
}

const validate = (v: RequestValidator, body: { json: unknown; v2: boolean }) => (body.v2 ? v.validateV2(body.json) : v.validateScoringJson(body.json));

describe('the one-pass reader', () => {
  it('accepts, refuses and converts exactly as the full check, for any signature, graph layout and body', () => {
    const signature = fc.oneof(columnSignature, tensorSignature);
    const scenario = signature.chain((sig) => fc.record({ sig: fc.constant(sig), graph: graphFor(sig), bodies: fc.array(bodiesFor(sig), { minLength: 1, maxLength: 6 }) }));
    let packed = 0;
    fc.assert(fc.property(scenario, ({ sig, graph, bodies }) => {
      const bound = bindInputs(sig, graph);
      if (!bound.ok) return;
      const layout = feedLayout(sig, bound.binding);
      const full = new RequestValidator(sig, LIMITS, { onePass: false });
      const columns = new RequestValidator(sig, LIMITS);
      const feeds = new RequestValidator(sig, LIMITS, { layout });
      for (const body of bodies) {
        const expected = validate(full, body);
        const viaFeeds = validate(feeds, body);
        expectSame(layout, expected, validate(columns, body));
        expectSame(layout, expected, viaFeeds);
        if (viaFeeds.ok && viaFeeds.batch.feeds) packed++;
      }
    }), { numRuns: 400 });
    // The comparison means something only if the reader really took many of the requests.
    expect(packed).toBeGreaterThan(100);
  });

  it('writes clean requests for the example models straight into their graph layout', async () => {
    for (const name of EXAMPLE_NAMES) {
      const model = await readMlflowModel(join(EXAMPLES_DIR, name));
      const example = model.inputExample;
      if (!example) throw new Error(`${name} has no input example`);
      const graph: GraphValue[] = name === 'match-logreg-v2' ? [{ name: 'input', type: 'float64', shape: ['N', 5] }]
        : slotsOf(model.signature).map((s) => ({ name: s.name, type: s.type === 'string' ? 'string' : s.type === 'long' ? 'int64' : s.type === 'double' ? 'float64' : 'float32', shape: ['N', ...(s.shape.length > 0 ? s.shape : [1])] }));
      const bound = bindInputs(model.signature, graph);
      if (!bound.ok) throw new Error(bound.problems.join('; '));
      const validator = new RequestValidator(model.signature, { maxRows: 10 }, { layout: feedLayout(model.signature, bound.binding) });
      const rows = example.data.slice(0, 1);
      const json = model.signature.inputs.kind === 'columns' ? { dataframe_split: { columns: example.columns, data: rows } } : { inputs: rows };
      const result = validator.validateScoringJson(json);
      expect(result.ok && result.batch.feeds !== undefined, name).toBe(true);
    }
  });
});
