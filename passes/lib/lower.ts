/** fp32 payloads to fp16/bf16 bits, with the clamp and flush counts the summary reports. */
import { DataType } from '../../src/core/dtype.js';
import { f32ArrayToF16, f32ArrayToBf16 } from '../../src/core/half.js';

/**
 * fp32 payload (raw little-endian bytes, any alignment) → low-precision bits, clamping finite overflow to
 * ±max instead of Inf. An unaligned payload goes through an aligned 1 Mi-element scratch buffer (never copied
 * whole). `known`, the payload's range from step 2, skips the scan for clamped/flushed values when none can
 * occur (nothing near fp16's max, nothing below its smallest subnormal) — or when nothing can be clamped and the
 * counts are not wanted (`count` false: step 2 counted them already).
 */
export function lowerValues(
  raw: Uint8Array,
  low: number,
  known?: { maxAbs: number; flushed: number },
  codec: (src: Float32Array, dst: Uint16Array) => void = (s, d) => {
    f32ArrayToF16(s, d as Uint16Array<ArrayBuffer>);
  },
  count = true,
): { bits: Uint16Array; clamped: number; flushed: number; maxAbs: number } {
  const n = raw.byteLength >>> 2;
  const bits = new Uint16Array(n);
  const CH = 1 << 20;
  const aligned = raw.byteOffset % 4 === 0;
  const scratch = aligned ? undefined : new Float32Array(Math.min(CH, n));
  let clamped = 0,
    flushed = 0,
    maxAbs = 0;
  const f16 = low === DataType.FLOAT16;
  // The per-element pass clamps and counts; skipped when the range rules out clamping and nobody wants counts.
  const scan = !known || !f16 || known.maxAbs >= 65504 || (count && known.flushed > 0);
  for (let off = 0; off < n; off += CH) {
    const m = Math.min(CH, n - off);
    let src: Float32Array;
    if (scratch) {
      new Uint8Array(scratch.buffer).set(raw.subarray(off * 4, (off + m) * 4));
      src = m === scratch.length ? scratch : scratch.subarray(0, m);
    } else src = new Float32Array(raw.buffer, raw.byteOffset + off * 4, m);
    const sbits = new Uint32Array(src.buffer, src.byteOffset, m);
    const out = bits.subarray(off, off + m);
    if (f16) codec(src, out);
    else f32ArrayToBf16(src, out);
    if (!scan) continue;
    for (let i = 0; i < m; i++) {
      const o = out[i] & 0x7fff,
        a = sbits[i] & 0x7fffffff;
      if (o === 0x7c00 && f16 && a < 0x7f800000) {
        out[i] = (out[i] & 0x8000) | 0x7bff;
        clamped++;
        maxAbs = Math.max(maxAbs, Math.abs(src[i]));
      } else if (o === 0 && a !== 0) flushed++;
    }
  }
  return { bits, clamped, flushed, maxAbs };
}
