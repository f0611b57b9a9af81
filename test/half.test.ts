import { describe, it, expect } from 'vitest';
import { getFloat16, setFloat16 } from '@petamoriken/float16';
import { f16BitsToF32, f32ToF16Bits, f32ToBf16Bits, bf16BitsToF32, roundF16, f32ArrayToF16 } from '../src/core/half.js';

// Oracle: @petamoriken/float16, an independent, widely used implementation (not our code).
const dv = new DataView(new ArrayBuffer(4));
const refDecode = (h: number) => {
  dv.setUint16(0, h, true);
  return getFloat16(dv, 0, true);
};
const refEncode = (x: number) => {
  setFloat16(dv, 0, x, true);
  return dv.getUint16(0, true);
};
const f = new Float32Array(1),
  u = new Uint32Array(f.buffer);
const bitsOf = (x: number) => {
  f[0] = x;
  return u[0];
};

describe('fp16 codec', () => {
  it('decodes all 65 536 half patterns exactly', () => {
    let bad = 0;
    for (let h = 0; h < 65536; h++) {
      const a = f16BitsToF32(h),
        b = refDecode(h);
      if (!(Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b)))) bad++;
    }
    expect(bad).toBe(0);
  });
  it('every half pattern re-encodes to itself (NaNs stay NaN)', () => {
    let bad = 0;
    for (let h = 0; h < 65536; h++) {
      const e = f32ToF16Bits(f16BitsToF32(h));
      const isNan = (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;
      if (isNan ? !((e & 0x7c00) === 0x7c00 && (e & 0x3ff) !== 0 && (e & 0x8000) === (h & 0x8000)) : e !== h) bad++;
    }
    expect(bad).toBe(0);
  });
  it('rounds 1M random fp32 patterns like the oracle', () => {
    let seed = 12345,
      bad = 0;
    for (let i = 0; i < 1_000_000; i++) {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      u[0] = seed;
      const x = f[0];
      if (Number.isNaN(x)) continue;
      if (f32ToF16Bits(x) !== refEncode(x)) bad++;
    }
    expect(bad).toBe(0);
  });
  it('handles the edge cases of fp16-facts.md', () => {
    expect(f32ToF16Bits(65504)).toBe(0x7bff);
    expect(f32ToF16Bits(65519.99)).toBe(0x7bff); // below the midpoint to 65536
    expect(f32ToF16Bits(65520)).toBe(0x7c00); // tie between 65504 and 2^16 → even → Inf
    expect(f32ToF16Bits(-1e6)).toBe(0xfc00);
    expect(f32ToF16Bits(2 ** -24)).toBe(0x0001); // smallest subnormal
    expect(f32ToF16Bits(2 ** -25)).toBe(0x0000); // exactly half of it: tie → even (0)
    expect(f32ToF16Bits(2 ** -25 * 1.0001)).toBe(0x0001);
    expect(f32ToF16Bits(3 * 2 ** -25)).toBe(0x0002); // 1.5 ulp: tie → even (2)
    expect(f32ToF16Bits(1 + 2 ** -11)).toBe(0x3c00); // tie → even (1.0)
    expect(f32ToF16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie → even (1+2^-9)
    expect(f32ToF16Bits(2 ** -14 - 2 ** -25)).toBe(0x0400); // rounds up into the smallest normal
    expect(f32ToF16Bits(-0)).toBe(0x8000);
    expect(f32ToF16Bits(Infinity)).toBe(0x7c00);
    const nan = f32ToF16Bits(NaN);
    expect(nan & 0x7c00).toBe(0x7c00);
    expect(nan & 0x3ff).not.toBe(0);
    // NaN payload: top mantissa bits survive.
    u[0] = 0x7fa00000; // signalling-ish NaN with payload bit 21
    expect(f32ToF16Bits(f[0]) & 0x3ff).toBe(0x200 | ((0x7fa00000 & 0x7fffff) >>> 13));
    expect(roundF16(0.1)).toBeCloseTo(0.0999755859375, 12);
  });
});

describe('fp16 array codec', () => {
  it('is bit-identical to the scalar codec on 1M random patterns and around every half value', () => {
    const n = 1 << 20;
    const src = new Float32Array(n);
    const bits = new Uint32Array(src.buffer);
    let seed = 99;
    for (let i = 0; i < n; i++) {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      bits[i] = seed;
    }
    // Every half value's fp32 neighbourhood: exact, just below/above the rounding midpoints.
    for (let h = 0; h < 0x7c00; h++) {
      const mid = ((h << 13) + 0x38000000 + 0x1000) >>> 0;
      bits[4 * h] = mid;
      bits[4 * h + 1] = mid - 1;
      bits[4 * h + 2] = mid + 1;
      bits[4 * h + 3] = (mid | 0x80000000) >>> 0;
    }
    const fast = f32ArrayToF16(src);
    let bad = 0;
    for (let i = 0; i < n; i++) if (fast[i] !== f32ToF16Bits(src[i])) bad++;
    expect(bad).toBe(0);
  });
});

describe('bf16 codec', () => {
  it('round-trips all 65 536 bf16 patterns', () => {
    let bad = 0;
    for (let h = 0; h < 65536; h++) {
      const x = bf16BitsToF32(h);
      const e = f32ToBf16Bits(x);
      if (Number.isNaN(x) ? !Number.isNaN(bf16BitsToF32(e)) : e !== h) bad++;
    }
    expect(bad).toBe(0);
  });
  it('rounds to nearest even on the upper 16 bits', () => {
    u[0] = 0x3f808000; // exactly half way between 0x3f80 and 0x3f81 → even 0x3f80
    expect(f32ToBf16Bits(f[0])).toBe(0x3f80);
    u[0] = 0x3f818000; // half way between 0x3f81 and 0x3f82 → even 0x3f82
    expect(f32ToBf16Bits(f[0])).toBe(0x3f82);
    u[0] = 0x3f808001;
    expect(f32ToBf16Bits(f[0])).toBe(0x3f81);
    expect(Number.isNaN(bf16BitsToF32(f32ToBf16Bits(NaN)))).toBe(true);
    u[0] = 0x7f800001; // NaN with only the lowest payload bit: must not become Inf
    expect(Number.isNaN(bf16BitsToF32(f32ToBf16Bits(f[0])))).toBe(true);
    expect(bf16BitsToF32(f32ToBf16Bits(3.4e38))).toBe(Infinity);
    expect(bitsOf(bf16BitsToF32(0x3f80))).toBe(0x3f800000);
  });
});

describe("wasm fp16 conversion (the CPU executor's fast path)", () => {
  it('decodes all 65 536 half patterns to the same f32 bits as the JS codec', async () => {
    const { f16ToF32 } = await import('../runtime/cpu/wasm/index.js');
    const all = Uint16Array.from({ length: 65536 }, (_, i) => i);
    const got = new Uint32Array(f16ToF32(all).buffer);
    const want = new Uint32Array(Float32Array.from(all, (h) => f16BitsToF32(h)).buffer);
    let bad = 0;
    for (let i = 0; i < 65536; i++) if (got[i] !== want[i]) bad++;
    expect(bad).toBe(0);
  });
  it('encodes edge cases and 1M random f32 bit patterns bit-identically to f32ArrayToF16', async () => {
    const { f32ToF16 } = await import('../runtime/cpu/wasm/index.js');
    const edges = [
      0,
      -0,
      65504,
      65519.99,
      65520,
      -65520,
      1e-8,
      2 ** -24,
      2 ** -25,
      3 * 2 ** -26,
      2 ** -14,
      2 ** -14 * (1 - 2 ** -11),
      Infinity,
      -Infinity,
      NaN,
      1 + 2 ** -11,
      1 + 3 * 2 ** -11,
    ];
    const x = new Float32Array(1 << 20);
    const bits = new Uint32Array(x.buffer);
    let s = 12345;
    for (let i = 0; i < bits.length; i++) {
      s = (s * 1103515245 + 12345) >>> 0;
      bits[i] = (s ^ (s << 7) ^ Math.imul(i, 2654435761)) >>> 0;
    }
    x.set(edges);
    const got = f32ToF16(x),
      want = f32ArrayToF16(x);
    let bad = 0;
    for (let i = 0; i < x.length; i++) if (got[i] !== want[i]) bad++;
    expect(bad).toBe(0);
    expect(got.length).toBe(x.length);
  });
});
