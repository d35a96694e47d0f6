import onnxProto from 'onnx-proto';
import type { onnx as OnnxTypes } from 'onnx-proto';

/**
 * Small builders over onnx-proto's protobuf classes (ModelProto, GraphProto, NodeProto, TensorProto),
 * enough to write the example models. Field meanings: https://github.com/onnx/onnx/blob/main/docs/IR.md
 */
const { onnx } = onnxProto;

/** IR version 8 (ONNX 1.10), which onnxruntime 1.30 reads; opsets below are the ones these graphs were checked with. */
export const IR_VERSION = 8;
export const ONNX_OPSET = 15;
export const ONNX_ML_OPSET = 3;

export const ElemType = {
  FLOAT: onnx.TensorProto.DataType.FLOAT,
  DOUBLE: onnx.TensorProto.DataType.DOUBLE,
  INT64: onnx.TensorProto.DataType.INT64,
  STRING: onnx.TensorProto.DataType.STRING,
} as const;
export type ElemTypeValue = (typeof ElemType)[keyof typeof ElemType];

type AttrValue = number | string | readonly number[] | readonly string[]
  | { readonly ints: readonly number[] } | { readonly floats: readonly number[] } | { readonly float: number };

/** A node; numbers that are integers become INT attributes unless wrapped in `{ floats: [...] }`. */
export function node(opType: string, inputs: readonly string[], outputs: readonly string[], attrs: Record<string, AttrValue> = {}, domain = ''): OnnxTypes.INodeProto {
  return {
    opType,
    input: [...inputs],
    output: [...outputs],
    name: outputs[0] ?? opType,
    domain,
    attribute: Object.entries(attrs).map(([name, value]) => attribute(name, value)),
  };
}

function attribute(name: string, value: AttrValue): OnnxTypes.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof value === 'string') return { name, type: T.STRING, s: utf8(value) };
  if (typeof value === 'number') return Number.isInteger(value) ? { name, type: T.INT, i: value } : { name, type: T.FLOAT, f: value };
  if ('float' in value) return { name, type: T.FLOAT, f: value.float };
  if ('ints' in value) return { name, type: T.INTS, ints: [...value.ints] };
  if ('floats' in value) return { name, type: T.FLOATS, floats: [...value.floats] };
  const list = value as readonly (string | number)[];
  if (list.every((v) => typeof v === 'string')) return { name, type: T.STRINGS, strings: (list as string[]).map(utf8) };
  return { name, type: T.FLOATS, floats: [...(list as number[])] };
}

/** An initializer; numbers are stored little-endian in raw_data so the bytes are exact and stable. */
export function tensor(name: string, elemType: ElemTypeValue, dims: readonly number[], values: readonly number[]): OnnxTypes.ITensorProto {
  const count = dims.reduce((a, b) => a * b, 1);
  if (count !== values.length) throw new Error(`tensor ${name}: dims ${dims.join('x')} hold ${count} values, got ${values.length}`);
  let raw: Uint8Array;
  if (elemType === ElemType.FLOAT) raw = new Uint8Array(Float32Array.from(values).buffer);
  else if (elemType === ElemType.DOUBLE) raw = new Uint8Array(Float64Array.from(values).buffer);
  else if (elemType === ElemType.INT64) raw = new Uint8Array(BigInt64Array.from(values.map((v) => BigInt(v))).buffer);
  else throw new Error(`tensor ${name}: unsupported element type ${elemType}`);
  return { name, dataType: elemType, dims: [...dims], rawData: raw };
}

/** A graph input or output; `null` in dims is a symbolic batch dimension "N". */
export function valueInfo(name: string, elemType: ElemTypeValue, dims: readonly (number | null)[]): OnnxTypes.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (d === null ? { dimParam: 'N' } : { dimValue: d })) },
      },
    },
  };
}

export interface GraphParts {
  readonly name: string;
  readonly nodes: readonly OnnxTypes.INodeProto[];
  readonly inputs: readonly OnnxTypes.IValueInfoProto[];
  readonly outputs: readonly OnnxTypes.IValueInfoProto[];
  readonly initializers: readonly OnnxTypes.ITensorProto[];
  readonly usesMl?: boolean;
  readonly docString?: string;
}

/** Encodes a whole model; same parts, same bytes (protobuf field order is fixed, no timestamps). */
export function encodeModel(parts: GraphParts): Uint8Array {
  const model = onnx.ModelProto.create({
    irVersion: IR_VERSION,
    producerName: 'modelfleet',
    producerVersion: '1',
    domain: 'io.modelfleet.examples',
    modelVersion: 1,
    docString: parts.docString ?? '',
    opsetImport: [
      { domain: '', version: ONNX_OPSET },
      ...(parts.usesMl ? [{ domain: 'ai.onnx.ml', version: ONNX_ML_OPSET }] : []),
    ],
    graph: {
      name: parts.name,
      node: [...parts.nodes],
      input: [...parts.inputs],
      output: [...parts.outputs],
      initializer: [...parts.initializers],
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

function utf8(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}
