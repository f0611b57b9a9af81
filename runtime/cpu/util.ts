/**
 * Shared helpers of the CPU kernels: numeric views of any tensor, output encoding with the exact rounding
 * of the output type, strides and broadcasting. JS-loop kernels compute in JS numbers (float64) and round
 * once when they store (the WebAssembly ones compute in f32, see ../executor.ts): to fp32 for FLOAT, to fp16/bf16 (round to nearest even, overflow → ±Inf) for
 * FLOAT16/BFLOAT16 — "compute wide, round at the output", as fp16 kernels with fp32 accumulation do.
 */
import { DataType, typedArrayCtor, type TypedArray } from '../../src/core/dtype.js';
import { AmpError } from '../../src/core/errors.js';
import { bf16ArrayToF32, f16ArrayToF32, f32ArrayToBf16, f32ArrayToF16 } from '../../src/core/half.js';
import { size, type RTensor } from '../../src/ir/rtensor.js';
import { checkAlloc } from './limits.js';
import { takeBuffer } from './pool.js';
import { f16ToF32, f32ToF16 } from './wasm/index.js';

/** Arrays this long convert fp16 ↔ f32 in wasm (bit-identical, ~10× faster); shorter ones in JS. */
const WASM_CONVERT = 4096;

export { size };
// Shape arithmetic and small-tensor reads shared with the WebGPU backend (runtime/ops/), re-exported for the kernels here.
export { strides, broadcastShape, broadcastIndex, normAxis, samePads } from '../ops/broadcast.js';
export { ints } from '../ops/values.js';
export type Num =
  Float64Array | Float32Array | Int32Array | Uint8Array | Int8Array | Int16Array | Uint16Array | Uint32Array;

/** Values of a numeric tensor as JS numbers (fp16/bf16 decoded, int64 converted). Zero-copy where possible. */
export function num(t: RTensor): ArrayLike<number> {
  switch (t.dtype) {
    case DataType.FLOAT16:
      return t.data.length >= WASM_CONVERT
        ? f16ToF32(t.data as Uint16Array)
        : f16ArrayToF32(t.data as Uint16Array, takeBuffer(Float32Array, t.data.length));
    case DataType.BFLOAT16:
      return bf16ArrayToF32(t.data as Uint16Array);
    case DataType.INT64:
    case DataType.UINT64: {
      const d = t.data as BigInt64Array,
        o = new Float64Array(d.length);
      for (let i = 0; i < d.length; i++) o[i] = Number(d[i]);
      return o;
    }
    default:
      return t.data as ArrayLike<number>;
  }
}
/** Values as a Float64Array (one copy): hot loops then see one array type and stay monomorphic. */
export function f64(t: RTensor): Float64Array {
  const v = num(t);
  return v instanceof Float64Array ? v : new Float64Array(v); // the typed-array constructor copies directly (.from iterates)
}
export const isFloat = (dt: number) =>
  dt === DataType.FLOAT || dt === DataType.FLOAT16 || dt === DataType.BFLOAT16 || dt === DataType.DOUBLE;

/** Encodes computed values as a tensor of `dtype` (the one rounding step of an op). */
export function make(dtype: number, dims: number[], values: ArrayLike<number>): RTensor {
  const n = size(dims);
  checkAlloc(n, 8);
  switch (dtype) {
    case DataType.FLOAT16: {
      const f = values instanceof Float32Array ? values : new Float32Array(values as ArrayLike<number>);
      return { dtype, dims, data: f.length >= WASM_CONVERT ? f32ToF16(f) : f32ArrayToF16(f) };
    }
    case DataType.BFLOAT16:
      return {
        dtype,
        dims,
        data: f32ArrayToBf16(values instanceof Float32Array ? values : new Float32Array(values as ArrayLike<number>)),
      };
    case DataType.INT64: {
      const d = new BigInt64Array(n);
      for (let i = 0; i < n; i++) d[i] = BigInt(Math.trunc(values[i]));
      return { dtype, dims, data: d };
    }
    case DataType.UINT64: {
      const d = new BigUint64Array(n);
      for (let i = 0; i < n; i++) d[i] = BigInt(Math.trunc(values[i]));
      return { dtype, dims, data: d };
    }
    // NaN is true (nonzero), as the Cast spec and numpy say.
    case DataType.BOOL: {
      const d = new Uint8Array(n);
      for (let i = 0; i < n; i++) d[i] = values[i] || Number.isNaN(values[i]) ? 1 : 0;
      return { dtype, dims, data: d };
    }
    default: {
      const ctor = typedArrayCtor(dtype);
      if (!ctor) throw new AmpError(`element type ${dtype} is not supported by the CPU executor`);
      if (values instanceof ctor && values.length === n) return { dtype, dims, data: values as TypedArray };
      if (ArrayBuffer.isView(values) && dtype === DataType.FLOAT)
        return { dtype, dims, data: new Float32Array(values as Float64Array) };
      const d = new ctor(n) as Num;
      for (let i = 0; i < n; i++) d[i] = values[i];
      return { dtype, dims, data: d as TypedArray };
    }
  }
}

/**
 * Output buffer for an op that writes each element once: Float32Array for float outputs (storing a JS number
 * rounds it to f32, exactly what make() would do next; fp16/bf16 are then rounded from it as before), else
 * Float64Array. Ops that accumulate into their output keep a Float64Array.
 */
export const outBuf = (dtype: number, n: number): Float32Array | Float64Array =>
  dtype === DataType.FLOAT || dtype === DataType.FLOAT16 || dtype === DataType.BFLOAT16
    ? takeBuffer(Float32Array, n)
    : (checkAlloc(n, 8), new Float64Array(n));

/** Generic element copy (keeps dtype; works for every storage incl. strings and bigint). */
export function emptyLike(dtype: number, n: number): TypedArray | string[] {
  const ctor = typedArrayCtor(dtype);
  checkAlloc(n, ctor?.BYTES_PER_ELEMENT ?? 16);
  if (dtype === DataType.STRING) return new Array<string>(n).fill('');
  if (!ctor) throw new AmpError(`element type ${dtype} is not supported by the CPU executor`);
  return new ctor(n);
}
