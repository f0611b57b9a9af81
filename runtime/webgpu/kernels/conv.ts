/** 2-D Conv (groups, strides, pads incl. auto_pad, dilations, bias) and 2-D Max/Average/GlobalAverage pools; one invocation per output element. */
import type { GpuKernel } from './types.js';
import { bindings, PROLOGUE, groupsFor, numel, wgslType, type GpuTensor } from '../shader.js';
import { convGeometry } from '../../cpu/kernels/conv.js';
import { poolGeometry } from '../../cpu/kernels/pool.js';
import { DataType } from '../../../src/ir/dtype.js';

const isF = (t?: GpuTensor) => !!t && (t.dtype === DataType.FLOAT || t.dtype === DataType.FLOAT16);

export const convKernels: Record<string, GpuKernel> = {
  Conv: (node, [X, W, B]) => {
    if (!isF(X) || X!.dims.length !== 4 || W!.dtype !== X!.dtype || (B && B.dtype !== X!.dtype)) return undefined;
    const [N, C, H, Wd] = X!.dims, [M, CG, KH, KW] = W!.dims;
    const g = convGeometry(node, [H, Wd], node.attrInts('kernel_shape') ?? [KH, KW]);
    const [OH, OW] = g.out, group = node.attrInt('group', 1);
    const n = N * M * OH * OW, T = wgslType(X!.dtype);
    const ins = B ? [X!, W!, B] : [X!, W!];
    return {
      key: `conv2d:${X!.dtype}:${!!B}`, inputs: ins, outputs: [{ dtype: X!.dtype, dims: [N, M, OH, OW] }],
      meta: [n, C, H, Wd, M, OH, OW, KH, KW, g.strides[0], g.strides[1], g.pads[0], g.pads[1], g.dilations[0], g.dilations[1], group, CG], groups: groupsFor(n),
      wgsl: () => `${bindings(ins.map((t) => t.dtype), [X!.dtype])}${PROLOGUE('prm[0]')}
  let C = prm[1]; let H = i32(prm[2]); let W = i32(prm[3]); let M = prm[4]; let OH = prm[5]; let OW = prm[6];
  let KH = prm[7]; let KW = prm[8]; let CG = prm[16]; let mPerG = M / prm[15];
  let ow = i % OW; let oh = (i / OW) % OH; let m = (i / (OW * OH)) % M; let nb = i / (OW * OH * M);
  let grp = m / mPerG;
  var acc = ${B ? 'f32(in2[m])' : '0.0'};
  for (var c = 0u; c < CG; c++) {
    let xc = (nb * C + grp * CG + c) * u32(H) * u32(W);
    let wc = (m * CG + c) * KH * KW;
    for (var kh = 0u; kh < KH; kh++) {
      let ih = i32(oh * prm[9] + kh * prm[13]) - i32(prm[11]);
      if (ih < 0 || ih >= H) { continue; }
      for (var kw = 0u; kw < KW; kw++) {
        let iw = i32(ow * prm[10] + kw * prm[14]) - i32(prm[12]);
        if (iw < 0 || iw >= W) { continue; }
        acc += f32(in0[xc + u32(ih) * u32(W) + u32(iw)]) * f32(in1[wc + kh * KW + kw]);
      }
    }
  }
  out0[i] = ${T}(acc);
}`,
    };
  },
  MaxPool: (node, [X]) => pool2d(node, X, 'max'),
  AveragePool: (node, [X]) => pool2d(node, X, 'avg'),
  GlobalAveragePool: (_node, [X]) => {
    if (!isF(X)) return undefined;
    const [N, C, ...sp] = X!.dims;
    const S = numel(sp), n = N * C, T = wgslType(X!.dtype);
    return {
      key: `gap:${X!.dtype}`, inputs: [X!], outputs: [{ dtype: X!.dtype, dims: [N, C, ...sp.map(() => 1)] }], meta: [n, S], groups: groupsFor(n),
      wgsl: () => `${bindings([X!.dtype], [X!.dtype])}${PROLOGUE('prm[0]')}
  var s = 0.0;
  for (var k = 0u; k < prm[1]; k++) { s += f32(in0[i * prm[1] + k]); }
  out0[i] = ${T}(s / f32(prm[1]));
}`,
    };
  },
};

function pool2d(node: Parameters<GpuKernel>[0], X: GpuTensor | undefined, kind: 'max' | 'avg') {
  if (!isF(X) || X!.dims.length !== 4 || node.outputs.filter(Boolean).length > 1) return undefined;
  const [N, C, H, W] = X!.dims;
  const g = poolGeometry(node, [H, W]);
  const [OH, OW] = g.out;
  const n = N * C * OH * OW, T = wgslType(X!.dtype);
  const include = node.attrInt('count_include_pad', 0);
  return {
    key: `pool:${kind}:${X!.dtype}`, inputs: [X!], outputs: [{ dtype: X!.dtype, dims: [N, C, OH, OW] }],
    meta: [n, H, W, OH, OW, g.k[0], g.k[1], g.st[0], g.st[1], g.pads[0], g.pads[1], g.dl[0], g.dl[1], include, g.pads[2], g.pads[3]], groups: groupsFor(n),
    wgsl: () => `${bindings([X!.dtype], [X!.dtype])}${PROLOGUE('prm[0]')}
  let H = i32(prm[1]); let W = i32(prm[2]); let OH = prm[3]; let OW = prm[4];
  let ow = i % OW; let oh = (i / OW) % OH; let nc = i / (OW * OH);
  var acc = ${kind === 'max' ? '-3.4e38' : '0.0'};
  var cnt = 0u; var padded = 0u;
  for (var kh = 0u; kh < prm[5]; kh++) {
    let ih = i32(oh * prm[7] + kh * prm[11]) - i32(prm[9]);
    for (var kw = 0u; kw < prm[6]; kw++) {
      let iw = i32(ow * prm[8] + kw * prm[12]) - i32(prm[10]);
      if (ih >= -i32(prm[9]) && ih < H + i32(prm[14]) && iw >= -i32(prm[10]) && iw < W + i32(prm[15])) { padded++; }
      if (ih < 0 || ih >= H || iw < 0 || iw >= W) { continue; }
      let v = f32(in0[nc * u32(H) * u32(W) + u32(ih) * u32(W) + u32(iw)]);
      ${kind === 'max' ? 'acc = max(acc, v);' : 'acc += v;'}
      cnt++;
    }
  }
  ${kind === 'avg' ? 'acc = acc / f32(select(cnt, padded, prm[13] == 1u));' : ''}
  out0[i] = ${T}(acc);
}`,
  };
}
