/** MaxPool (with indices), AveragePool, LpPool, GlobalAveragePool, GlobalMaxPool, GlobalLpPool for any spatial rank. */
import { DataType } from '../../../src/core/dtype.js';
import type { Node } from '../../../src/ir/graph.js';
import { poolGeometry, tapRange } from '../../ops/pool.js';
import { make, num, outBuf, size, strides } from '../util.js';
import type { Kernel } from './types.js';

/** Pooled values (each written once) and, for max when `withIdx`, the flat index of each maximum. */
function pool(
  node: Node,
  X: { dtype: number; dims: number[] },
  x: ArrayLike<number>,
  kind: 'max' | 'avg' | 'lp',
  withIdx = false,
): { out: Float32Array | Float64Array; idx: Float64Array; dims: number[] } {
  const [N, C, ...sp] = X.dims;
  const g = poolGeometry(node, sp);
  const r = sp.length,
    osz = size(g.out),
    isz = size(sp);
  const xs = strides(sp);
  const includePad = node.attrInt('count_include_pad', 0) === 1;
  const p = node.attrInt('p', 2);
  const storageCol = node.attrInt('storage_order', 0) === 1;
  const out = outBuf(X.dtype, N * C * osz),
    idx = new Float64Array(withIdx ? N * C * osz : 0);
  const pos = new Array<number>(r);
  for (let o = 0; o < osz; o++) {
    let rem = o;
    for (let a = r - 1; a >= 0; a--) {
      pos[a] = (rem % g.out[a]) * g.st[a] - g.pads[a];
      rem = Math.floor(rem / g.out[a]);
    }
    // Per axis, only the taps that land in the input are visited (a window far larger than the input costs what
    // the input does); the taps inside the padded input are counted, for count_include_pad.
    let offs = [0],
      padCount = 1;
    for (let a = 0; a < r; a++) {
      const [p0, p1] = tapRange(pos[a], g.dl[a], g.k[a], -g.pads[a], sp[a] + g.pads[a + r]);
      padCount *= Math.max(0, p1 - p0 + 1);
      const [j0, j1] = tapRange(pos[a], g.dl[a], g.k[a], 0, sp[a]);
      const next: number[] = [];
      // Row-major over the window (last axis fastest): the order the maximum's first occurrence is found in.
      for (const off of offs) for (let j = j0; j <= j1; j++) next.push(off + (pos[a] + j * g.dl[a]) * xs[a]);
      offs = next;
    }
    for (let nc = 0; nc < N * C; nc++) {
      const base = nc * isz;
      let acc = kind === 'max' ? -Infinity : 0,
        best = -1;
      for (const off of offs) {
        const v = x[base + off];
        if (kind === 'max') {
          if (v > acc || best < 0) {
            acc = v;
            best = off;
          }
        } else if (kind === 'lp') acc += Math.abs(v) ** p;
        else acc += v;
      }
      if (kind === 'avg') acc /= includePad ? padCount : offs.length;
      if (kind === 'lp') acc = acc ** (1 / p);
      out[nc * osz + o] = acc;
      if (withIdx) {
        let flat = best;
        if (storageCol && r === 2) {
          const h = Math.floor(best / sp[1]),
            w = best % sp[1];
          flat = w * sp[0] + h;
        }
        idx[nc * osz + o] = base + flat;
      }
    }
  }
  return { out, idx, dims: [N, C, ...g.out] };
}

function globalPool(kind: 'max' | 'avg' | 'lp'): Kernel {
  return (node, [X]) => {
    const p = node.attrInt('p', 2);
    const [N, C, ...sp] = X!.dims;
    const isz = size(sp),
      x = num(X!);
    const out = new Float64Array(N * C);
    for (let nc = 0; nc < N * C; nc++) {
      let acc = kind === 'max' ? -Infinity : 0;
      for (let i = 0; i < isz; i++) {
        const v = x[nc * isz + i];
        acc = kind === 'max' ? Math.max(acc, v) : kind === 'lp' ? acc + Math.abs(v) ** p : acc + v;
      }
      out[nc] = kind === 'max' ? acc : kind === 'lp' ? acc ** (1 / p) : acc / isz;
    }
    return [make(X!.dtype, [N, C, ...sp.map(() => 1)], out)];
  };
}

export const poolKernels: Record<string, Kernel> = {
  MaxPool: (node, [X]) => {
    const withIdx = !!node.outputs[1];
    const r = pool(node, X!, num(X!), 'max', withIdx);
    return withIdx
      ? [make(X!.dtype, r.dims, r.out), make(DataType.INT64, r.dims, r.idx)]
      : [make(X!.dtype, r.dims, r.out)];
  },
  AveragePool: (node, [X]) => {
    const r = pool(node, X!, num(X!), 'avg');
    return [make(X!.dtype, r.dims, r.out)];
  },
  LpPool: (node, [X]) => {
    const r = pool(node, X!, num(X!), 'lp');
    return [make(X!.dtype, r.dims, r.out)];
  },
  GlobalAveragePool: globalPool('avg'),
  GlobalMaxPool: globalPool('max'),
  GlobalLpPool: globalPool('lp'),
};
