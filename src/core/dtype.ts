/** ONNX TensorProto.DataType codes and what the IR needs to know about each. */
export const DataType = {
  UNDEFINED: 0,
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  UINT16: 4,
  INT16: 5,
  INT32: 6,
  INT64: 7,
  STRING: 8,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
  UINT32: 12,
  UINT64: 13,
  COMPLEX64: 14,
  COMPLEX128: 15,
  BFLOAT16: 16,
  FLOAT8E4M3FN: 17,
  FLOAT8E4M3FNUZ: 18,
  FLOAT8E5M2: 19,
  FLOAT8E5M2FNUZ: 20,
  UINT4: 21,
  INT4: 22,
  FLOAT4E2M1: 23,
  FLOAT8E8M0: 24,
} as const;
export type DataTypeCode = number;

const NAMES: Record<number, string> = Object.fromEntries(Object.entries(DataType).map(([k, v]) => [v, k]));
/** The ONNX name of a DataType code ('FLOAT16'), or DATATYPE_<n> for unknown codes. */
export function dtypeName(t: number): string {
  return NAMES[t] ?? `DATATYPE_${t}`;
}
export function dtypeFromName(name: string): number | undefined {
  const v = (DataType as Record<string, number>)[name.toUpperCase()];
  return v;
}

/** Storage size in bits of one element (4 for the packed 4-bit types); 0 for STRING/UNDEFINED. */
export function dtypeBits(t: number): number {
  switch (t) {
    case DataType.FLOAT:
    case DataType.INT32:
    case DataType.UINT32:
      return 32;
    case DataType.DOUBLE:
    case DataType.INT64:
    case DataType.UINT64:
    case DataType.COMPLEX64:
      return 64;
    case DataType.COMPLEX128:
      return 128;
    case DataType.FLOAT16:
    case DataType.BFLOAT16:
    case DataType.INT16:
    case DataType.UINT16:
      return 16;
    case DataType.UINT8:
    case DataType.INT8:
    case DataType.BOOL:
    case DataType.FLOAT8E4M3FN:
    case DataType.FLOAT8E4M3FNUZ:
    case DataType.FLOAT8E5M2:
    case DataType.FLOAT8E5M2FNUZ:
    case DataType.FLOAT8E8M0:
      return 8;
    case DataType.UINT4:
    case DataType.INT4:
    case DataType.FLOAT4E2M1:
      return 4;
    default:
      return 0;
  }
}
/** Bytes for n elements in raw_data (4-bit types pack two per byte, rounded up). */
export function rawByteLength(t: number, n: number): number {
  return Math.ceil((dtypeBits(t) * n) / 8);
}
/** The float types the mixed-precision pass converts between. */
export const isConvertibleFloat = (t: number): boolean =>
  t === DataType.FLOAT || t === DataType.FLOAT16 || t === DataType.BFLOAT16;

export type TypedArray =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array;

/** Typed array class used to hold elements in memory (fp16/bf16 as their raw Uint16 bits). */
export function typedArrayCtor(
  t: number,
):
  | { new (n: number): TypedArray; new (b: ArrayBuffer, o: number, n: number): TypedArray; BYTES_PER_ELEMENT: number }
  | undefined {
  switch (t) {
    case DataType.FLOAT:
      return Float32Array;
    case DataType.DOUBLE:
      return Float64Array;
    case DataType.INT8:
      return Int8Array;
    case DataType.UINT8:
    case DataType.BOOL:
      return Uint8Array;
    case DataType.INT16:
      return Int16Array;
    case DataType.UINT16:
    case DataType.FLOAT16:
    case DataType.BFLOAT16:
      return Uint16Array;
    case DataType.INT32:
      return Int32Array;
    case DataType.UINT32:
      return Uint32Array;
    case DataType.INT64:
      return BigInt64Array;
    case DataType.UINT64:
      return BigUint64Array;
    case DataType.FLOAT8E4M3FN:
    case DataType.FLOAT8E4M3FNUZ:
    case DataType.FLOAT8E5M2:
    case DataType.FLOAT8E5M2FNUZ:
    case DataType.FLOAT8E8M0:
      return Uint8Array;
    default:
      return undefined;
  }
}
