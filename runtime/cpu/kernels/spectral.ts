/**
 * DFT (opset 17: axis attribute; opset 20: axis input) and STFT. Real ([..., 1]) or complex ([..., 2]) input,
 * complex output; onesided keeps the first ⌊n/2⌋+1 bins; inverse divides by n. Direct O(n²) sums with
 * precomputed twiddles in float64 — a reference, not an FFT.
 */
import type { Kernel } from './types.js';
import { num, make, size, ints, normAxis } from '../util.js';
import type { RTensor } from '../../../src/ir/rtensor.js';

/** out[k] = Σ_j x[j]·e^(∓2πi·jk/n) over `n` samples read at re/im(j), bins [0, bins). */
function dft1(
  n: number,
  bins: number,
  inverse: boolean,
  re: (j: number) => number,
  im: (j: number) => number,
  put: (k: number, r: number, i: number) => void,
  len = n,
): void {
  const sgn = inverse ? 1 : -1;
  for (let k = 0; k < bins; k++) {
    let sr = 0,
      si = 0;
    for (let j = 0; j < len; j++) {
      const a = (sgn * 2 * Math.PI * ((j * k) % n)) / n,
        c = Math.cos(a),
        s = Math.sin(a);
      const xr = re(j),
        xi = im(j);
      sr += xr * c - xi * s;
      si += xr * s + xi * c;
    }
    put(k, inverse ? sr / n : sr, inverse ? si / n : si);
  }
}

/**
 * Inverse of a one-sided spectrum (inverse = onesided = 1): input [..., n/2 + 1 bins, ..., 2] along `axis`, the
 * other half by Hermitian symmetry, real output [..., n, ..., 1] with n = dft_length or 2·(bins − 1).
 */
function irfft(X: RTensor, axis: number, length?: number): RTensor {
  const bins = X.dims[axis],
    n = length ?? 2 * (bins - 1),
    cplx = X.dims[X.dims.length - 1] === 2;
  const outDims = [...X.dims.slice(0, -1), 1];
  outDims[axis] = n;
  const x = num(X),
    out = new Float64Array(size(outDims));
  const inner = size(X.dims.slice(axis + 1, -1)),
    outer = size(X.dims.slice(0, axis)),
    w = cplx ? 2 : 1;
  for (let o = 0; o < outer; o++)
    for (let q = 0; q < inner; q++) {
      const at = (k: number) => ((o * bins + k) * inner + q) * w;
      const re = (k: number) => (k < bins ? x[at(k)] : n - k < bins ? x[at(n - k)] : 0);
      const im = (k: number) => (!cplx ? 0 : k < bins ? x[at(k) + 1] : n - k < bins ? -x[at(n - k) + 1] : 0);
      dft1(n, n, true, re, im, (j, r) => {
        out[(o * n + j) * inner + q] = r;
      });
    }
  return make(X.dtype, outDims, out);
}

export const spectralKernels: Record<string, Kernel> = {
  DFT: (node, [X, lenT, axisT], ctx) => {
    const r = X!.dims.length,
      cplx = X!.dims[r - 1] === 2;
    const axis = normAxis(ctx.opset >= 20 ? (axisT ? ints(axisT)[0] : -2) : node.attrInt('axis', 1), r);
    const inverse = node.attrInt('inverse', 0) === 1,
      onesided = node.attrInt('onesided', 0) === 1;
    if (inverse && onesided) return [irfft(X!, axis, lenT ? ints(lenT)[0] : undefined)];
    const len = X!.dims[axis],
      n = lenT ? ints(lenT)[0] : len,
      bins = onesided ? Math.floor(n / 2) + 1 : n;
    const outDims = [...X!.dims.slice(0, -1), 2];
    outDims[axis] = bins;
    const x = num(X!),
      out = new Float64Array(size(outDims));
    const inner = size(X!.dims.slice(axis + 1, -1)),
      outer = size(X!.dims.slice(0, axis)),
      w = cplx ? 2 : 1;
    for (let o = 0; o < outer; o++)
      for (let q = 0; q < inner; q++) {
        const at = (j: number) => ((o * len + j) * inner + q) * w;
        dft1(
          n,
          bins,
          inverse,
          (j) => (j < len ? x[at(j)] : 0),
          (j) => (cplx && j < len ? x[at(j) + 1] : 0),
          (k, re, im) => {
            const p = ((o * bins + k) * inner + q) * 2;
            out[p] = re;
            out[p + 1] = im;
          },
          Math.min(n, len),
        );
      }
    return [make(X!.dtype, outDims, out)];
  },
  STFT: (node, [sig, stepT, win, lenT]) => {
    const [B, L, c] = sig!.dims,
      cplx = c === 2;
    const step = ints(stepT)[0],
      w = win ? num(win) : undefined;
    const fl = lenT ? ints(lenT)[0] : w!.length;
    const onesided = node.attrInt('onesided', 1) === 1,
      bins = onesided ? Math.floor(fl / 2) + 1 : fl;
    const frames = Math.floor((L - fl) / step) + 1;
    const x = num(sig!),
      out = new Float64Array(B * frames * bins * 2);
    for (let b = 0; b < B; b++)
      for (let f = 0; f < frames; f++) {
        const at = (j: number) => (b * L + f * step + j) * c;
        dft1(
          fl,
          bins,
          false,
          (j) => x[at(j)] * (w ? w[j] : 1),
          (j) => (cplx ? x[at(j) + 1] * (w ? w[j] : 1) : 0),
          (k, re, im) => {
            const p = ((b * frames + f) * bins + k) * 2;
            out[p] = re;
            out[p + 1] = im;
          },
        );
      }
    return [make(sig!.dtype, [B, frames, bins, 2], out)];
  },
};
