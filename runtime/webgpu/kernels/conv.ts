/**
 * 2-D Conv (groups, strides, pads incl. auto_pad, dilations, bias) and ConvTranspose (groups, strides, pads,
 * dilations, output_padding, output_shape / auto_pad, bias; geometry shared with the CPU kernel); one
 * invocation per output element, f32 accumulation.
 */
import type { GpuKernel } from './types.js';
import { bindings, PROLOGUE, groupsFor, wgslType, isFloatTensor, Params } from '../shader.js';
import { convGeometry, convTransposeGeometry } from '../../cpu/kernels/conv.js';

export const convKernels: Record<string, GpuKernel> = {
  Conv: (node, [X, W, B]) => {
    if (!isFloatTensor(X) || X!.dims.length !== 4 || W!.dtype !== X!.dtype || (B && B.dtype !== X!.dtype)) return undefined;
    const [N, C, H, Wd] = X!.dims, [M, CG, KH, KW] = W!.dims;
    const g = convGeometry(node, [H, Wd], node.attrInts('kernel_shape') ?? [KH, KW]);
    const [OH, OW] = g.out, group = node.attrInt('group', 1);
    const n = N * M * OH * OW, T = wgslType(X!.dtype);
    const ins = B ? [X!, W!, B] : [X!, W!];
    const p = new Params().u32('count', n).u32('C', C).i32('H', H).i32('W', Wd).u32('M', M).u32('OH', OH).u32('OW', OW)
      .u32('KH', KH).u32('KW', KW).u32('SH', g.strides[0]).u32('SW', g.strides[1]).u32('PT', g.pads[0]).u32('PL', g.pads[1])
      .u32('DH', g.dilations[0]).u32('DW', g.dilations[1]).u32('G', group).u32('CG', CG);
    return {
      key: `conv2d:${X!.dtype}:${!!B}`, inputs: ins, outputs: [{ dtype: X!.dtype, dims: [N, M, OH, OW] }], meta: p.meta, groups: groupsFor(n),
      wgsl: () => `${bindings(ins.map((t) => t.dtype), [X!.dtype])}${PROLOGUE('count', p)}
  let mPerG = M / G;
  let ow = i % OW; let oh = (i / OW) % OH; let m = (i / (OW * OH)) % M; let nb = i / (OW * OH * M);
  let grp = m / mPerG;
  var acc = ${B ? 'f32(in2[m])' : '0.0'};
  for (var c = 0u; c < CG; c++) {
    let xc = (nb * C + grp * CG + c) * u32(H) * u32(W);
    let wc = (m * CG + c) * KH * KW;
    for (var kh = 0u; kh < KH; kh++) {
      let ih = i32(oh * SH + kh * DH) - i32(PT);
      if (ih < 0 || ih >= H) { continue; }
      for (var kw = 0u; kw < KW; kw++) {
        let iw = i32(ow * SW + kw * DW) - i32(PL);
        if (iw < 0 || iw >= W) { continue; }
        acc += f32(in0[xc + u32(ih) * u32(W) + u32(iw)]) * f32(in1[wc + kh * KW + kw]);
      }
    }
  }
  out0[i] = ${T}(acc);
}`,
    };
  },
  ConvTranspose: (node, [X, W, B]) => {
    if (!isFloatTensor(X) || X!.dims.length !== 4 || W!.dtype !== X!.dtype || (B && B.dtype !== X!.dtype)) return undefined;
    const [N, C, H, Wd] = X!.dims, [, MG, KH, KW] = W!.dims, group = node.attrInt('group', 1);
    const { strides: s, dilations: d, pads: p0, out: [OH, OW] } = convTransposeGeometry(node, [H, Wd], [KH, KW]);
    const M = MG * group, n = N * M * OH * OW, T = wgslType(X!.dtype);
    if (OH <= 0 || OW <= 0) return undefined;
    const ins = B ? [X!, W!, B] : [X!, W!];
    const p = new Params().u32('count', n).u32('C', C).i32('H', H).i32('W', Wd).u32('M', M).u32('MG', MG).u32('OH', OH).u32('OW', OW)
      .u32('KH', KH).u32('KW', KW).i32('SH', s[0]).i32('SW', s[1]).i32('PT', p0[0]).i32('PL', p0[1]).i32('DH', d[0]).i32('DW', d[1]).u32('CG', C / group);
    return {
      key: `convtranspose2d:${X!.dtype}:${!!B}`, inputs: ins, outputs: [{ dtype: X!.dtype, dims: [N, M, OH, OW] }], meta: p.meta, groups: groupsFor(n),
      wgsl: () => `${bindings(ins.map((t) => t.dtype), [X!.dtype])}${PROLOGUE('count', p)}
  let ow = i % OW; let oh = (i / OW) % OH; let m = (i / (OW * OH)) % M; let nb = i / (OW * OH * M);
  let grp = m / MG; let ml = m % MG;
  var acc = ${B ? 'f32(in2[m])' : '0.0'};
  for (var c = 0u; c < CG; c++) {
    let cg = grp * CG + c;
    let xc = (nb * C + cg) * u32(H) * u32(W);
    let wc = (cg * MG + ml) * KH * KW;
    for (var kh = 0u; kh < KH; kh++) {
      let th = i32(oh) + PT - i32(kh) * DH;
      if (th < 0 || th % SH != 0) { continue; }
      let ih = th / SH;
      if (ih >= H) { continue; }
      for (var kw = 0u; kw < KW; kw++) {
        let tw = i32(ow) + PL - i32(kw) * DW;
        if (tw < 0 || tw % SW != 0) { continue; }
        let iw = tw / SW;
        if (iw >= W) { continue; }
        acc += f32(in0[xc + u32(ih) * u32(W) + u32(iw)]) * f32(in1[wc + kh * KW + kw]);
      }
    }
  }
  out0[i] = ${T}(acc);
}`,
    };
  },
};
