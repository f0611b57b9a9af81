/**
 * GridSample (opset 16/20/22): samples x[N, C, H, W] at normalized grid[N, Ho, Wo, 2] (x, y) locations — or, volumetric,
 * x[N, C, D, H, W] at grid[N, Do, Ho, Wo, 3] (x, y, z) with nearest or trilinear — with
 * nearest (round half to even), (bi)linear or (bi)cubic (A = −0.75) interpolation and zeros / border /
 * reflection padding, following the ONNX reference implementation.
 */
import type { Kernel } from './types.js';
import { num, make } from '../util.js';
import { AmpError } from '../../../src/core/errors.js';
import type { Node } from '../../../src/ir/graph.js';
import type { RTensor } from '../../../src/ir/rtensor.js';

const rint = (v: number) => {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 ? 2 * Math.round(v / 2) : r;
};
/** Reflects x into [lo, hi] (as many bounces as needed). */
function reflect(x: number, lo: number, hi: number): number {
  const rng = hi - lo;
  if (rng <= 0) return lo;
  if (x < lo) {
    const dx = lo - x,
      n = Math.floor(dx / rng),
      r = dx - n * rng;
    return n % 2 === 0 ? lo + r : hi - r;
  }
  if (x > hi) {
    const dx = x - hi,
      n = Math.floor(dx / rng),
      r = dx - n * rng;
    return n % 2 === 0 ? hi - r : lo + r;
  }
  return x;
}
function cubic(t: number): [number, number, number, number] {
  const A = -0.75,
    c1 = (x: number) => ((A + 2) * x - (A + 3)) * x * x + 1,
    c2 = (x: number) => ((A * x - 5 * A) * x + 8 * A) * x - 4 * A;
  return [c2(t + 1), c1(t), c1(1 - t), c2(2 - t)];
}

/** 3-D GridSample: nearest or (tri)linear over x[N, C, D, H, W] (cubic is 2-D only in the spec). */
function volumetric(node: Node, X: RTensor, grid: RTensor): RTensor {
  const [N, C, D, H, W] = X.dims,
    [, Do, Ho, Wo] = grid.dims;
  const mode = node.attrString('mode', 'linear'),
    pad = node.attrString('padding_mode', 'zeros'),
    align = node.attrInt('align_corners', 0) === 1;
  if (mode !== 'nearest' && mode !== 'linear' && mode !== 'bilinear')
    throw new AmpError(`${node.label}: GridSample mode '${mode}' is not supported for 5-D input`);
  const x = num(X),
    g = num(grid),
    out = new Float64Array(N * C * Do * Ho * Wo);
  const lens = [W, H, D];
  const denorm = (v: number, len: number) => (align ? ((v + 1) / 2) * (len - 1) : ((v + 1) * len - 1) / 2);
  const bounds = (len: number): [number, number] => (align ? [0, len - 1] : [-0.5, len - 0.5]);
  const voxel = (base: number, i: number[]): number => {
    if (pad === 'zeros') {
      if (i.some((v, k) => v < 0 || v >= lens[k])) return 0;
    } else
      i = i.map((v, k) =>
        Math.min(lens[k] - 1, Math.max(0, pad === 'reflection' ? Math.round(reflect(v, ...bounds(lens[k]))) : v)),
      );
    return x[base + (i[2] * H + i[1]) * W + i[0]];
  };
  for (let n = 0; n < N; n++)
    for (let o = 0; o < Do * Ho * Wo; o++) {
      const gi = (n * Do * Ho * Wo + o) * 3;
      const p = [0, 1, 2].map((k) => {
        let v = denorm(g[gi + k], lens[k]);
        if (pad === 'border') v = Math.min(lens[k] - 1, Math.max(0, v));
        else if (pad === 'reflection') v = reflect(v, ...bounds(lens[k]));
        return v;
      });
      for (let c = 0; c < C; c++) {
        const base = (n * C + c) * D * H * W;
        let v = 0;
        if (mode === 'nearest') v = voxel(base, p.map(rint));
        else {
          const f = p.map(Math.floor),
            t = p.map((q, k) => q - f[k]);
          for (let corner = 0; corner < 8; corner++) {
            const bit = [corner & 1, (corner >> 1) & 1, (corner >> 2) & 1];
            const w = bit.reduce((a, b, k) => a * (b ? t[k] : 1 - t[k]), 1);
            if (w)
              v +=
                w *
                voxel(
                  base,
                  f.map((q, k) => q + bit[k]),
                );
          }
        }
        out[(n * C + c) * Do * Ho * Wo + o] = v;
      }
    }
  return make(X.dtype, [N, C, Do, Ho, Wo], out);
}

export const gridSampleKernels: Record<string, Kernel> = {
  GridSample: (node, [X, grid]) => {
    if (X!.dims.length === 5) return [volumetric(node, X!, grid!)];
    if (X!.dims.length !== 4)
      throw new AmpError(`${node.label}: GridSample takes 4-D or 5-D input (got rank ${X!.dims.length})`);
    const [N, C, H, W] = X!.dims,
      [, Ho, Wo] = grid!.dims;
    const mode = node.attrString('mode', 'bilinear'),
      pad = node.attrString('padding_mode', 'zeros'),
      align = node.attrInt('align_corners', 0) === 1;
    const x = num(X!),
      g = num(grid!),
      out = new Float64Array(N * C * Ho * Wo);
    const denorm = (v: number, len: number) => (align ? ((v + 1) / 2) * (len - 1) : ((v + 1) * len - 1) / 2);
    const bounds = (len: number): [number, number] => (align ? [0, len - 1] : [-0.5, len - 0.5]);
    const [xlo, xhi] = bounds(W),
      [ylo, yhi] = bounds(H);
    const pixel = (base: number, yi: number, xi: number): number => {
      if (pad === 'zeros') return yi < 0 || yi >= H || xi < 0 || xi >= W ? 0 : x[base + yi * W + xi];
      if (pad === 'reflection') {
        xi = Math.round(reflect(xi, xlo, xhi));
        yi = Math.round(reflect(yi, ylo, yhi));
      }
      xi = Math.min(W - 1, Math.max(0, xi));
      yi = Math.min(H - 1, Math.max(0, yi));
      return x[base + yi * W + xi];
    };
    for (let n = 0; n < N; n++)
      for (let oy = 0; oy < Ho; oy++)
        for (let ox = 0; ox < Wo; ox++) {
          const gi = ((n * Ho + oy) * Wo + ox) * 2;
          let px = denorm(g[gi], W),
            py = denorm(g[gi + 1], H);
          if (pad === 'border') {
            px = Math.min(W - 1, Math.max(0, px));
            py = Math.min(H - 1, Math.max(0, py));
          } else if (pad === 'reflection') {
            px = reflect(px, xlo, xhi);
            py = reflect(py, ylo, yhi);
          }
          for (let c = 0; c < C; c++) {
            const base = (n * C + c) * H * W;
            let v: number;
            if (mode === 'nearest') v = pixel(base, rint(py), rint(px));
            else if (mode === 'bilinear' || mode === 'linear') {
              const x0 = Math.floor(px),
                y0 = Math.floor(py),
                fx = px - x0,
                fy = py - y0;
              v =
                (1 - fy) * ((1 - fx) * pixel(base, y0, x0) + fx * pixel(base, y0, x0 + 1)) +
                fy * ((1 - fx) * pixel(base, y0 + 1, x0) + fx * pixel(base, y0 + 1, x0 + 1));
            } else if (mode === 'bicubic' || mode === 'cubic') {
              const x0 = Math.floor(px) - 1,
                y0 = Math.floor(py) - 1,
                wx = cubic(px - x0 - 1),
                wy = cubic(py - y0 - 1);
              v = 0;
              for (let i = 0; i < 4; i++) {
                let row = 0;
                for (let j = 0; j < 4; j++) row += wx[j] * pixel(base, y0 + i, x0 + j);
                v += wy[i] * row;
              }
            } else throw new AmpError(`${node.label}: GridSample mode '${mode}' is not supported`);
            out[((n * C + c) * Ho + oy) * Wo + ox] = v;
          }
        }
    return [make(X!.dtype, [N, C, Ho, Wo], out)];
  },
};
