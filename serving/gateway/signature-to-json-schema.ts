import type { ColumnSpec, ColumnType, Schema, TensorSpec } from '../mlflow/signature.js';
import type { JsonSchema } from './route-table.js';

/**
 * JSON Schema (OpenAPI 3.0 dialect) of an MLflow scoring request body for a model's input schema.
 * Column models take `dataframe_split` or `dataframe_records`; tensor models take `inputs` or `instances`
 * (https://mlflow.org/docs/latest/ml/deployment/deploy-model-locally/#accepted-input-formats).
 */
export function signatureToJsonSchema(inputs: Schema): JsonSchema {
  return inputs.kind === 'columns' ? columnsBody(inputs.specs) : tensorsBody(inputs.specs);
}

function columnsBody(specs: readonly ColumnSpec[]): JsonSchema {
  const named = specs.filter((c): c is ColumnSpec & { name: string } => c.name !== undefined);
  const properties = Object.fromEntries(named.map((c) => [c.name, columnValue(c.type)]));
  const required = named.filter((c) => c.required).map((c) => c.name);
  const names = named.map((c) => c.name);
  return {
    oneOf: [
      {
        type: 'object',
        title: 'dataframe_split',
        required: ['dataframe_split'],
        properties: {
          dataframe_split: {
            type: 'object',
            required: ['columns', 'data'],
            properties: {
              columns: { type: 'array', items: { type: 'string', enum: names } },
              data: { type: 'array', minItems: 1, items: { type: 'array', items: {} } },
            },
          },
        },
      },
      {
        type: 'object',
        title: 'dataframe_records',
        required: ['dataframe_records'],
        properties: {
          dataframe_records: {
            type: 'array',
            minItems: 1,
            items: { type: 'object', properties, ...(required.length > 0 ? { required } : {}) },
          },
        },
      },
    ],
  };
}

function columnValue(type: ColumnType): JsonSchema {
  switch (type) {
    case 'boolean':
      return { type: 'boolean' };
    case 'integer':
    case 'long':
      return { type: 'integer', format: type === 'integer' ? 'int32' : 'int64' };
    case 'float':
    case 'double':
      return { type: 'number', format: type };
    case 'string':
      return { type: 'string' };
    case 'datetime':
      return { type: 'string', format: 'date-time' };
    case 'binary':
      return { type: 'string', format: 'byte' };
  }
}

function tensorsBody(specs: readonly TensorSpec[]): JsonSchema {
  const single = specs.length === 1 && specs[0] !== undefined;
  const tensor = (t: TensorSpec): JsonSchema => nestedArray(tensorValue(t.dtype), t.shape);
  const payload: JsonSchema = single
    ? tensor(specs[0] as TensorSpec)
    : { type: 'object', properties: Object.fromEntries(specs.map((t) => [t.name ?? 'input', tensor(t)])) };
  return {
    oneOf: [
      { type: 'object', title: 'inputs', required: ['inputs'], properties: { inputs: payload } },
      { type: 'object', title: 'instances', required: ['instances'], properties: { instances: { type: 'array', items: {} } } },
    ],
  };
}

function tensorValue(dtype: TensorSpec['dtype']): JsonSchema {
  if (dtype.startsWith('float')) return { type: 'number' };
  if (dtype.startsWith('int') || dtype.startsWith('uint')) return { type: 'integer' };
  if (dtype === 'bool') return { type: 'boolean' };
  return { type: 'string' };
}

function nestedArray(item: JsonSchema, shape: readonly number[]): JsonSchema {
  return shape.reduceRight<JsonSchema>(
    (inner, dim) => ({ type: 'array', items: inner, ...(dim > 0 ? { minItems: dim, maxItems: dim } : {}) }),
    item,
  );
}
