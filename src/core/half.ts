/**
 * Bit-exact fp16 (IEEE binary16) and bf16 codecs. Node 20 has no Float16Array; these work on raw uint16
 * bits. fp32 → fp16 rounds to nearest, ties to even, handles subnormals, overflows to ±Inf past 65504
 * (65520 and up round to Inf), and keeps NaN a NaN (payload's top mantissa bits kept, quiet bit set).
 * fp32 → bf16 rounds to nearest even on the upper 16 bits; NaN stays NaN.
 * Tested exhaustively (all 65 536 half patterns) against an independent codec in test/half.test.ts.
 */
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** fp16 bits → fp32 value, via a 64 K table (exact: every half is representable in fp32). */
const HALF_TO_F32 = (() => {
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const s = h & 0x8000 ? -1 : 1;
    const e = (h >> 10) & 0x1f;
    const m = h & 0x3ff;
    if (e === 0) t[h] = s * m * 2 ** -24;
    else if (e === 31) {
      if (m === 0) t[h] = s * Infinity;
      else {
        u32[0] = ((h & 0x8000) << 16) | 0x7f800000 | (m << 13);
        t[h] = f32[0];
      }
    } else t[h] = s * (1 + m / 1024) * 2 ** (e - 15);
  }
  return t;
})();

/** The value of fp16 bits (exact). */
export function f16BitsToF32(h: number): number {
  return HALF_TO_F32[h & 0xffff];
}

/** fp32 (the value rounded to fp32 first) → fp16 bits. */
export function f32ToF16Bits(x: number): number {
  f32[0] = x;
  const b = u32[0];
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  let mant = b & 0x7fffff;
  if (exp === 0xff) {
    if (mant === 0) return sign | 0x7c00;
    const m = mant >>> 13;
    return sign | 0x7c00 | 0x200 | m; // quiet NaN, payload's top bits kept
  }
  const e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    // Subnormal half (or zero): shift the full significand, round to nearest even.
    if (e < -10) return sign; // below half the smallest subnormal (incl. exactly half → even = 0)
    mant |= 0x800000;
    const shift = 14 - e; // 14..24
    const half = 1 << (shift - 1);
    let q = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    if (rem > half || (rem === half && q & 1)) q++;
    return sign | q;
  }
  let q = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && q & 1)) q++; // may carry into the exponent: correct, incl. → Inf
  return sign | q;
}

/** Rounds a number to the nearest fp16 value (as a JS number). */
export function roundF16(x: number): number {
  return HALF_TO_F32[f32ToF16Bits(x)];
}

/** The value of bf16 bits (exact). */
export function bf16BitsToF32(h: number): number {
  u32[0] = (h & 0xffff) << 16;
  return f32[0];
}
/** A number rounded to bf16 (round to nearest even, NaN kept), as bits. */
export function f32ToBf16Bits(x: number): number {
  f32[0] = x;
  const b = u32[0];
  if ((b & 0x7f800000) === 0x7f800000 && b & 0x7fffff) return ((b >>> 16) | 0x40) & 0xffff; // NaN stays NaN (quiet)
  return ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) & 0xffff;
}
/** A number rounded to the nearest bf16 value. */
export function roundBf16(x: number): number {
  return bf16BitsToF32(f32ToBf16Bits(x));
}

/**
 * Whole-array fp32 → fp16, bit-identical to f32ToF16Bits but working on the fp32 bit patterns directly
 * (integer-only rounding on the normal path, one float add for subnormals): ~4× faster on large weights.
 */
export function f32ArrayToF16(src: Float32Array | ArrayLike<number>, dst = new Uint16Array(src.length)): Uint16Array {
  if (!(src instanceof Float32Array)) {
    for (let i = 0; i < src.length; i++) dst[i] = f32ToF16Bits(src[i]);
    return dst;
  }
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  const n = src.length;
  for (let i = 0; i < n; i++) {
    const b = bits[i];
    const sign = (b >>> 16) & 0x8000;
    const a = b & 0x7fffffff;
    let o: number;
    if (a >= 0x47800000) {
      // ≥ 65536 (always Inf after rounding), Inf or NaN (quiet, payload's top bits kept)
      o = a > 0x7f800000 ? 0x7e00 | ((a >>> 13) & 0x3ff) : 0x7c00;
    } else if (a < 0x38800000) {
      // Below the smallest normal half: the float add aligns the mantissa and rounds to nearest even.
      f32[0] = 0;
      u32[0] = a;
      const v = f32[0] + 0.5; // 0.5 = 2^-1: its ulp is 2^-24, the subnormal half step
      f32[0] = v;
      o = u32[0] - 0x3f000000;
    } else {
      // Normal: rebias the exponent, round to nearest even on the 13 dropped bits (carry may reach Inf).
      // (a - (112 << 23) + 0xfff + odd) stays within int32, so the JIT keeps it in integer registers.
      o = (a - 0x37fff001 + ((a >>> 13) & 1)) >>> 13;
    }
    dst[i] = o | sign;
  }
  return dst;
}
/** fp16 bits to f32 values, elementwise (exact). */
export function f16ArrayToF32(src: Uint16Array, dst = new Float32Array(src.length)): Float32Array {
  for (let i = 0; i < src.length; i++) dst[i] = HALF_TO_F32[src[i]];
  return dst;
}
/** Numbers to bf16 bits, elementwise (round to nearest even). */
export function f32ArrayToBf16(src: Float32Array | ArrayLike<number>, dst = new Uint16Array(src.length)): Uint16Array {
  for (let i = 0; i < src.length; i++) dst[i] = f32ToBf16Bits(src[i]);
  return dst;
}
/** bf16 bits to f32 values, elementwise (exact). */
export function bf16ArrayToF32(src: Uint16Array, dst = new Float32Array(src.length)): Float32Array {
  const o = new Uint32Array(dst.buffer, dst.byteOffset, dst.length);
  for (let i = 0; i < src.length; i++) o[i] = src[i] << 16;
  return dst;
}

/** The largest finite fp16 value. */
export const F16_MAX = 65504;
/** The smallest normal fp16 value. */
export const F16_MIN_NORMAL = 2 ** -14;
/** The smallest positive (subnormal) fp16 value. */
export const F16_MIN_SUBNORMAL = 2 ** -24;
/** The largest finite bf16 value. */
export const BF16_MAX = 3.3895313892515355e38;
