/**
 * MatMul (numpy semantics, batched with broadcasting), Gemm and MatMulInteger. fp32/fp16/bf16 run on the
 * WebAssembly SIMD GEMM with f32 accumulation, then one rounding to the output type (what fp32-accumulating
 * GPU kernels do). DOUBLE, integers and fp16Accumulate (the running sum rounded to half after every add, to
 * show what an fp16 accumulator would lose) keep the float64 loops.
 */
import type { Kernel } from './types.js';
import { num, f64, make, broadcastShape, broadcastIndex, size } from '../util.js';
import { sgemm, wasmFloat } from '../wasm/index.js';
import { roundF16 } from '../../../src/core/half.js';
import { DataType } from '../../../src/core/dtype.js';
import { AmpError } from '../../../src/core/errors.js';
import type { RTensor } from '../../../src/ir/rtensor.js';

/** C[M,N] (+)= A[M,K]·B[K,N] on flat arrays with offsets; `acc16` rounds the running sum to fp16. */
function gemmCore(
  a: Float64Array,
  ao: number,
  b: Float64Array,
  bo: number,
  c: Float64Array,
  co: number,
  M: number,
  N: number,
  K: number,
  transA: boolean,
  transB: boolean,
  alpha: number,
  acc16: boolean,
): void {
  const row = new Float64Array(N);
  for (let m = 0; m < M; m++) {
    row.fill(0);
    for (let k = 0; k < K; k++) {
      const av = a[ao + (transA ? k * M + m : m * K + k)];
      if (av === 0 && !acc16) continue;
      const bb = bo + (transB ? k : k * N);
      if (acc16) for (let n = 0; n < N; n++) row[n] = roundF16(row[n] + roundF16(av * b[transB ? bb + n * K : bb + n]));
      else if (transB) for (let n = 0; n < N; n++) row[n] += av * b[bb + n * K];
      else for (let n = 0; n < N; n++) row[n] += av * b[bb + n];
    }
    for (let n = 0; n < N; n++) c[co + m * N + n] += alpha * row[n];
  }
}

export function matmul(
  A: RTensor,
  B: RTensor,
  acc16: boolean,
  outType = A.dtype,
  node?: Parameters<Kernel>[0],
): RTensor {
  const ad = A.dims.length === 1 ? [1, A.dims[0]] : A.dims;
  const bd = B.dims.length === 1 ? [B.dims[0], 1] : B.dims;
  const M = ad[ad.length - 2],
    K = ad[ad.length - 1],
    N = bd[bd.length - 1];
  if (!A.dims.length || !B.dims.length || bd[bd.length - 2] !== K)
    throw new AmpError(`MatMul of shapes [${A.dims}] and [${B.dims}]: inner dims differ`);
  const batch = broadcastShape([ad.slice(0, -2), bd.slice(0, -2)], node);
  const nb = size(batch);
  const ia = broadcastIndex(ad.slice(0, -2), batch),
    ib = broadcastIndex(bd.slice(0, -2), batch);
  const dims = [...batch, M, N];
  if (A.dims.length === 1) dims.splice(dims.length - 2, 1);
  if (B.dims.length === 1) dims.splice(dims.length - 1, 1);
  if (!acc16 && wasmFloat(A.dtype) && wasmFloat(B.dtype) && wasmFloat(outType)) {
    return {
      dtype: outType,
      dims,
      data: sgemm(
        M,
        N,
        K,
        A,
        B,
        { ars: K, acs: 1, brs: N, bcs: 1 },
        Array.from(ia, (x, i) => [x * M * K, ib[i] * K * N]),
        outType,
      ),
    };
  }
  const a = f64(A),
    b = f64(B);
  const out = new Float64Array(nb * M * N);
  for (let i = 0; i < nb; i++)
    gemmCore(a, ia[i] * M * K, b, ib[i] * K * N, out, i * M * N, M, N, K, false, false, 1, acc16);
  return make(outType, dims, out);
}

export const matmulKernels: Record<string, Kernel> = {
  MatMul: (node, [a, b], ctx) => [matmul(a!, b!, ctx.fp16Accumulate, a!.dtype, node)],
  MatMulInteger: (node, [a, b, az, bz]) => {
    // a_zero_point: scalar or one per row of A; b_zero_point: scalar or one per column of B.
    const shift = (t: RTensor, z: RTensor | undefined, perRow: boolean): RTensor => {
      const v = num(t);
      const zv = z ? num(z) : [0];
      const cols = t.dims[t.dims.length - 1],
        rows = t.dims.length > 1 ? t.dims[t.dims.length - 2] : 1;
      const out = new Float64Array(v.length);
      for (let i = 0; i < v.length; i++)
        out[i] = v[i] - (zv.length === 1 ? zv[0] : zv[perRow ? Math.floor(i / cols) % rows : i % cols]);
      return { dtype: DataType.DOUBLE, dims: t.dims, data: out };
    };
    return [matmul(shift(a!, az, true), shift(b!, bz, false), false, DataType.INT32, node)];
  },
  Gemm: (node, [A, B, C], ctx) => {
    const tA = node.attrInt('transA', 0) === 1,
      tB = node.attrInt('transB', 0) === 1;
    const alpha = node.attrFloat('alpha', 1),
      beta = node.attrFloat('beta', 1);
    const M = tA ? A!.dims[1] : A!.dims[0],
      K = tA ? A!.dims[0] : A!.dims[1],
      N = tB ? B!.dims[0] : B!.dims[1];
    if (A!.dims.length !== 2 || B!.dims.length !== 2 || (tB ? B!.dims[1] : B!.dims[0]) !== K)
      throw new AmpError(
        `Gemm of shapes [${A!.dims}] and [${B!.dims}] (transA ${+tA}, transB ${+tB}): inner dims differ`,
      );
    if (!ctx.fp16Accumulate && wasmFloat(A!.dtype) && wasmFloat(B!.dtype)) {
      const cv = C && beta !== 0 ? num(C) : undefined;
      const ic = cv && broadcastIndex(C!.dims, [M, N]);
      // Epilogue in f32: alpha·AB + beta·C, then one rounding to the output type.
      const epilogue =
        alpha !== 1 || cv
          ? (y: Float32Array) => {
              for (let i = 0; i < y.length; i++) y[i] = alpha * y[i] + (cv ? beta * cv[ic![i]] : 0);
            }
          : undefined;
      const s = { ars: tA ? 1 : K, acs: tA ? M : 1, brs: tB ? 1 : N, bcs: tB ? K : 1 };
      return [{ dtype: A!.dtype, dims: [M, N], data: sgemm(M, N, K, A!, B!, s, [[0, 0]], A!.dtype, epilogue) }];
    }
    const out = new Float64Array(M * N);
    if (C && beta !== 0) {
      const ic = broadcastIndex(C.dims, [M, N]);
      const cv = num(C);
      for (let i = 0; i < M * N; i++) out[i] = beta * cv[ic[i]];
    }
    gemmCore(f64(A!), 0, f64(B!), 0, out, 0, M, N, K, tA, tB, alpha, ctx.fp16Accumulate);
    return [make(A!.dtype, [M, N], out)];
  },
};
