/** MatMul (batched, broadcast batch dims) and Gemm: 16×16 tiles in workgroup memory, f32 accumulation. */
import type { GpuKernel } from './types.js';
import { bindings, numel, wgslType, f32bits, type GpuTensor } from '../shader.js';
import { broadcastShape, broadcastIndex } from '../../cpu/util.js';
import { DataType } from '../../../src/ir/dtype.js';

const isF = (t?: GpuTensor) => !!t && (t.dtype === DataType.FLOAT || t.dtype === DataType.FLOAT16);

/** A[M,K]·B[K,N] per batch; meta: M N K tA tB alpha beta hasC cRowStride cColStride, then (aOff,bOff) per batch. */
function tiled(T: string, withC: boolean): string {
  return `
var<workgroup> tA: array<array<f32, 16>, 16>;
var<workgroup> tB: array<array<f32, 16>, 16>;
@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) l: vec3<u32>) {
  let M = prm[0]; let N = prm[1]; let K = prm[2]; let tA_ = prm[3]; let tB_ = prm[4];
  let batch = wg.z;
  let aOff = prm[10u + 2u * batch]; let bOff = prm[11u + 2u * batch];
  let row = wg.y * 16u + l.y; let col = wg.x * 16u + l.x;
  var acc = 0.0;
  for (var t = 0u; t < (K + 15u) / 16u; t++) {
    let ka = t * 16u + l.x; let kb = t * 16u + l.y;
    var av = 0.0; var bv = 0.0;
    if (row < M && ka < K) { av = f32(in0[aOff + select(row * K + ka, ka * M + row, tA_ == 1u)]); }
    if (kb < K && col < N) { bv = f32(in1[bOff + select(kb * N + col, col * K + kb, tB_ == 1u)]); }
    tA[l.y][l.x] = av; tB[l.y][l.x] = bv;
    workgroupBarrier();
    for (var k = 0u; k < 16u; k++) { acc += tA[l.y][k] * tB[k][l.x]; }
    workgroupBarrier();
  }
  if (row < M && col < N) {
    var y = bitcast<f32>(prm[5]) * acc;
    ${withC ? 'y += bitcast<f32>(prm[6]) * f32(in2[row * prm[8] + col * prm[9]]);' : ''}
    out0[batch * M * N + row * N + col] = ${T}(y);
  }
}`;
}

export const matmulKernels: Record<string, GpuKernel> = {
  MatMul: (node, [A, B]) => {
    if (!isF(A) || !isF(B) || A!.dtype !== B!.dtype || A!.dims.length < 2 || B!.dims.length < 2) return undefined;
    const ad = A!.dims, bd = B!.dims;
    const M = ad[ad.length - 2], K = ad[ad.length - 1], N = bd[bd.length - 1];
    const batch = broadcastShape([ad.slice(0, -2), bd.slice(0, -2)], node);
    const nb = numel(batch);
    if (nb > 65535) return undefined;
    const ia = broadcastIndex(ad.slice(0, -2), batch), ib = broadcastIndex(bd.slice(0, -2), batch);
    const offs: number[] = [];
    for (let i = 0; i < nb; i++) offs.push(ia[i] * M * K, ib[i] * K * N);
    const T = wgslType(A!.dtype);
    return {
      key: `matmul:${A!.dtype}`, inputs: [A!, B!], outputs: [{ dtype: A!.dtype, dims: [...batch, M, N] }],
      meta: [M, N, K, 0, 0, f32bits(1), 0, 0, 0, 0, ...offs], groups: Math.ceil(N / 16), groupsY: Math.ceil(M / 16), groupsZ: nb,
      wgsl: () => `${bindings([A!.dtype, B!.dtype], [A!.dtype])}${tiled(T, false)}`,
    };
  },
  Gemm: (node, [A, B, C]) => {
    if (!isF(A) || !isF(B) || A!.dtype !== B!.dtype || (C && C.dtype !== A!.dtype)) return undefined;
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
    return {
      key: `gemm:${A!.dtype}:${!!C}`, inputs: ins, outputs: [{ dtype: A!.dtype, dims: [M, N] }],
      meta: [M, N, K, tA, tB, f32bits(node.attrFloat('alpha', 1)), f32bits(node.attrFloat('beta', 1)), C ? 1 : 0, cr, cc, 0, 0],
      groups: Math.ceil(N / 16), groupsY: Math.ceil(M / 16), groupsZ: 1,
      wgsl: () => `${bindings(ins.map((t) => t.dtype), [A!.dtype])}${tiled(T, !!C)}`,
    };
  },
};
