/** Small attribute-like tensors (axes, shapes, scales) as JS numbers, for planning; the kernels read data their own way. */
import { DataType } from '../../src/core/dtype.js';
import { bf16ArrayToF32, f16ArrayToF32 } from '../../src/core/half.js';
import type { RTensor } from '../../src/ir/rtensor.js';

/** An integer tensor's values as numbers (int64 through Number); none for an absent input. */
export function ints(t: RTensor | undefined): number[] {
  if (!t) return [];
  return Array.from(t.data as ArrayLike<number | bigint>, Number);
}

/** A float tensor's values as numbers (fp16/bf16 decoded). */
export function floats(t: RTensor): number[] {
  if (t.dtype === DataType.FLOAT16) return Array.from(f16ArrayToF32(t.data as Uint16Array));
  if (t.dtype === DataType.BFLOAT16) return Array.from(bf16ArrayToF32(t.data as Uint16Array));
  return Array.from(t.data as ArrayLike<number | bigint>, Number);
}
