/**
 * Conv and ConvTranspose for any number of spatial dims (1-D/2-D/3-D), with groups, strides, pads (incl.
 * auto_pad), dilations. 1-D and 2-D Conv in fp32/fp16/bf16 run as im2col + the WebAssembly SIMD GEMM with f32
 * accumulation (bias added in f32, one rounding to the output type); 3-D, DOUBLE, ConvTranspose and
 * fp16Accumulate use direct loops over output positions with float64 (or fp16) accumulation.
 */
import type { Kernel } from './types.js';
import { num, f64, make, size, strides, samePads } from '../util.js';
import { conv2d, wasmFloat } from '../wasm/index.js';
import { roundF16 } from '../../../src/core/half.js';
import type { Node } from '../../../src/ir/graph.js';
import { AmpError } from '../../../src/core/errors.js';

export interface ConvGeom { kernel: number[]; strides: number[]; pads: number[]; dilations: number[]; out: number[] }

/**
 * A sliding window's attributes must fit the input's r spatial axes: one kernel size, stride and dilation per
 * axis (≥ 1), two pads per axis (≥ 0). A hostile model otherwise asks for windows of 10¹² taps or NaN output sizes.
 */
export function checkWindow(r: number, w: { kernel: number[]; strides: number[]; dilations: number[]; pads: number[] }): void {
  const each = (name: string, v: number[], len: number, min: number) => {
    if (v.length !== len) throw windowError(r, `${name} has ${v.length} entries, not ${len}`);
    // Below 2^31 too: the GPU kernels take them as 32-bit integers.
    const x = v.find((e) => !Number.isSafeInteger(e) || e < min || e >= 2 ** 31);
    if (x !== undefined) throw windowError(r, `${name} holds ${x}; each must be an integer from ${min} to 2^31 − 1`);
  };
  each('kernel_shape', w.kernel, r, 1);
  each('strides', w.strides, r, 1);
  each('dilations', w.dilations, r, 1);
  each('pads', w.pads, 2 * r, 0);
}
/** Once the output size is known (after checkWindow): at least one window position per spatial axis. */
export function checkPositions(node: Node, kernel: number[], dilations: number[], out: number[]): void {
  if (out.some((o) => !(o >= 1))) throw windowError(out.length, `the ${node.opType} window (kernel ${kernel.join('×')}, dilations ${dilations.join(',')}) is larger than the padded input`);
}
const windowError = (r: number, what: string) => new AmpError(`${what} (input with ${r} spatial axes)`);

/** Output size and begin/end pads per spatial axis, following auto_pad. */
export function convGeometry(node: Node, spatial: number[], kernel: number[], transpose = false): ConvGeom {
  const r = spatial.length;
  const st = node.attrInts('strides') ?? new Array(r).fill(1);
  const dl = node.attrInts('dilations') ?? new Array(r).fill(1);
  let pads = node.attrInts('pads') ?? new Array(2 * r).fill(0);
  const auto = node.attrString('auto_pad', 'NOTSET');
  const out: number[] = [];
  const ek = kernel.map((k, i) => (k - 1) * dl[i] + 1);
  if (!transpose) {
    if (auto === 'SAME_UPPER' || auto === 'SAME_LOWER') pads = samePads(spatial, st, ek, auto);
    else if (auto === 'VALID') pads = new Array(2 * r).fill(0);
    checkWindow(r, { kernel, strides: st, dilations: dl, pads });
    for (let i = 0; i < r; i++) out.push(Math.floor((spatial[i] + pads[i] + pads[i + r] - ek[i]) / st[i]) + 1);
    checkPositions(node, kernel, dl, out);
  }
  return { kernel, strides: st, pads, dilations: dl, out };
}


/**
 * ConvTranspose's output size and begin/end pads per spatial axis: from pads and output_padding, or — with
 * output_shape or auto_pad SAME_* — the pads that produce that shape (split as the spec says).
 */
export function convTransposeGeometry(node: Node, sp: number[], kdims: number[]): Omit<ConvGeom, 'kernel'> {
  const r = sp.length;
  const st = node.attrInts('strides') ?? new Array(r).fill(1);
  const dl = node.attrInts('dilations') ?? new Array(r).fill(1);
  const op = node.attrInts('output_padding') ?? new Array(r).fill(0);
  let pads = node.attrInts('pads') ?? new Array(2 * r).fill(0);
  const ek = kdims.map((k, i) => (k - 1) * dl[i] + 1);
  let out = sp.map((s, i) => st[i] * (s - 1) + op[i] + ek[i] - pads[i] - pads[i + r]);
  const given = node.attrInts('output_shape');
  const auto = node.attrString('auto_pad', 'NOTSET');
  if (given || auto === 'SAME_UPPER' || auto === 'SAME_LOWER') {
    const target = given ? given.slice(-r) : sp.map((s, i) => s * st[i]);
    pads = new Array(2 * r).fill(0);
    for (let i = 0; i < r; i++) {
      const total = st[i] * (sp[i] - 1) + op[i] + ek[i] - target[i];
      const half = Math.floor(total / 2);
      if (auto === 'SAME_UPPER') { pads[i] = half; pads[i + r] = total - half; } else { pads[i] = total - half; pads[i + r] = half; }
    }
    out = target;
  }
  return { strides: st, dilations: dl, pads, out };
}

/** For every spatial axis position of the kernel window: offsets (dilated) flattened. */
function windowOffsets(kernel: number[], dil: number[]): number[][] {
  const total = size(kernel);
  const offs: number[][] = [];
  for (let i = 0; i < total; i++) {
    let rem = i;
    const o = new Array<number>(kernel.length);
    for (let a = kernel.length - 1; a >= 0; a--) { o[a] = (rem % kernel[a]) * dil[a]; rem = Math.floor(rem / kernel[a]); }
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
      const two = (v: number[], one: number) => (v.length === 2 ? v : [one, v[0]]);
      const [H, Wd] = two(sp, 1), [KH, KW] = two(kdims, 1), [OH, OW] = two(g.out, 1), [SH, SW] = two(g.strides, 1), [DH, DW] = two(g.dilations, 1);
      const [PT, PL] = sp.length === 2 ? [g.pads[0], g.pads[1]] : [0, g.pads[0]];
      const data = conv2d(X!, N, W!, B ? num(B) : undefined, { C, H, W: Wd, M, KH, KW, SH, SW, PT, PL, DH, DW, OH, OW, group }, X!.dtype);
      return [{ dtype: X!.dtype, dims: [N, M, ...g.out], data }];
    }
    const x = f64(X!), w = f64(W!), b = B ? num(B) : undefined;
    const outSp = g.out, r = sp.length;
    const osz = size(outSp), isz = size(sp), ksz = size(kdims);
    const xs = strides(sp);
    const win = windowOffsets(kdims, g.dilations);
    const out = new Float64Array(N * M * osz);
    const mPerG = M / group;
    const pos = new Array<number>(r);
    const idx = new Int32Array(ksz);
    const acc16 = ctx.fp16Accumulate;
    for (let o = 0; o < osz; o++) {
      let rem = o;
      for (let a = r - 1; a >= 0; a--) { pos[a] = (rem % outSp[a]) * g.strides[a] - g.pads[a]; rem = Math.floor(rem / outSp[a]); }
      // Valid input offsets of this output position's window (−1 where it falls in the padding).
      for (let k = 0; k < ksz; k++) {
        let off = 0;
        for (let a = 0; a < r; a++) {
          const p = pos[a] + win[k][a];
          if (p < 0 || p >= sp[a]) { off = -1; break; }
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
    const M = MG * group, r = sp.length;
    const { strides: st, dilations: dl, pads, out: outSp } = convTransposeGeometry(node, sp, kdims);
    const x = num(X!), w = num(W!), b = B ? num(B) : undefined;
    const osz = size(outSp), isz = size(sp), ksz = size(kdims);
    const os = strides(outSp);
    const win = windowOffsets(kdims, dl);
    const out = new Float64Array(N * M * osz);
    const cPerG = C / group;
    const pos = new Array<number>(r);
    for (let i = 0; i < isz; i++) {
      let rem = i;
      for (let a = r - 1; a >= 0; a--) { pos[a] = (rem % sp[a]) * st[a] - pads[a]; rem = Math.floor(rem / sp[a]); }
      const idx = new Int32Array(ksz);
      for (let k = 0; k < ksz; k++) {
        let off = 0;
        for (let a = 0; a < r; a++) {
          const p = pos[a] + win[k][a];
          if (p < 0 || p >= outSp[a]) { off = -1; break; }
          off += p * os[a];
        }
        idx[k] = off;
      }
      for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) {
        const xv = x[(n * C + c) * isz + i];
        if (xv === 0) continue;
        const grp = Math.floor(c / cPerG);
        for (let mg = 0; mg < MG; mg++) {
          const m = grp * MG + mg;
          const wb = (c * MG + mg) * ksz, ob = (n * M + m) * osz;
          for (let k = 0; k < ksz; k++) if (idx[k] >= 0) out[ob + idx[k]] += xv * w[wb + k];
        }
      }
    }
    if (b) for (let n = 0; n < N; n++) for (let m = 0; m < M; m++) for (let o = 0; o < osz; o++) out[(n * M + m) * osz + o] += b[m];
    return [make(X!.dtype, [N, M, ...outSp], out)];
  },
};
