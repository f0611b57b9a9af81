/**
 * protobufjs reflection over our onnx.proto descriptor. protobufjs 8 keeps fields the schema does not know
 * (`$unknowns`, raw wire bytes) and re-emits them after the known fields, so a field a future ONNX adds
 * survives decode → encode.
 */
import protobuf from 'protobufjs';
import { onnxDescriptor } from './schema.js';

const { Reader, Writer, util } = protobuf;
/** A 64-bit integer as protobufjs decodes int64 fields beyond 2^31 (its own type, so ours stay self-contained). */
export interface Long {
  low: number;
  high: number;
  unsigned: boolean;
  toString(radix?: number): string;
}

/** protobufjs keeps fields the schema does not know here (raw bytes) and writes them back on encode. */
export const UNKNOWN = '$unknowns';

// The messages of onnx.proto (ONNX 1.18+) as plain interfaces: the fields this project reads or writes, named
// as protobufjs names them (camelCase). Written here rather than imported from onnx-proto, whose ONNX 1.10
// declarations lack newer fields and reference a global `Long` that breaks consumers' type checks;
// test/proto-types.test.ts checks them against the wire schema and decodes our output with onnx-proto.
export interface StringStringEntry {
  key?: string | null;
  value?: string | null;
}
export interface TensorProto {
  dims?: (number | Long)[] | null;
  dataType?: number | null;
  segment?: { begin?: number | Long | null; end?: number | Long | null } | null;
  floatData?: number[] | null;
  int32Data?: number[] | null;
  stringData?: Uint8Array[] | null;
  int64Data?: (number | Long)[] | null;
  name?: string | null;
  docString?: string | null;
  rawData?: Uint8Array | null;
  externalData?: StringStringEntry[] | null;
  /** 0 DEFAULT, 1 EXTERNAL. */
  dataLocation?: number | null;
  doubleData?: number[] | null;
  uint64Data?: (number | Long)[] | null;
  metadataProps?: StringStringEntry[] | null;
}
export interface TensorShapeProto {
  dim?: { dimValue?: number | Long | null; dimParam?: string | null; denotation?: string | null }[] | null;
}
export interface TypeProto {
  tensorType?: { elemType?: number | null; shape?: TensorShapeProto | null } | null;
  sequenceType?: { elemType?: TypeProto | null } | null;
  mapType?: { keyType?: number | null; valueType?: TypeProto | null } | null;
  optionalType?: { elemType?: TypeProto | null } | null;
  sparseTensorType?: { elemType?: number | null; shape?: TensorShapeProto | null } | null;
  denotation?: string | null;
  [k: string]: unknown;
}
export interface ValueInfoProto {
  name?: string | null;
  type?: TypeProto | null;
  docString?: string | null;
  metadataProps?: StringStringEntry[] | null;
}
export interface AttributeProto {
  name?: string | null;
  refAttrName?: string | null;
  docString?: string | null;
  /** AttributeType: 1 FLOAT, 2 INT, 3 STRING, 4 TENSOR, 5 GRAPH, 6 FLOATS, 7 INTS, 8 STRINGS, 9 TENSORS, 10 GRAPHS, … */
  type?: number | null;
  f?: number | null;
  i?: number | Long | null;
  s?: Uint8Array | null;
  t?: TensorProto | null;
  g?: GraphProto | null;
  sparseTensor?: unknown;
  tp?: TypeProto | null;
  floats?: number[] | null;
  ints?: (number | Long)[] | null;
  strings?: Uint8Array[] | null;
  tensors?: TensorProto[] | null;
  graphs?: GraphProto[] | null;
  sparseTensors?: unknown[] | null;
  typeProtos?: TypeProto[] | null;
}
export interface NodeProto {
  input?: string[] | null;
  output?: string[] | null;
  name?: string | null;
  opType?: string | null;
  domain?: string | null;
  attribute?: AttributeProto[] | null;
  docString?: string | null;
  overload?: string | null;
  metadataProps?: StringStringEntry[] | null;
  deviceConfigurations?: unknown[] | null;
}
export interface GraphProto {
  node?: NodeProto[] | null;
  name?: string | null;
  initializer?: TensorProto[] | null;
  sparseInitializer?: unknown[] | null;
  docString?: string | null;
  input?: ValueInfoProto[] | null;
  output?: ValueInfoProto[] | null;
  valueInfo?: ValueInfoProto[] | null;
  quantizationAnnotation?: unknown[] | null;
  metadataProps?: StringStringEntry[] | null;
}
export interface OperatorSetId {
  domain?: string | null;
  version?: number | Long | null;
}
export interface FunctionProto {
  name?: string | null;
  domain?: string | null;
  overload?: string | null;
  input?: string[] | null;
  output?: string[] | null;
  attribute?: string[] | null;
  attributeProto?: AttributeProto[] | null;
  node?: NodeProto[] | null;
  docString?: string | null;
  opsetImport?: OperatorSetId[] | null;
  valueInfo?: ValueInfoProto[] | null;
  metadataProps?: StringStringEntry[] | null;
}
export interface ModelProto {
  irVersion?: number | Long | null;
  opsetImport?: OperatorSetId[] | null;
  producerName?: string | null;
  producerVersion?: string | null;
  domain?: string | null;
  modelVersion?: number | Long | null;
  docString?: string | null;
  graph?: GraphProto | null;
  metadataProps?: StringStringEntry[] | null;
  trainingInfo?: unknown[] | null;
  functions?: FunctionProto[] | null;
  configuration?: unknown[] | null;
}

// Keep unknown fields (protobufjs discards them by default).
Reader.discardUnknown = false;

export const root = protobuf.Root.fromJSON(onnxDescriptor as protobuf.INamespace);
root.resolveAll();

export const T = {
  Model: root.lookupType('onnx.ModelProto'),
  Graph: root.lookupType('onnx.GraphProto'),
  Node: root.lookupType('onnx.NodeProto'),
  Tensor: root.lookupType('onnx.TensorProto'),
  Attribute: root.lookupType('onnx.AttributeProto'),
  ValueInfo: root.lookupType('onnx.ValueInfoProto'),
  Type: root.lookupType('onnx.TypeProto'),
  OperatorSetId: root.lookupType('onnx.OperatorSetIdProto'),
  StringStringEntry: root.lookupType('onnx.StringStringEntryProto'),
  Sequence: root.lookupType('onnx.SequenceProto'),
  Optional: root.lookupType('onnx.OptionalProto'),
  Map: root.lookupType('onnx.MapProto'),
};

export function decodeModelProto(bytes: Uint8Array): ModelProto {
  return T.Model.decode(bytes) as unknown as ModelProto;
}
export function encodeModelProto(model: ModelProto): Uint8Array {
  return T.Model.encode(model as never).finish();
}
export function decodeTensorProto(bytes: Uint8Array): TensorProto {
  return T.Tensor.decode(bytes) as unknown as TensorProto;
}
export function encodeTensorProto(t: TensorProto): Uint8Array {
  return T.Tensor.encode(t as never).finish();
}
/** Creates a message object of the given type (own properties only; encodes exactly what is set). */
export function make<M>(type: protobuf.Type, props: M): M {
  return type.create(props as never) as unknown as M;
}

/** int64 field value (number or Long) as a JS number; throws when it is not exactly representable. */
export function toNum(v: number | Long | null | undefined): number {
  if (v == null) return 0;
  if (typeof v === 'number') return v;
  const n = util.LongBits.from(v).toNumber(v.unsigned);
  if (!Number.isSafeInteger(n)) throw new RangeError(`int64 value ${v.toString()} is not a safe integer`);
  return n;
}
export function toBig(v: number | Long | null | undefined): bigint {
  if (v == null) return 0n;
  if (typeof v === 'number') return BigInt(v);
  return BigInt(v.toString());
}
export { Writer, Reader, util };
