/**
 * The runtime's tensor: ONNX element type, dims and a typed array in row-major order. FLOAT16 and
 * BFLOAT16 elements are stored as their raw uint16 bits (see src/core/half.ts), so an fp16 tensor holds
 * exactly what the hardware would; BOOL is a Uint8Array of 0/1; STRING is a string[].
 * Shared by the CPU reference, the WebGPU runtime, training and the diff report.
 */
import type { TypedArray } from '../core/dtype.js';
import { DataType, typedArrayCtor } from '../core/dtype.js';
import type { Tensor } from './tensor.js';
import { f16ArrayToF32, bf16ArrayToF32 } from '../core/half.js';

/** A runtime tensor: ONNX element type, dims, and its elements in a typed array (fp16/bf16 as uint16 bits). */
export interface RTensor {
  dtype: number;
  dims: number[];
  data: TypedArray | string[];
}

export const size = (dims: readonly number[]): number => dims.reduce((a, b) => a * b, 1);

export function makeTensor(dtype: number, dims: number[], data?: TypedArray | string[]): RTensor {
  if (data) return { dtype, dims, data };
  if (dtype === DataType.STRING) return { dtype, dims, data: new Array<string>(size(dims)).fill('') };
  const ctor = typedArrayCtor(dtype);
  if (!ctor) throw new Error(`unsupported element type ${dtype}`);
  return { dtype, dims, data: new ctor(size(dims)) };
}

/**
 * An IR tensor (initializer / Constant) as a runtime tensor: a view of the model's payload, not a copy
 * (weights are never held twice). Runtimes never write into their inputs; an executor that returns such a
 * tensor as a model output hands back a copy.
 */
export function fromIrTensor(t: Tensor): RTensor {
  if (t.dataType === DataType.STRING) {
    const dec = new TextDecoder();
    return {
      dtype: t.dataType,
      dims: [...t.dims],
      data: (t.strings ?? t.proto?.stringData ?? []).map((b) => dec.decode(b as Uint8Array)),
    };
  }
  const d = t.data();
  return { dtype: t.dataType, dims: [...t.dims], data: d };
}

/** Any float tensor's values as fp32 (decoding fp16/bf16 bits); numbers for the rest. */
export function toFloat32(t: RTensor): Float32Array {
  if (t.dtype === DataType.FLOAT16) return f16ArrayToF32(t.data as Uint16Array);
  if (t.dtype === DataType.BFLOAT16) return bf16ArrayToF32(t.data as Uint16Array);
  if (t.data instanceof Float32Array) return t.data;
  const d = t.data as ArrayLike<number | bigint>;
  const out = new Float32Array(d.length);
  for (let i = 0; i < d.length; i++) out[i] = Number(d[i]);
  return out;
}
