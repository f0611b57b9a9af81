/** MatMul (batched, broadcast batch dims) and Gemm: 16×16 tiles in workgroup memory, f32 accumulation. */
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
    return {
      key: `matmul:${A!.dtype}`, inputs: [A!, B!], outputs: [{ dtype: A!.dtype, dims: [...batch, M, N] }],
      meta: p.meta, groups: Math.ceil(N / 16), groupsY: Math.ceil(M / 16), groupsZ: nb,
      wgsl: () => `${bindings([A!.dtype, B!.dtype], [A!.dtype])}${tiled(T, false, p)}`,
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
    return {
      key: `gemm:${A!.dtype}:${!!C}`, inputs: ins, outputs: [{ dtype: A!.dtype, dims: [M, N] }],
      meta: p.meta,
      groups: Math.ceil(N / 16), groupsY: Math.ceil(M / 16), groupsZ: 1,
      wgsl: () => `${bindings(ins.map((t) => t.dtype), [A!.dtype])}${tiled(T, !!C, p)}`,
    };
  },
};
