/** MatMul (batched, broadcast batch dims) and Gemm: tiles in workgroup memory (16×16, or 64×64 register-tiled), f32 accumulation. */
import type { GpuKernel } from './types.js';
import { bindings, numel, wgslType, isFloatTensor, Params } from '../shader.js';
import { broadcastShape, broadcastIndex } from '../../cpu/util.js';


/** The parameters of the tiled kernel; `offs` holds (A offset, B offset) per batch. */
const params = (M: number, N: number, K: number, tA: number, tB: number, alpha: number, beta: number, cRow: number, cCol: number, offs: number[]) =>
  new Params().u32('M', M).u32('N', N).u32('K', K).u32('transA', tA).u32('transB', tB).f32('alpha', alpha).f32('beta', beta)
    .u32('cRow', cRow).u32('cCol', cCol).array('offs', offs);

/** A[M,K]·B[K,N] per batch (workgroup z), 16×16 tiles. */
function tiled(T: string, withC: boolean, p: Params): string {
  return `${p.module}
var<workgroup> tA: array<array<f32, 16>, 16>;
var<workgroup> tB: array<array<f32, 16>, 16>;
@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) l: vec3<u32>) {
  ${p.locals}
  let batch = wg.z;
  let aOff = offs(2u * batch); let bOff = offs(2u * batch + 1u);
  let row = wg.y * 16u + l.y; let col = wg.x * 16u + l.x;
  var acc = 0.0;
  for (var t = 0u; t < (K + 15u) / 16u; t++) {
    let ka = t * 16u + l.x; let kb = t * 16u + l.y;
    var av = 0.0; var bv = 0.0;
    if (row < M && ka < K) { av = f32(in0[aOff + select(row * K + ka, ka * M + row, transA == 1u)]); }
    if (kb < K && col < N) { bv = f32(in1[bOff + select(kb * N + col, col * K + kb, transB == 1u)]); }
    tA[l.y][l.x] = av; tB[l.y][l.x] = bv;
    workgroupBarrier();
    for (var k = 0u; k < 16u; k++) { acc += tA[l.y][k] * tB[k][l.x]; }
    workgroupBarrier();
  }
  if (row < M && col < N) {
    var y = alpha * acc;
    ${withC ? 'y += beta * f32(in2[row * cRow + col * cCol]);' : ''}
    out0[batch * M * N + row * N + col] = ${T}(y);
  }
}`;
}

/**
 * The register-tiled form for larger products: a 16×16 workgroup computes a 64×64 block of C, each invocation
 * a 4×4 sub-block (vec4 rows), from 64×16 / 16×64 tiles of A and B in workgroup memory. Every output is the
 * same f32 sum in k order as `tiled`, so both kernels agree bit for bit; this one loads each element of the
 * tiles once per 16 multiply-adds instead of once per one.
 */
function tiled4(T: string, withC: boolean, p: Params): string {
  return `${p.module}
var<workgroup> As: array<array<f32, 64>, 16>;
var<workgroup> Bs: array<array<f32, 64>, 16>;
@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) l: vec3<u32>) {
  ${p.locals}
  let batch = wg.z;
  let aOff = offs(2u * batch); let bOff = offs(2u * batch + 1u);
  let tid = l.y * 16u + l.x;
  let row0 = wg.y * 64u + l.y * 4u; let col0 = wg.x * 64u + l.x * 4u;
  var acc = array<vec4<f32>, 4>(vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0));
  for (var t = 0u; t < (K + 15u) / 16u; t++) {
    for (var e = 0u; e < 4u; e++) {
      let idx = tid + e * 256u;
      let am = idx / 16u; let ak = idx % 16u;
      let gm = wg.y * 64u + am; let gk = t * 16u + ak;
      var av = 0.0;
      if (gm < M && gk < K) { av = f32(in0[aOff + select(gm * K + gk, gk * M + gm, transA == 1u)]); }
      As[ak][am] = av;
      let bk = idx / 64u; let bn = idx % 64u;
      let gkb = t * 16u + bk; let gn = wg.x * 64u + bn;
      var bv = 0.0;
      if (gkb < K && gn < N) { bv = f32(in1[bOff + select(gkb * N + gn, gn * K + gkb, transB == 1u)]); }
      Bs[bk][bn] = bv;
    }
    workgroupBarrier();
    for (var k = 0u; k < 16u; k++) {
      let b = vec4<f32>(Bs[k][l.x * 4u], Bs[k][l.x * 4u + 1u], Bs[k][l.x * 4u + 2u], Bs[k][l.x * 4u + 3u]);
      for (var i = 0u; i < 4u; i++) { acc[i] = acc[i] + As[k][l.y * 4u + i] * b; }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < 4u; i++) {
    let row = row0 + i;
    if (row >= M) { break; }
    for (var j = 0u; j < 4u; j++) {
      let col = col0 + j;
      if (col < N) {
        var y = alpha * acc[i][j];
        ${withC ? 'y += beta * f32(in2[row * cRow + col * cCol]);' : ''}
        out0[batch * M * N + row * N + col] = ${T}(y);
      }
    }
  }
}`;
}
/** Products this large use the register-tiled kernel (below, the 16×16 one wastes fewer invocations). */
const big = (M: number, N: number) => M >= 64 && N >= 64;

export const matmulKernels: Record<string, GpuKernel> = {
  MatMul: (node, [A, B]) => {
    if (!isFloatTensor(A) || !isFloatTensor(B) || A!.dtype !== B!.dtype || A!.dims.length < 2 || B!.dims.length < 2) return undefined;
    const ad = A!.dims, bd = B!.dims;
    const M = ad[ad.length - 2], K = ad[ad.length - 1], N = bd[bd.length - 1];
    const batch = broadcastShape([ad.slice(0, -2), bd.slice(0, -2)], node);
    const nb = numel(batch);
    if (nb > 65535) return undefined;
    const ia = broadcastIndex(ad.slice(0, -2), batch), ib = broadcastIndex(bd.slice(0, -2), batch);
    const offs: number[] = [];
    for (let i = 0; i < nb; i++) offs.push(ia[i] * M * K, ib[i] * K * N);
    const T = wgslType(A!.dtype);
    const p = params(M, N, K, 0, 0, 1, 0, 0, 0, offs);
    const t4 = big(M, N), tile = t4 ? 64 : 16;
    return {
      key: `matmul:${A!.dtype}:${t4}`, inputs: [A!, B!], outputs: [{ dtype: A!.dtype, dims: [...batch, M, N] }],
      meta: p.meta, groups: Math.ceil(N / tile), groupsY: Math.ceil(M / tile), groupsZ: nb,
      wgsl: () => `${bindings([A!.dtype, B!.dtype], [A!.dtype])}${(t4 ? tiled4 : tiled)(T, false, p)}`,
    };
  },
  Gemm: (node, [A, B, C]) => {
    if (!isFloatTensor(A) || !isFloatTensor(B) || A!.dtype !== B!.dtype || (C && C.dtype !== A!.dtype)) return undefined;
    const tA = node.attrInt('transA', 0), tB = node.attrInt('transB', 0);
    const M = tA ? A!.dims[1] : A!.dims[0], K = tA ? A!.dims[0] : A!.dims[1], N = tB ? B!.dims[0] : B!.dims[1];
    let cr = 0, cc = 0;
    if (C) {
      const cd = C.dims.length === 1 ? [1, C.dims[0]] : C.dims.length === 0 ? [1, 1] : C.dims;
      cr = cd[0] === 1 ? 0 : cd[1];
      cc = cd[1] === 1 ? 0 : 1;
    }
    const T = wgslType(A!.dtype);
    const ins = C ? [A!, B!, C] : [A!, B!];
    const p = params(M, N, K, tA, tB, node.attrFloat('alpha', 1), node.attrFloat('beta', 1), cr, cc, [0, 0]);
    const t4 = big(M, N), tile = t4 ? 64 : 16;
    return {
      key: `gemm:${A!.dtype}:${!!C}:${t4}`, inputs: ins, outputs: [{ dtype: A!.dtype, dims: [M, N] }],
      meta: p.meta,
      groups: Math.ceil(N / tile), groupsY: Math.ceil(M / tile), groupsZ: 1,
      wgsl: () => `${bindings(ins.map((t) => t.dtype), [A!.dtype])}${(t4 ? tiled4 : tiled)(T, !!C, p)}`,
    };
  },
};
