/** The range of a float constant — what fp16 cannot hold of it — measured once per payload. */
import type { Tensor } from '../../src/ir/tensor.js';

/**
 * A faster scan of an fp32 tensor (ResolvedOptions.scanF32): the counts of step 2's scanChunk over the whole
 * payload, with `tinyBits` the bits of minPositive; given `emit`, the payload's fp16 bits (as f32ArrayToF16)
 * go to it in order, chunk by chunk (views valid during the call).
 */
export type ScanF32 = (t: Tensor, tinyBits: number, emit?: (bits: Uint16Array) => void) => RangeCounts;
/** What a range scan counts (step 2's scanChunk): largest |x| as bits, the count and mass below minPositive, the values fp16 rounds to zero. */
export interface RangeCounts {
  maxBits: number;
  tiny: number;
  flushed: number;
  zeroed: number;
}

/**
 * A constant's range: largest |x|; the share of its L1 mass and the count of nonzero values below
 * minPositive; and `zeroed`, the nonzero values fp16 rounds to zero (|x| ≤ 2⁻²⁵, ties to even).
 */
export interface ConstantRange {
  maxAbs: number;
  flushedMass: number;
  flushed: number;
  zeroed: number;
}
/** The limits a range was measured against: the smallest positive value kept and the mass share that may fall below it. */
export interface RangeLimits {
  minPositive: number;
  underflowMass: number;
}

/**
 * Ranges measured during one conversion and its trial conversions (`lowBranchOutputs`, the repair's restarts):
 * a payload still in its file is known by its file range, so copies of a model share it and the weights are
 * scanned once; any other by its tensor.
 */
export class RangeCache {
  private readonly byPayload = new WeakMap<object, { limits: RangeLimits; range: ConstantRange }>();
  private static key = (t: Tensor): object => (!t.loaded && !t.derived && (t.backing ?? t.external)) || t;
  get(t: Tensor, limits: RangeLimits): ConstantRange | undefined {
    const hit = this.byPayload.get(RangeCache.key(t));
    return hit && hit.limits.minPositive === limits.minPositive && hit.limits.underflowMass === limits.underflowMass
      ? hit.range
      : undefined;
  }
  set(t: Tensor, limits: RangeLimits, range: ConstantRange): void {
    this.byPayload.set(RangeCache.key(t), { limits: { ...limits }, range });
  }
  /** A payload's range if it was measured against fp16's smallest subnormal (what step 7 needs to skip its scan). */
  known(t: Tensor): ConstantRange | undefined {
    const hit = this.byPayload.get(RangeCache.key(t));
    return hit?.limits.minPositive === FP16_MIN_POSITIVE ? hit.range : undefined;
  }
}
/** fp16's smallest subnormal, 2^-24: the default `minPositive` of an fp16 conversion. */
export const FP16_MIN_POSITIVE = 2 ** -24;

/**
 * Largest |x|, and the share of the L1 mass and the count of nonzero values below `minPositive`. One pass on
 * the bit patterns (|x| orders like its bits); the mass is summed in a second pass only when the tiny values
 * could be `underflowMass` of it (the largest value alone is a lower bound of the mass).
 */
export function constantRange(t: Tensor, limits: RangeLimits, cache?: RangeCache, scan?: ScanF32): ConstantRange {
  const { minPositive, underflowMass } = limits;
  const hit = cache?.get(t, limits);
  if (hit) return hit;
  // Chunk by chunk (Tensor.chunks): an external tensor is scanned without being held in memory.
  const views = function* () {
    for (const raw of t.chunks()) {
      const bytes = raw.byteOffset % 4 === 0 ? raw : new Uint8Array(raw);
      const n = bytes.byteLength >>> 2;
      yield [
        new Int32Array(bytes.buffer, bytes.byteOffset, n),
        new Float32Array(bytes.buffer, bytes.byteOffset, n),
      ] as const;
    }
  };
  f32[0] = minPositive;
  const tinyBits = minPositive > 0 ? u32[0] : 0;
  let acc: RangeCounts = { maxBits: 0, tiny: 0, flushed: 0, zeroed: 0 };
  if (scan) acc = scan(t, tinyBits);
  else for (const [bits, v] of views()) scanChunk(bits, v, tinyBits, acc);
  const { maxBits, tiny, flushed, zeroed } = acc;
  u32[0] = maxBits;
  const maxAbs = f32[0];
  let mass = maxAbs;
  if (tiny > 0 && tiny > underflowMass * maxAbs) {
    mass = 0;
    for (const [, v] of views())
      for (let i = 0; i < v.length; i++) {
        const a = Math.abs(v[i]);
        if (Number.isFinite(a)) mass += a;
      }
  }
  const r = { maxAbs, flushedMass: mass > 0 ? tiny / mass : 0, flushed, zeroed };
  cache?.set(t, limits, r);
  return r;
}
const f32 = new Float32Array(1),
  u32 = new Uint32Array(f32.buffer);
/**
 * One chunk of constantRange's pass, on the bits as int32 (|x| orders like its bits without the sign): the
 * largest finite |x|, the count and mass below `tinyBits`, the nonzero values fp16 rounds to zero (≤ 2⁻²⁵).
 * Top-level and monomorphic, so it compiles to a tight loop; the rare branches nest under one test.
 */
function scanChunk(bits: Int32Array, v: Float32Array, tinyBits: number, acc: RangeCounts): void {
  let { maxBits, tiny, flushed, zeroed } = acc;
  const rare = Math.max(tinyBits, 0x33000001);
  for (let i = 0; i < bits.length; i++) {
    const a = bits[i] & 0x7fffffff;
    if (a > maxBits && a <= 0x7f800000) maxBits = a;
    if (a < rare && a !== 0) {
      if (a < tinyBits) {
        tiny += Math.abs(v[i]);
        flushed++;
      }
      if (a <= 0x33000000) zeroed++;
    }
  }
  acc.maxBits = maxBits;
  acc.tiny = tiny;
  acc.flushed = flushed;
  acc.zeroed = zeroed;
}
