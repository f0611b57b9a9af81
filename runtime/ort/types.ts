/** ONNX element types as onnxruntime's JS tensors name them, both ways. */
import { DataType } from '../../src/core/dtype.js';

export const ORT_TYPE: Record<number, string> = {
  [DataType.FLOAT]: 'float32',
  [DataType.FLOAT16]: 'float16',
  [DataType.DOUBLE]: 'float64',
  [DataType.INT8]: 'int8',
  [DataType.UINT8]: 'uint8',
  [DataType.INT16]: 'int16',
  [DataType.UINT16]: 'uint16',
  [DataType.INT32]: 'int32',
  [DataType.UINT32]: 'uint32',
  [DataType.INT64]: 'int64',
  [DataType.UINT64]: 'uint64',
  [DataType.BOOL]: 'bool',
  [DataType.STRING]: 'string',
};
export const FROM_ORT: Record<string, number> = Object.fromEntries(
  Object.entries(ORT_TYPE).map(([k, v]) => [v, Number(k)]),
);
