/**
 * Conv and ConvTranspose for any number of spatial dims (1-D/2-D/3-D), with groups, strides, pads (incl.
 * auto_pad), dilations. 1-D and 2-D Conv in fp32/fp16/bf16 run as im2col + the WebAssembly SIMD GEMM with f32
 * accumulation (bias added in f32, one rounding to the output type); 3-D, DOUBLE, ConvTranspose and
 * fp16Accumulate use direct loops over output positions with float64 (or fp16) accumulation.
 */
import { roundF16 } from '../../../src/core/half.js';
import { asConv2d, convGeometry, convTransposeGeometry } from '../../ops/conv.js';
import { f64, make, num, size, strides } from '../util.js';
import { conv2d, wasmFloat } from '../wasm/index.js';
import type { Kernel } from './types.js';

/** For every spatial axis position of the kernel window: offsets (dilated) flattened. */
function windowOffsets(kernel: number[], dil: number[]): number[][] {
  const total = size(kernel);
  const offs: number[][] = [];
  for (let i = 0; i < total; i++) {
    let rem = i;
    const o = new Array<number>(kernel.length);
    for (let a = kernel.length - 1; a >= 0; a--) {
      o[a] = (rem % kernel[a]) * dil[a];
      rem = Math.floor(rem / kernel[a]);
    }
    offs.push(o);
  }
  return offs;
}

export const convKernels: Record<string, Kernel> = {
  Conv: (node, [X, W, B], ctx) => {
    const [N, C, ...sp] = X!.dims;
    const [M, CG, ...kdims] = W!.dims;
    const group = node.attrInt('group', 1);
    const g = convGeometry(node, sp, node.attrInts('kernel_shape') ?? kdims);
    if (!ctx.fp16Accumulate && sp.length <= 2 && wasmFloat(X!.dtype) && wasmFloat(W!.dtype)) {
      // 1-D runs as 2-D with a height of 1.
      const data = conv2d(X!, N, W!, B ? num(B) : undefined, { C, M, group, ...asConv2d(sp, kdims, g) }, X!.dtype);
      return [{ dtype: X!.dtype, dims: [N, M, ...g.out], data }];
    }
    const x = f64(X!),
      w = f64(W!),
      b = B ? num(B) : undefined;
    const outSp = g.out,
      r = sp.length;
    const osz = size(outSp),
      isz = size(sp),
      ksz = size(kdims);
    const xs = strides(sp);
    const win = windowOffsets(kdims, g.dilations);
    const out = new Float64Array(N * M * osz);
    const mPerG = M / group;
    const pos = new Array<number>(r);
    const idx = new Int32Array(ksz);
    const acc16 = ctx.fp16Accumulate;
    for (let o = 0; o < osz; o++) {
      let rem = o;
      for (let a = r - 1; a >= 0; a--) {
        pos[a] = (rem % outSp[a]) * g.strides[a] - g.pads[a];
        rem = Math.floor(rem / outSp[a]);
      }
      // Valid input offsets of this output position's window (−1 where it falls in the padding).
      for (let k = 0; k < ksz; k++) {
        let off = 0;
        for (let a = 0; a < r; a++) {
          const p = pos[a] + win[k][a];
          if (p < 0 || p >= sp[a]) {
            off = -1;
            break;
          }
          off += p * xs[a];
        }
        idx[k] = off;
      }
      for (let n = 0; n < N; n++) {
        for (let m = 0; m < M; m++) {
          const grp = Math.floor(m / mPerG);
          let s = b ? b[m] : 0;
          for (let c = 0; c < CG; c++) {
            const xb = (n * C + grp * CG + c) * isz;
            const wb = (m * CG + c) * ksz;
            for (let k = 0; k < ksz; k++) {
              const off = idx[k];
              if (off < 0) continue;
              s = acc16 ? roundF16(s + roundF16(x[xb + off] * w[wb + k])) : s + x[xb + off] * w[wb + k];
            }
          }
          out[(n * M + m) * osz + o] = s;
        }
      }
    }
    return [make(X!.dtype, [N, M, ...outSp], out)];
  },
  ConvTranspose: (node, [X, W, B]) => {
    const [N, C, ...sp] = X!.dims;
    const [, MG, ...kdims] = W!.dims;
    const group = node.attrInt('group', 1);
    const M = MG * group,
      r = sp.length;
    const { strides: st, dilations: dl, pads, out: outSp } = convTransposeGeometry(node, sp, kdims);
    const x = num(X!),
      w = num(W!),
      b = B ? num(B) : undefined;
    const osz = size(outSp),
      isz = size(sp),
      ksz = size(kdims);
    const os = strides(outSp);
    const win = windowOffsets(kdims, dl);
    const out = new Float64Array(N * M * osz);
    const cPerG = C / group;
    const pos = new Array<number>(r);
    for (let i = 0; i < isz; i++) {
      let rem = i;
      for (let a = r - 1; a >= 0; a--) {
        pos[a] = (rem % sp[a]) * st[a] - pads[a];
        rem = Math.floor(rem / sp[a]);
      }
      const idx = new Int32Array(ksz);
      for (let k = 0; k < ksz; k++) {
        let off = 0;
        for (let a = 0; a < r; a++) {
          const p = pos[a] + win[k][a];
          if (p < 0 || p >= outSp[a]) {
            off = -1;
            break;
          }
          off += p * os[a];
        }
        idx[k] = off;
      }
      for (let n = 0; n < N; n++)
        for (let c = 0; c < C; c++) {
          const xv = x[(n * C + c) * isz + i];
          if (xv === 0) continue;
          const grp = Math.floor(c / cPerG);
          for (let mg = 0; mg < MG; mg++) {
            const m = grp * MG + mg;
            const wb = (c * MG + mg) * ksz,
              ob = (n * M + m) * osz;
            for (let k = 0; k < ksz; k++) if (idx[k] >= 0) out[ob + idx[k]] += xv * w[wb + k];
          }
        }
    }
    if (b)
      for (let n = 0; n < N; n++)
        for (let m = 0; m < M; m++) for (let o = 0; o < osz; o++) out[(n * M + m) * osz + o] += b[m];
    return [make(X!.dtype, [N, M, ...outSp], out)];
  },
};
