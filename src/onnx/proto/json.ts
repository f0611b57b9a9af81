/**
 * The JSON form of a model: protobuf's canonical JSON mapping of ModelProto — what Python's
 * `google.protobuf.json_format.MessageToJson(onnx_model)` writes and `Parse` reads: camelCase field names,
 * int64 as decimal strings, bytes as base64, the enums AttributeProto.type and TensorProto.data_location by
 * name ('INTS', 'EXTERNAL'). It is the IR's text form: ONNX → JSON → ONNX is byte-identical (fields our schema
 * does not know are kept under "$unknowns" as base64 wire bytes), so a build pipeline can keep, diff or write
 * models as JSON and `amp-convert model.json` reads them. External data stays external (by reference).
 */
import protobuf from 'protobufjs';
import { T, UNKNOWN, type ModelProto } from './proto.js';
import { AmpError } from '../../core/errors.js';

const ATTRIBUTE_TYPES = [
  'UNDEFINED',
  'FLOAT',
  'INT',
  'STRING',
  'TENSOR',
  'GRAPH',
  'FLOATS',
  'INTS',
  'STRINGS',
  'TENSORS',
  'GRAPHS',
  'SPARSE_TENSOR',
  'SPARSE_TENSORS',
  'TYPE_PROTO',
  'TYPE_PROTOS',
];
const DATA_LOCATIONS = ['DEFAULT', 'EXTERNAL'];
/** Enum-typed fields (int32 in our descriptor) by message: field → value names. */
const ENUMS: Record<string, Record<string, string[]>> = {
  AttributeProto: { type: ATTRIBUTE_TYPES },
  TensorProto: { dataLocation: DATA_LOCATIONS },
};

/** Walks a plain object tree alongside the message types, mapping enum fields and unknown-field bytes. */
function walk(type: protobuf.Type, o: Record<string, unknown>, toJson: boolean, raw?: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(o)) {
    if (k === UNKNOWN) continue;
    const field = type.fields[k];
    if (!field) continue;
    const names = ENUMS[type.name]?.[k];
    if (names) {
      if (toJson && typeof v === 'number') o[k] = names[v] ?? v;
      else if (!toJson && typeof v === 'string') {
        const i = names.indexOf(v);
        if (i < 0) throw new AmpError(`${type.name}.${k}: unknown value '${v}'`);
        o[k] = i;
      }
      continue;
    }
    if (!field.resolvedType || !(field.resolvedType instanceof protobuf.Type) || v == null) continue;
    const sub = field.resolvedType;
    const rawV = raw?.[k];
    if (Array.isArray(v))
      v.forEach((x, i) =>
        walk(sub, x as Record<string, unknown>, toJson, (rawV as Record<string, unknown>[] | undefined)?.[i]),
      );
    else walk(sub, v as Record<string, unknown>, toJson, rawV as Record<string, unknown> | undefined);
  }
  // Fields our schema does not know: base64 wire bytes in JSON, Uint8Arrays on the message.
  if (toJson && raw?.[UNKNOWN])
    o[UNKNOWN] = (raw[UNKNOWN] as Uint8Array[]).map((b) => Buffer.from(b).toString('base64'));
}
function restoreUnknowns(type: protobuf.Type, json: Record<string, unknown>, msg: Record<string, unknown>): void {
  const unk = json[UNKNOWN];
  if (Array.isArray(unk))
    Object.defineProperty(msg, UNKNOWN, {
      value: unk.map((s) => new Uint8Array(Buffer.from(String(s), 'base64'))),
      enumerable: false,
      writable: true,
      configurable: true,
    });
  for (const [k, v] of Object.entries(json)) {
    const field = type.fields[k];
    if (!field?.resolvedType || !(field.resolvedType instanceof protobuf.Type) || v == null) continue;
    const sub = field.resolvedType,
      m = msg[k];
    if (Array.isArray(v))
      v.forEach((x, i) => restoreUnknowns(sub, x as Record<string, unknown>, (m as Record<string, unknown>[])[i]));
    else restoreUnknowns(sub, v as Record<string, unknown>, m as Record<string, unknown>);
  }
}

/** ModelProto → its JSON form (pretty-printed with `indent`). */
export function protoToJson(mp: ModelProto, indent = 2): string {
  // json: NaN and ±Infinity as the strings protobuf's JSON mapping uses (JSON itself has no such numbers).
  const obj = T.Model.toObject(mp as never, { longs: String, bytes: String, defaults: false, json: true }) as Record<
    string,
    unknown
  >;
  walk(T.Model, obj, true, mp as unknown as Record<string, unknown>);
  return JSON.stringify(obj, null, indent);
}
/** The JSON form → ModelProto; `file` names it in errors. */
export function protoFromJson(text: string, file?: string): ModelProto {
  let obj: Record<string, unknown>;
  try {
    obj = JSON.parse(text) as Record<string, unknown>;
  } catch (e) {
    throw new AmpError(`not valid JSON: ${(e as Error).message}`, file);
  }
  if (!obj || typeof obj !== 'object' || Array.isArray(obj))
    throw new AmpError('not a JSON ModelProto (expected an object with a "graph")', file);
  try {
    walk(T.Model, obj, false);
    const msg = T.Model.fromObject(obj) as unknown as Record<string, unknown>;
    restoreUnknowns(T.Model, obj, msg);
    return msg as ModelProto;
  } catch (e) {
    throw new AmpError(`not a JSON ModelProto: ${(e as Error).message}`, file);
  }
}
