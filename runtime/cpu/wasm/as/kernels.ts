// AssemblyScript (compiled to WebAssembly SIMD by `npm run build:wasm`): the CPU executor's hot loops.
// No allocation and no globals: the JS side owns the (shared) memory and passes byte addresses, so any
// number of worker instances can run these functions on disjoint parts of one job.
//
// Layouts: row-major f32. Packed B ("panels"): N split into panels of 8 columns; panel p holds, for each k,
// the 8 values B[k, 8p..8p+7] (zero past N), so the micro-kernel reads B with two aligned v128 loads.
// A packed buffer may hold only panels [pb, …) of a larger B (column blocks): panel p sits at
// dst + (p − pb)·K·8·4, so callers pass the buffer's first panel index `pb` and absolute panel ranges.

// @ts-ignore: decorator
@inline const NR: i32 = 8;

/** Packs fp16 B (element (k, n) at b + 2·(k·rs + n·cs), half bits) into f32 panels [p0, p1), decoding exactly. */
export function packB16(b: usize, rs: i32, cs: i32, K: i32, N: i32, dst: usize, pb: i32, p0: i32, p1: i32): void {
  for (let p = p0; p < p1; p++) {
    const n0 = p * NR;
    const w = min(NR, N - n0);
    let d = dst + <usize>(p - pb) * <usize>K * NR * 4;
    for (let k = 0; k < K; k++) {
      const row = b + (<usize>k * <usize>rs + <usize>n0 * <usize>cs) * 2;
      if (w == NR && cs == 1) {
        const h = v128.load(row);
        v128.store(d, h2f(i32x4.extend_low_i16x8_u(h)));
        v128.store(d, h2f(i32x4.extend_high_i16x8_u(h)), 16);
      } else {
        for (let j = 0; j < NR; j++) store<u32>(d + j * 4, j < w ? h2fScalar(<u32>load<u16>(row + <usize>j * <usize>cs * 2)) : 0);
      }
      d += NR * 4;
    }
  }
}

/** Packs B (element (k, n) at b + 4·(k·rs + n·cs)) into panels [p0, p1) of 8 columns. */
export function packB(b: usize, rs: i32, cs: i32, K: i32, N: i32, dst: usize, pb: i32, p0: i32, p1: i32): void {
  for (let p = p0; p < p1; p++) {
    const n0 = p * NR;
    const w = min(NR, N - n0);
    let d = dst + <usize>(p - pb) * <usize>K * NR * 4;
    for (let k = 0; k < K; k++) {
      const row = b + (<usize>k * <usize>rs + <usize>n0 * <usize>cs) * 4;
      if (w == NR && cs == 1) {
        v128.store(d, v128.load(row));
        v128.store(d, v128.load(row, 16), 16);
      } else {
        for (let j = 0; j < NR; j++) store<f32>(d + j * 4, j < w ? load<f32>(row + <usize>j * <usize>cs * 4) : 0);
      }
      d += NR * 4;
    }
  }
}

/**
 * C[m, n] (+)= Σ_k A[m, k]·B[k, n] for rows [m0, m1) and panels [p0, p1) of packed B (first panel pb). A(m, k) is at
 * a + 4·(m·ars + k·acs); C is row-major with row stride ldc. `acc` = 1 adds to C. Sums are f32, in k order.
 */
export function gemm(M: i32, N: i32, K: i32, a: usize, ars: i32, acs: i32, bp: usize, pb: i32, c: usize, ldc: i32, acc: i32, m0: i32, m1: i32, p0: i32, p1: i32): void {
  const astep = <usize>acs * 4;
  for (let p = p0; p < p1; p++) {
    const n0 = p * NR;
    const w = min(NR, N - n0);
    const panel = bp + <usize>(p - pb) * <usize>K * NR * 4;
    let m = m0;
    for (; m + 4 <= m1; m += 4) {
      let a0 = a + <usize>m * <usize>ars * 4;
      let a1 = a0 + <usize>ars * 4, a2 = a1 + <usize>ars * 4, a3 = a2 + <usize>ars * 4;
      let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c10 = f32x4.splat(0), c11 = f32x4.splat(0);
      let c20 = f32x4.splat(0), c21 = f32x4.splat(0), c30 = f32x4.splat(0), c31 = f32x4.splat(0);
      let q = panel;
      for (let k = 0; k < K; k++) {
        const b0 = v128.load(q), b1 = v128.load(q, 16);
        let x = v128.load32_splat(a0);
        c00 = f32x4.add(c00, f32x4.mul(x, b0)); c01 = f32x4.add(c01, f32x4.mul(x, b1));
        x = v128.load32_splat(a1);
        c10 = f32x4.add(c10, f32x4.mul(x, b0)); c11 = f32x4.add(c11, f32x4.mul(x, b1));
        x = v128.load32_splat(a2);
        c20 = f32x4.add(c20, f32x4.mul(x, b0)); c21 = f32x4.add(c21, f32x4.mul(x, b1));
        x = v128.load32_splat(a3);
        c30 = f32x4.add(c30, f32x4.mul(x, b0)); c31 = f32x4.add(c31, f32x4.mul(x, b1));
        a0 += astep; a1 += astep; a2 += astep; a3 += astep;
        q += NR * 4;
      }
      const cr = c + (<usize>m * <usize>ldc + <usize>n0) * 4, ld = <usize>ldc * 4;
      storeRow(cr, c00, c01, w, acc);
      storeRow(cr + ld, c10, c11, w, acc);
      storeRow(cr + 2 * ld, c20, c21, w, acc);
      storeRow(cr + 3 * ld, c30, c31, w, acc);
    }
    for (; m < m1; m++) {
      let a0 = a + <usize>m * <usize>ars * 4;
      let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
      let q = panel;
      for (let k = 0; k < K; k++) {
        const x = v128.load32_splat(a0);
        c00 = f32x4.add(c00, f32x4.mul(x, v128.load(q)));
        c01 = f32x4.add(c01, f32x4.mul(x, v128.load(q, 16)));
        a0 += astep;
        q += NR * 4;
      }
      storeRow(c + (<usize>m * <usize>ldc + <usize>n0) * 4, c00, c01, w, acc);
    }
  }
}

// @ts-ignore: decorator
@inline function storeRow(p: usize, v0: v128, v1: v128, w: i32, acc: i32): void {
  if (w == NR) {
    if (acc) { v0 = f32x4.add(v0, v128.load(p)); v1 = f32x4.add(v1, v128.load(p, 16)); }
    v128.store(p, v0);
    v128.store(p, v1, 16);
    return;
  }
  for (let j = 0; j < w; j++) {
    const v = j < 4 ? extract(v0, j) : extract(v1, j - 4);
    store<f32>(p + j * 4, acc ? load<f32>(p + j * 4) + v : v);
  }
}
// @ts-ignore: decorator
@inline function extract(v: v128, j: i32): f32 {
  return j == 0 ? f32x4.extract_lane(v, 0) : j == 1 ? f32x4.extract_lane(v, 1) : j == 2 ? f32x4.extract_lane(v, 2) : f32x4.extract_lane(v, 3);
}

/**
 * im2col straight into packed panels [p0, p1): for one image x[C, H, W] and a 2-D window, column n = output
 * position (oh·OW + ow), row k = (c, kh, kw); out-of-image taps read 0.
 */
export function im2colPacked(x: usize, C: i32, H: i32, W: i32, KH: i32, KW: i32, SH: i32, SW: i32, PT: i32, PL: i32,
  DH: i32, DW: i32, OH: i32, OW: i32, dst: usize, pb: i32, p0: i32, p1: i32): void {
  const K = C * KH * KW, N = OH * OW;
  for (let p = p0; p < p1; p++) {
    const n0 = p * NR;
    let d = dst + <usize>(p - pb) * <usize>K * NR * 4;
    for (let c = 0; c < C; c++) {
      const xc = x + <usize>c * <usize>H * <usize>W * 4;
      for (let kh = 0; kh < KH; kh++) {
        for (let kw = 0; kw < KW; kw++) {
          for (let j = 0; j < NR; j++) {
            const n = n0 + j;
            let v: f32 = 0;
            if (n < N) {
              const oh = n / OW, ow = n - oh * OW;
              const ih = oh * SH + kh * DH - PT, iw = ow * SW + kw * DW - PL;
              if (ih >= 0 && ih < H && iw >= 0 && iw < W) v = load<f32>(xc + (<usize>ih * <usize>W + <usize>iw) * 4);
            }
            store<f32>(d + j * 4, v);
          }
          d += NR * 4;
        }
      }
    }
  }
}

/**
 * fp16 bits → f32 for [lo, hi): the half's exponent and mantissa shifted into an f32 and scaled by 2^112
 * (exact for normals and subnormals); Inf/NaN get the f32 all-ones exponent with the payload kept, NaNs
 * quieted (as x86's vcvtph2ps and the JS codec do).
 */
export function f16ToF32(src: usize, dst: usize, lo: i32, hi: i32): void {
  let i = lo;
  for (; i + 4 <= hi; i += 4) v128.store(dst + <usize>i * 4, h2f(i32x4.extend_low_i16x8_u(v128.load64_zero(src + <usize>i * 2))));
  for (; i < hi; i++) store<u32>(dst + <usize>i * 4, h2fScalar(<u32>load<u16>(src + <usize>i * 2)));
}
/** Four halves (one per i32 lane) → their f32 bit patterns. */
// @ts-ignore: decorator
@inline function h2f(h: v128): v128 {
  const e = v128.and(h, i32x4.splat(0x7fff));
  const sign = i32x4.shl(v128.and(h, i32x4.splat(0x8000)), 16);
  const scaled = f32x4.mul(i32x4.shl(e, 13), f32x4.splat(5.192296858534828e33)); // · 2^112
  const nan = v128.and(i32x4.ne(v128.and(h, i32x4.splat(0x3ff)), i32x4.splat(0)), i32x4.splat(0x400000));
  const special = v128.or(v128.or(i32x4.shl(e, 13), i32x4.splat(0x7f800000)), nan);
  const isSpecial = i32x4.ge_u(v128.and(h, i32x4.splat(0x7c00)), i32x4.splat(0x7c00));
  return v128.or(v128.bitselect(special, scaled, isSpecial), sign);
}
// @ts-ignore: decorator
@inline function h2fScalar(h: u32): u32 {
  const e = h & 0x7fff;
  const bits = (e & 0x7c00) == 0x7c00 ? (e << 13) | 0x7f800000 | ((e & 0x3ff) != 0 ? 0x400000 : 0) : reinterpret<u32>(reinterpret<f32>(e << 13) * <f32>5.192296858534828e33);
  return bits | ((h & 0x8000) << 16);
}

/**
 * f32 → fp16 bits for [lo, hi), round to nearest even, overflow to Inf, NaN kept quiet with its payload's top
 * bits — bit-identical to src/core/half.ts f32ArrayToF16 (the same integer formulas, four lanes at a time).
 */
export function f32ToF16(src: usize, dst: usize, lo: i32, hi: i32): void {
  let i = lo;
  for (; i + 4 <= hi; i += 4) {
    const b = v128.load(src + <usize>i * 4);
    v128.store64_lane(dst + <usize>i * 2, i16x8.narrow_i32x4_u(f32ToF16x4(b), f32ToF16x4(b)), 0);
  }
  for (; i < hi; i++) {
    const r = f32ToF16x4(v128.load32_zero(src + <usize>i * 4));
    store<u16>(dst + <usize>i * 2, <u16>i32x4.extract_lane(r, 0));
  }
}
/** Elements per block of rangeF16 (its unit of work and of results). */
// @ts-ignore: decorator
@inline const RANGE_BLOCK: i32 = 1 << 16;
/**
 * A constant's range in one pass over its fp32 values, for blocks [lo, hi) of RANGE_BLOCK elements (n in all,
 * the last block short): per block b, at acc + 32·b, the largest finite-or-Inf |x| as bits (u32, +0), the
 * count of nonzero |x| below tinyBits (u32, +4) and their sum (f64, +8), the count of nonzero |x| ≤ 2⁻²⁵, which
 * fp16 rounds to zero (u32, +16) — what passes/steps/02-guard-constants.ts's scan measures — and, when dst is
 * not 0, every value's fp16 bits at dst (as f32ToF16), so one read of the weights serves both.
 */
export function rangeF16(src: usize, dst: usize, n: i32, tinyBits: u32, acc: usize, lo: i32, hi: i32): void {
  const absMask = i32x4.splat(0x7fffffff), inf = i32x4.splat(0x7f800000), zeroMax = i32x4.splat(0x33000000);
  const tinyV = i32x4.splat(tinyBits), rareV = i32x4.splat(max(tinyBits, 0x33000001)), zero = i32x4.splat(0);
  for (let b = lo; b < hi; b++) {
    const i0 = b * RANGE_BLOCK, i1 = min(n, i0 + RANGE_BLOCK);
    let mx = zero, fl = zero, zr = zero, sum = f64x2.splat(0);
    let i = i0;
    for (; i + 4 <= i1; i += 4) {
      const v = v128.load(src + <usize>i * 4);
      const a = v128.and(v, absMask);
      mx = i32x4.max_u(mx, v128.and(a, i32x4.le_u(a, inf)));
      // Values near zero are rare: one test per four.
      const nz = i32x4.ne(a, zero);
      if (v128.any_true(v128.and(i32x4.lt_u(a, rareV), nz))) {
        const t = v128.and(i32x4.lt_u(a, tinyV), nz);
        fl = i32x4.sub(fl, t);
        zr = i32x4.sub(zr, v128.and(i32x4.le_u(a, zeroMax), nz));
        const m = v128.and(a, t);
        sum = f64x2.add(sum, f64x2.add(f64x2.promote_low_f32x4(m), f64x2.promote_low_f32x4(i32x4.shuffle(m, m, 2, 3, 0, 1))));
      }
      if (dst) v128.store64_lane(dst + <usize>i * 2, i16x8.narrow_i32x4_u(f32ToF16x4(v), f32ToF16x4(v)), 0);
    }
    let mxs = max(max(i32x4.extract_lane(mx, 0) as u32, i32x4.extract_lane(mx, 1) as u32), max(i32x4.extract_lane(mx, 2) as u32, i32x4.extract_lane(mx, 3) as u32));
    let fls = i32x4.extract_lane(fl, 0) + i32x4.extract_lane(fl, 1) + i32x4.extract_lane(fl, 2) + i32x4.extract_lane(fl, 3);
    let zrs = i32x4.extract_lane(zr, 0) + i32x4.extract_lane(zr, 1) + i32x4.extract_lane(zr, 2) + i32x4.extract_lane(zr, 3);
    let sums = f64x2.extract_lane(sum, 0) + f64x2.extract_lane(sum, 1);
    for (; i < i1; i++) {
      const x = load<u32>(src + <usize>i * 4), a = x & 0x7fffffff;
      if (a <= 0x7f800000 && a > mxs) mxs = a;
      if (a != 0 && a < tinyBits) { fls++; sums += <f64>reinterpret<f32>(a); }
      if (a != 0 && a <= 0x33000000) zrs++;
      if (dst) store<u16>(dst + <usize>i * 2, <u16>i32x4.extract_lane(f32ToF16x4(i32x4.splat(x)), 0));
    }
    const r = acc + <usize>b * 32;
    store<u32>(r, mxs); store<u32>(r + 4, fls); store<f64>(r + 8, sums); store<u32>(r + 16, zrs);
  }
}
// @ts-ignore: decorator
@inline function f32ToF16x4(b: v128): v128 {
  const sign = v128.and(i32x4.shr_u(b, 16), i32x4.splat(0x8000));
  const a = v128.and(b, i32x4.splat(0x7fffffff));
  // ≥ 65536 after rounding, Inf or NaN
  const big = v128.bitselect(v128.or(i32x4.splat(0x7e00), v128.and(i32x4.shr_u(a, 13), i32x4.splat(0x3ff))), i32x4.splat(0x7c00), i32x4.gt_u(a, i32x4.splat(0x7f800000)));
  // below the smallest normal half: a float add of 0.5 aligns and rounds to the subnormal step 2^-24
  const sub = i32x4.sub(f32x4.add(a, f32x4.splat(0.5)), i32x4.splat(0x3f000000));
  // normal: rebias, round to nearest even on the 13 dropped bits (a carry may reach Inf)
  const nrm = i32x4.shr_u(i32x4.add(i32x4.sub(a, i32x4.splat(0x37fff001)), v128.and(i32x4.shr_u(a, 13), i32x4.splat(1))), 13);
  const lowOrNormal = v128.bitselect(sub, nrm, i32x4.lt_u(a, i32x4.splat(0x38800000)));
  return v128.or(v128.bitselect(big, lowOrNormal, i32x4.ge_u(a, i32x4.splat(0x47800000))), sign);
}

/**
 * C[m, n] += Σ_k A[m, k]·B[k, n] for all M rows and columns [n0, n1), streaming row-major B (row stride rs)
 * once with no packing: for few rows (M ≤ 4) packing would cost more than the product. Per element the
 * sum continues C's f32 chain in k order — from a zeroed C it is `gemm`'s chain, so the results are
 * bit-identical, and B may come in consecutive row blocks. `half`: B holds fp16 bits, decoded exactly as it
 * streams (a constant, so each export compiles to its own loop).
 */
@inline function rows(half: bool, check: bool, M: i32, K: i32, a: usize, ars: i32, acs: i32, b: usize, rs: i32, c: usize, ldc: i32, n0: i32, n1: i32): i32 {
  const eb: usize = half ? 2 : 4;
  let found = 0;
  const rb = <usize>rs * eb;
  for (let m = 0; m < M; m++) {
    const cr = c + <usize>m * <usize>ldc * 4;
    const ar = a + <usize>m * <usize>ars * 4, astep = <usize>acs * 4;
    let k = 0;
    // Four rows of B per pass over C's row: C is read and written once per four products, each element
    // still adding them in k order.
    for (; k + 4 <= K; k += 4) {
      const ak = ar + <usize>k * astep;
      const y0 = load<f32>(ak), y1 = load<f32>(ak + astep), y2 = load<f32>(ak + 2 * astep), y3 = load<f32>(ak + 3 * astep);
      const x0 = f32x4.splat(y0), x1 = f32x4.splat(y1), x2 = f32x4.splat(y2), x3 = f32x4.splat(y3);
      const b0 = b + <usize>k * rb, b1 = b0 + rb, b2 = b1 + rb, b3 = b2 + rb;
      const exact = half && check && hasInfNan(b0, rb, n0, n1);
      if (exact) found = 1;
      let n = n0;
      for (; n + 8 <= n1; n += 8) {
        const p = cr + <usize>n * 4, o = <usize>n * eb;
        let lo = v128.load(p), hi = v128.load(p, 16);
        if (half) {
          let h = v128.load(b0 + o);
          lo = f32x4.add(lo, f32x4.mul(x0, dec(exact, h, false))); hi = f32x4.add(hi, f32x4.mul(x0, dec(exact, h, true)));
          h = v128.load(b1 + o);
          lo = f32x4.add(lo, f32x4.mul(x1, dec(exact, h, false))); hi = f32x4.add(hi, f32x4.mul(x1, dec(exact, h, true)));
          h = v128.load(b2 + o);
          lo = f32x4.add(lo, f32x4.mul(x2, dec(exact, h, false))); hi = f32x4.add(hi, f32x4.mul(x2, dec(exact, h, true)));
          h = v128.load(b3 + o);
          lo = f32x4.add(lo, f32x4.mul(x3, dec(exact, h, false))); hi = f32x4.add(hi, f32x4.mul(x3, dec(exact, h, true)));
        } else {
          lo = f32x4.add(lo, f32x4.mul(x0, v128.load(b0 + o))); hi = f32x4.add(hi, f32x4.mul(x0, v128.load(b0 + o, 16)));
          lo = f32x4.add(lo, f32x4.mul(x1, v128.load(b1 + o))); hi = f32x4.add(hi, f32x4.mul(x1, v128.load(b1 + o, 16)));
          lo = f32x4.add(lo, f32x4.mul(x2, v128.load(b2 + o))); hi = f32x4.add(hi, f32x4.mul(x2, v128.load(b2 + o, 16)));
          lo = f32x4.add(lo, f32x4.mul(x3, v128.load(b3 + o))); hi = f32x4.add(hi, f32x4.mul(x3, v128.load(b3 + o, 16)));
        }
        v128.store(p, lo);
        v128.store(p, hi, 16);
      }
      for (; n < n1; n++) {
        const p = cr + <usize>n * 4;
        let v = load<f32>(p);
        v += y0 * elem(half, b0, n);
        v += y1 * elem(half, b1, n);
        v += y2 * elem(half, b2, n);
        v += y3 * elem(half, b3, n);
        store<f32>(p, v);
      }
    }
    for (; k < K; k++) {
      const y = load<f32>(ar + <usize>k * astep);
      const br = b + <usize>k * rb;
      for (let n = n0; n < n1; n++) store<f32>(cr + <usize>n * 4, load<f32>(cr + <usize>n * 4) + y * elem(half, br, n));
    }
  }
  return found;
}
/** Element n of a row of B as f32 (fp16 decoded exactly). */
// @ts-ignore: decorator
@inline function elem(half: bool, row: usize, n: i32): f32 {
  return half ? reinterpret<f32>(h2fScalar(<u32>load<u16>(row + <usize>n * 2))) : load<f32>(row + <usize>n * 4);
}
/**
 * Eight halves' low or high four as f32: the exact decode (h2f) when the rows may hold Inf/NaN, else three
 * operations — sign-extended bits shifted into f32 position, the copies of the sign cleared, ·2^112 (exact for
 * normals, subnormals and zeros: the same values h2f gives).
 */
// @ts-ignore: decorator
@inline function dec(exact: bool, h: v128, high: bool): v128 {
  if (exact) return h2f(high ? i32x4.extend_high_i16x8_u(h) : i32x4.extend_low_i16x8_u(h));
  const s = high ? i32x4.extend_high_i16x8_s(h) : i32x4.extend_low_i16x8_s(h);
  return f32x4.mul(v128.and(i32x4.shl(s, 13), i32x4.splat(0x8fffffff)), f32x4.splat(5.192296858534828e33));
}
/** Whether four consecutive rows of fp16 B (row stride rb bytes) hold an Inf or NaN in columns [n0, n1). */
// @ts-ignore: decorator
@inline function hasInfNan(b: usize, rb: usize, n0: i32, n1: i32): bool {
  const e = i16x8.splat(0x7c00);
  let any = i16x8.splat(0);
  for (let r: usize = 0; r < 4; r++) {
    const row = b + r * rb;
    let n = n0;
    for (; n + 8 <= n1; n += 8) any = v128.or(any, i16x8.eq(v128.and(v128.load(row + <usize>n * 2), e), e));
    for (; n < n1; n++) if ((load<u16>(row + <usize>n * 2) & 0x7c00) == 0x7c00) return true;
  }
  return v128.any_true(any);
}
export function gemmRows(M: i32, N: i32, K: i32, a: usize, ars: i32, acs: i32, b: usize, rs: i32, c: usize, ldc: i32, n0: i32, n1: i32): void {
  rows(false, false, M, K, a, ars, acs, b, rs, c, ldc, n0, n1);
}
/** `gemmRows` with fp16 B (half bits, row stride rs); returns 1 when the rows held an Inf or NaN. */
export function gemmRows16(M: i32, N: i32, K: i32, a: usize, ars: i32, acs: i32, b: usize, rs: i32, c: usize, ldc: i32, n0: i32, n1: i32): i32 {
  return rows(true, true, M, K, a, ars, acs, b, rs, c, ldc, n0, n1);
}
/** `gemmRows16` for rows known to hold no Inf or NaN: every group takes the three-operation decode, unchecked. */
export function gemmRows16Finite(M: i32, N: i32, K: i32, a: usize, ars: i32, acs: i32, b: usize, rs: i32, c: usize, ldc: i32, n0: i32, n1: i32): void {
  rows(true, false, M, K, a, ars, acs, b, rs, c, ldc, n0, n1);
}

// ---- elementwise f32 ---------------------------------------------------------------------------------
// o = a ∘ b with b broadcast as [outer, bl, inner] (varying along the middle axis only), in f32: for two f32
// operands +, −, ×, ÷ are correctly rounded, so this equals computing in float64 and rounding once.
// Ops: 0 add, 1 sub, 2 mul, 3 div. `rev` swaps the operands (b ∘ a). Rows [lo, hi) of outer.

// @ts-ignore: decorator
@inline function op4(op: i32, x: v128, y: v128): v128 {
  if (op == 0) return f32x4.add(x, y);
  if (op == 1) return f32x4.sub(x, y);
  if (op == 2) return f32x4.mul(x, y);
  return f32x4.div(x, y);
}
// @ts-ignore: decorator
@inline function op1(op: i32, x: f32, y: f32): f32 {
  if (op == 0) return x + y;
  if (op == 1) return x - y;
  if (op == 2) return x * y;
  return x / y;
}
// @ts-ignore: decorator
@inline function bin(op: i32, rev: bool, a: usize, b: usize, o: usize, bl: i32, inner: i32, lo: i32, hi: i32): void {
  let i = <usize>lo * <usize>bl * <usize>inner;
  for (let p = lo; p < hi; p++) {
    if (inner == 1) {
      let j = 0;
      for (; j + 4 <= bl; j += 4, i += 4) {
        const x = v128.load(a + i * 4), y = v128.load(b + <usize>j * 4);
        v128.store(o + i * 4, rev ? op4(op, y, x) : op4(op, x, y));
      }
      for (; j < bl; j++, i++) {
        const x = load<f32>(a + i * 4), y = load<f32>(b + <usize>j * 4);
        store<f32>(o + i * 4, rev ? op1(op, y, x) : op1(op, x, y));
      }
    } else {
      for (let j = 0; j < bl; j++) {
        const ys = load<f32>(b + <usize>j * 4), y = f32x4.splat(ys);
        let k = 0;
        for (; k + 4 <= inner; k += 4, i += 4) {
          const x = v128.load(a + i * 4);
          v128.store(o + i * 4, rev ? op4(op, y, x) : op4(op, x, y));
        }
        for (; k < inner; k++, i++) {
          const x = load<f32>(a + i * 4);
          store<f32>(o + i * 4, rev ? op1(op, ys, x) : op1(op, x, ys));
        }
      }
    }
  }
}
export function addF32(a: usize, b: usize, o: usize, bl: i32, inner: i32, lo: i32, hi: i32): void { bin(0, false, a, b, o, bl, inner, lo, hi); }
export function subF32(a: usize, b: usize, o: usize, bl: i32, inner: i32, lo: i32, hi: i32): void { bin(1, false, a, b, o, bl, inner, lo, hi); }
export function mulF32(a: usize, b: usize, o: usize, bl: i32, inner: i32, lo: i32, hi: i32): void { bin(2, false, a, b, o, bl, inner, lo, hi); }
export function divF32(a: usize, b: usize, o: usize, bl: i32, inner: i32, lo: i32, hi: i32): void { bin(3, false, a, b, o, bl, inner, lo, hi); }
export function subF32Rev(a: usize, b: usize, o: usize, bl: i32, inner: i32, lo: i32, hi: i32): void { bin(1, true, a, b, o, bl, inner, lo, hi); }
export function divF32Rev(a: usize, b: usize, o: usize, bl: i32, inner: i32, lo: i32, hi: i32): void { bin(3, true, a, b, o, bl, inner, lo, hi); }

/** o = x > 0 ? x : 0 for [lo, hi) (NaN and −0 → +0, as the JS Relu). */
export function reluF32(a: usize, o: usize, lo: i32, hi: i32): void {
  let i = lo;
  const z = f32x4.splat(0);
  for (; i + 4 <= hi; i += 4) {
    const x = v128.load(a + <usize>i * 4);
    v128.store(o + <usize>i * 4, v128.and(x, f32x4.gt(x, z)));
  }
  for (; i < hi; i++) { const x = load<f32>(a + <usize>i * 4); store<f32>(o + <usize>i * 4, x > 0 ? x : 0); }
}

/** o = a·k[j] + t[j] over [outer, bl = channels, inner] rows [lo, hi): an inference BatchNormalization in f32. */
export function affineF32(a: usize, k: usize, t: usize, o: usize, bl: i32, inner: i32, lo: i32, hi: i32): void {
  let i = <usize>lo * <usize>bl * <usize>inner;
  for (let p = lo; p < hi; p++) {
    for (let j = 0; j < bl; j++) {
      const ks = load<f32>(k + <usize>j * 4), ts = load<f32>(t + <usize>j * 4);
      const kv = f32x4.splat(ks), tv = f32x4.splat(ts);
      let q = 0;
      for (; q + 4 <= inner; q += 4, i += 4) v128.store(o + i * 4, f32x4.add(f32x4.mul(v128.load(a + i * 4), kv), tv));
      for (; q < inner; q++, i++) store<f32>(o + i * 4, load<f32>(a + i * 4) * ks + ts);
    }
  }
}

// @ts-ignore: decorator
@inline function splat(x: f32): v128 { return f32x4.splat(x); }
/** One Horner step, p·x + c, rounded twice (mul, then add: no fused multiply-add, as everywhere here). */
// @ts-ignore: decorator
@inline function step(p: v128, x: v128, c: f32): v128 { return f32x4.add(f32x4.mul(p, x), f32x4.splat(c)); }
/** e^x in f32 (Cephes expf: x = n·ln2 + r, |r| ≤ ln2/2, e^r by a degree-6 polynomial, 2^n in the exponent bits); ~1 ulp. */
// @ts-ignore: decorator
@inline function expV(x0: v128): v128 {
  const x = f32x4.min(f32x4.max(x0, splat(-87.3)), splat(88.3));
  const fx = f32x4.floor(f32x4.add(f32x4.mul(x, splat(1.44269504088896341)), splat(0.5)));
  let r = f32x4.sub(x, f32x4.mul(fx, splat(0.693359375)));
  r = f32x4.sub(r, f32x4.mul(fx, splat(-2.12194440e-4)));
  let y = splat(1.9875691500e-4);
  y = step(y, r, 1.3981999507e-3);
  y = step(y, r, 8.3334519073e-3);
  y = step(y, r, 4.1665795894e-2);
  y = step(y, r, 1.6666665459e-1);
  y = step(y, r, 5.0000001201e-1);
  y = f32x4.add(f32x4.add(f32x4.mul(y, f32x4.mul(r, r)), r), splat(1));
  const pow2 = i32x4.shl(i32x4.add(i32x4.trunc_sat_f32x4_s(fx), i32x4.splat(127)), 23);
  return f32x4.mul(y, pow2);
}
/**
 * erf in f32, the same two-piece form as the JS erf (runtime/cpu/kernels/unary.ts): its Maclaurin series for
 * |x| < 0.5, else 1 − erfc by the Numerical Recipes Chebyshev fit; sign restored; NaN propagates, ±Inf → ±1.
 * Processes [lo, hi) in whole vectors: the caller rounds hi up to a multiple of 4 (arena slack).
 */
export function erfF32(a: usize, o: usize, lo: i32, hi: i32): void {
  const signMask = i32x4.splat(0x80000000);
  for (let i = lo; i < hi; i += 4) {
    const x = v128.load(a + <usize>i * 4);
    const ax = f32x4.abs(x), z = f32x4.mul(ax, ax);
    let p = splat(-1.6365844691234924e-07);                       // E9 … E0: 2/√π·(−1)ⁿ/(n!(2n+1))
    p = step(p, z, 1.6462114365889246e-06);
    p = step(p, z, -1.492565035840625e-05);
    p = step(p, z, 0.00012055332981789664);
    p = step(p, z, -0.0008548327023450852);
    p = step(p, z, 0.005223977625442188);
    p = step(p, z, -0.026866170645131252);
    p = step(p, z, 0.11283791670955126);
    p = step(p, z, -0.37612638903183754);
    p = step(p, z, 1.1283791670955126);
    p = f32x4.mul(p, ax);
    const t = f32x4.div(splat(1), f32x4.add(splat(1), f32x4.mul(splat(0.5), ax)));
    let q = splat(0.17087277);
    q = step(q, t, -0.82215223);
    q = step(q, t, 1.48851587);
    q = step(q, t, -1.13520398);
    q = step(q, t, 0.27886807);
    q = step(q, t, -0.18628806);
    q = step(q, t, 0.09678418);
    q = step(q, t, 0.37409196);
    q = step(q, t, 1.00002368);
    q = step(q, t, -1.26551223);
    const big = f32x4.sub(splat(1), f32x4.mul(t, expV(f32x4.sub(q, z))));
    const v = v128.bitselect(p, big, f32x4.lt(ax, splat(0.5)));
    v128.store(o + <usize>i * 4, v128.or(v, v128.and(x, signMask)));
  }
}
