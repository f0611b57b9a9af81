/** Error statistics between a reference (fp32) tensor and a converted one, plus histograms. Pure functions. */
import { F16_MAX } from '../../core/half.js';

/** A histogram over log10 |x| (values or errors): bin edges (as log10) and counts; exact zeros and NaN/Inf apart. */
export interface Histogram {
  edges: number[];
  counts: number[];
  zeros?: number;
  nonFinite?: number;
}
/** Error statistics of one tensor (see tensorStats). */
export interface TensorStats {
  count: number;
  maxAbs: number;
  meanAbs: number;
  /** max |Δ| / max |ref|: the error relative to the tensor's scale. */
  scaled: number;
  /** Elementwise relative error, |Δ| / max(|ref|, 1e-3·max|ref|), max and mean. */
  maxRel: number;
  meanRel: number;
  p50: number;
  p90: number;
  p99: number;
  cosine: number;
  nan: number;
  inf: number;
  /** Fraction of nonzero reference values that became exactly 0. */
  flushed: number;
  /** Fraction of values beyond the fp16 range in the reference, or Inf in the converted tensor where the reference is finite. */
  saturated: number;
  refMaxAbs: number;
  /** NaN/Inf in the converted tensor where the reference is finite. */
  newNonFinite: number;
  /** NaN/Inf in the reference that the converted tensor does not reproduce (a finite value, or another class). */
  lostNonFinite: number;
  /** With an elementwise tolerance: max over elements of |Δ| / (its allowed error); ≤ 1 meets it. */
  tolRatio?: number;
}

/** Exact quantile by selection on a copy (Float64Array sort is numeric). */
function quantiles(xs: Float64Array, qs: number[]): number[] {
  if (!xs.length) return qs.map(() => 0);
  const s = Float64Array.from(xs).sort();
  return qs.map((q) => s[Math.min(s.length - 1, Math.floor(q * (s.length - 1)))]);
}

/** Same non-finite class at the same position (NaN↔NaN, +Inf↔+Inf, −Inf↔−Inf): agreement, not error. */
const sameNonFinite = (r: number, g: number) => (Number.isNaN(r) ? Number.isNaN(g) : r === g);

/** The largest finite |x|. */
function finiteMaxAbs(xs: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < xs.length; i++) {
    const a = Math.abs(xs[i]);
    if (a > m && Number.isFinite(a)) m = a;
  }
  return m;
}

/**
 * Error statistics of `got` against `ref`: max/mean abs and rel error, scaled error, quantiles, cosine,
 * NaN/Inf, flushed and saturated values, and the tolerance ratio when `tol` is elementwise. Where the reference
 * is NaN or ±Inf, the same value in `got` agrees (it counts for nothing); any other value there is counted in
 * lostNonFinite, as NaN/Inf where the reference is finite is in newNonFinite. Errors, cosine and the tolerance
 * ratio are over the positions where both are finite.
 */
export function tensorStats(ref: ArrayLike<number>, got: ArrayLike<number>, tol?: Tolerance): TensorStats {
  const n = ref.length;
  const refMax = finiteMaxAbs(ref);
  const floor = Math.max(refMax * 1e-3, 1e-30);
  const abs = new Float64Array(n);
  const elementwise = tol && (tol.atol !== undefined || tol.rtol !== undefined || tol.scale !== undefined);
  const atol = elementwise ? absFloor(tol!, refMax) : 0,
    rtol = tol?.rtol ?? 0;
  let maxAbs = 0,
    sumAbs = 0,
    maxRel = 0,
    sumRel = 0,
    dot = 0,
    nr = 0,
    ng = 0,
    nan = 0,
    inf = 0,
    flushed = 0,
    nonzero = 0,
    sat = 0,
    fresh = 0,
    ratio = 0,
    lost = 0;
  for (let i = 0; i < n; i++) {
    const r = ref[i],
      g = got[i];
    if (Number.isNaN(g)) nan++;
    else if (!Number.isFinite(g)) inf++;
    if (!Number.isFinite(g) && Number.isFinite(r)) fresh++;
    if (!Number.isFinite(r)) {
      if (!sameNonFinite(r, g)) lost++;
      continue;
    }
    if (r !== 0) {
      nonzero++;
      if (g === 0) flushed++;
    }
    if (Math.abs(r) > F16_MAX || !Number.isFinite(g)) sat++;
    const d = Number.isFinite(g) ? Math.abs(g - r) : Infinity;
    abs[i] = d;
    maxAbs = Math.max(maxAbs, d);
    sumAbs += d;
    const rel = d / Math.max(Math.abs(r), floor);
    maxRel = Math.max(maxRel, rel);
    sumRel += rel;
    if (!Number.isFinite(g)) continue;
    dot += r * g;
    nr += r * r;
    ng += g * g;
    if (elementwise) {
      const q = d / (atol + rtol * Math.abs(r));
      if (q > ratio) ratio = q;
    }
  }
  const [p50, p90, p99] = quantiles(abs, [0.5, 0.9, 0.99]);
  const cosine = nr === 0 && ng === 0 ? 1 : nr === 0 || ng === 0 ? 0 : dot / Math.sqrt(nr * ng);
  return {
    count: n,
    maxAbs,
    meanAbs: n ? sumAbs / n : 0,
    scaled: refMax > 0 ? maxAbs / refMax : maxAbs,
    maxRel,
    meanRel: n ? sumRel / n : 0,
    p50,
    p90,
    p99,
    cosine,
    nan,
    inf,
    flushed: nonzero ? flushed / nonzero : 0,
    saturated: n ? sat / n : 0,
    refMaxAbs: refMax,
    newNonFinite: fresh,
    lostNonFinite: lost,
    ...(elementwise ? { tolRatio: ratio } : {}),
  };
}

/** Histogram of log10(|x|); exact zeros and NaN/Inf are counted apart (drawn as such, not as 1e-8 / 1e6). */
export function logHistogram(xs: ArrayLike<number>, bins = 24, lo = -8, hi = 6): Histogram {
  const counts = new Array<number>(bins).fill(0);
  const w = (hi - lo) / bins;
  let zeros = 0,
    nonFinite = 0;
  for (let i = 0; i < xs.length; i++) {
    const a = Math.abs(xs[i]);
    if (a === 0) {
      zeros++;
      continue;
    }
    if (!Number.isFinite(a)) {
      nonFinite++;
      continue;
    }
    counts[Math.max(0, Math.min(bins - 1, Math.floor((Math.log10(a) - lo) / w)))]++;
  }
  return { edges: Array.from({ length: bins + 1 }, (_, i) => lo + i * w), counts, zeros, nonFinite };
}

/**
 * What "close enough" means for a converted tensor. Elementwise, as numpy.allclose / Polygraphy:
 * |Δ| ≤ A + rtol·|ref| for every element, where A = max(atol, scale·max|ref|) — fp16's error grows with the
 * magnitude of the values, so an absolute floor alone would be too tight for large outputs and too loose for
 * small ones. `cos` bounds the cosine similarity, except for outputs that are zero within A (cosine is noise
 * there). `rel` bounds max|Δ| / max|ref|. NaN or Inf where the reference is finite always fails.
 */
export interface Tolerance {
  atol?: number;
  rtol?: number;
  scale?: number;
  cos?: number;
  rel?: number;
}
export const TOLERANCE_KEYS = ['atol', 'rtol', 'scale', 'cos', 'rel'] as const;

/** The absolute part of the elementwise bound for a tensor whose largest |ref| is refMax. */
export const absFloor = (tol: Tolerance, refMax: number): number =>
  Math.max(tol.atol ?? 0, (tol.scale ?? 0) * refMax, 1e-30);

/** Does a tensor meet the tolerance? */
export const meets = (s: TensorStats, tol: Tolerance): boolean => missReason(s, tol) === undefined;

/**
 * Why a tensor misses the tolerance — the first failing criterion, with its numbers — or undefined when it meets
 * it: new NaN/Inf, NaN/Inf of the reference not reproduced, the elementwise bound, `rel`, the cosine.
 */
export function missReason(s: TensorStats, tol: Tolerance): string | undefined {
  if (s.newNonFinite) return `${s.newNonFinite} new NaN/Inf where the fp32 output is finite`;
  if (s.lostNonFinite) return `${s.lostNonFinite} NaN/Inf of the fp32 output not reproduced`;
  if (s.tolRatio !== undefined && !(s.tolRatio <= 1))
    return `elementwise bound: worst |Δ| is ${s.tolRatio.toPrecision(3)}× the allowed error`;
  if (tol.rel !== undefined && !(s.scaled <= tol.rel))
    return `max|Δ|/max|ref| ${s.scaled.toExponential(2)} > rel ${tol.rel}`;
  const nearZero = (tol.atol !== undefined || tol.scale !== undefined) && s.refMaxAbs <= Math.max(tol.atol ?? 0, 0);
  if (tol.cos !== undefined && !nearZero && !(s.cosine >= tol.cos)) return `cosine ${s.cosine.toFixed(6)} < ${tol.cos}`;
  return undefined;
}
/** "atol=1e-3,rtol=1e-2,scale=0.02,cos=0.999" (any subset; rel= too). */
export function parseTolerance(spec: string): Tolerance {
  const t: Tolerance = {};
  for (const part of spec.split(',')) {
    const m = /^(atol|rtol|scale|cos|rel)=([\d.eE+-]+)$/.exec(part.trim());
    if (!m || !Number.isFinite(Number(m[2])) || Number(m[2]) < 0)
      throw new Error(
        `tolerance '${spec}' must look like atol=1e-3,rtol=1e-2,scale=0.02,cos=0.999 (any of atol, rtol, scale, cos, rel)`,
      );
    t[m[1] as keyof Tolerance] = Number(m[2]);
  }
  return t;
}
/** A tolerance in the `--tolerance` syntax (atol=..,rtol=..). */
export const formatTolerance = (t: Tolerance): string =>
  TOLERANCE_KEYS.filter((k) => t[k] !== undefined)
    .map((k) => `${k}=${t[k]}`)
    .join(',');
