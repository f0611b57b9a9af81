/**
 * protobufjs reflection over our onnx.proto descriptor. protobufjs 8 keeps fields the schema does not know
 * (`$unknowns`, raw wire bytes) and re-emits them after the known fields, so a field a future ONNX adds
 * survives decode → encode.
 */
import protobuf from 'protobufjs';
import type { onnx as OnnxNS } from 'onnx-proto';
import { onnxDescriptor } from './schema.js';

const { Reader, Writer, util } = protobuf;
export type Long = protobuf.Long;

/** protobufjs keeps fields the schema does not know here (raw bytes) and writes them back on encode. */
export const UNKNOWN = '$unknowns';

// onnx-proto's interfaces (ONNX 1.10) extended with what current ONNX added.
export interface StringStringEntry { key?: string | null; value?: string | null }
export interface TensorProto extends Omit<OnnxNS.ITensorProto, 'dims' | 'int64Data' | 'uint64Data'> {
  dims?: (number | Long)[] | null;
  int64Data?: (number | Long)[] | null;
  uint64Data?: (number | Long)[] | null;
  metadataProps?: StringStringEntry[] | null;
}
export interface TypeProto extends OnnxNS.ITypeProto { [k: string]: unknown }
export interface ValueInfoProto { name?: string | null; type?: TypeProto | null; docString?: string | null; metadataProps?: StringStringEntry[] | null }
export interface AttributeProto extends Omit<OnnxNS.IAttributeProto, 't' | 'g' | 'tensors' | 'graphs' | 'i' | 'ints'> {
  i?: number | Long | null;
  ints?: (number | Long)[] | null;
  t?: TensorProto | null;
  g?: GraphProto | null;
  tensors?: TensorProto[] | null;
  graphs?: GraphProto[] | null;
  tp?: TypeProto | null;
  typeProtos?: TypeProto[] | null;
}
export interface NodeProto extends Omit<OnnxNS.INodeProto, 'attribute'> {
  attribute?: AttributeProto[] | null;
  overload?: string | null;
  metadataProps?: StringStringEntry[] | null;
  deviceConfigurations?: unknown[] | null;
}
export interface GraphProto extends Omit<OnnxNS.IGraphProto, 'node' | 'initializer' | 'input' | 'output' | 'valueInfo'> {
  node?: NodeProto[] | null;
  initializer?: TensorProto[] | null;
  input?: ValueInfoProto[] | null;
  output?: ValueInfoProto[] | null;
  valueInfo?: ValueInfoProto[] | null;
  metadataProps?: StringStringEntry[] | null;
}
export interface OperatorSetId { domain?: string | null; version?: number | Long | null }
export interface FunctionProto {
  name?: string | null; domain?: string | null; overload?: string | null;
  input?: string[] | null; output?: string[] | null; attribute?: string[] | null;
  attributeProto?: AttributeProto[] | null; node?: NodeProto[] | null; docString?: string | null;
  opsetImport?: OperatorSetId[] | null; valueInfo?: ValueInfoProto[] | null; metadataProps?: StringStringEntry[] | null;
}
export interface ModelProto {
  irVersion?: number | Long | null; opsetImport?: OperatorSetId[] | null; producerName?: string | null;
  producerVersion?: string | null; domain?: string | null; modelVersion?: number | Long | null;
  docString?: string | null; graph?: GraphProto | null; metadataProps?: StringStringEntry[] | null;
  trainingInfo?: unknown[] | null; functions?: FunctionProto[] | null; configuration?: unknown[] | null;
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
