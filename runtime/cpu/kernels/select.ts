/** Selection along an axis: Compress, ReverseSequence, Unique. Elements are copied, so every dtype is exact. */
import type { Kernel } from './types.js';
import { num, make, size, ints, normAxis } from '../util.js';
import { take } from './shape.js';
import { DataType } from '../../../src/core/dtype.js';
import type { RTensor } from '../../../src/ir/rtensor.js';

/** Element indices of `t` for the slices `keep` (positions along `axis`), in order. */
function slicesAlong(t: RTensor, axis: number, keep: number[]): { idx: Int32Array; dims: number[] } {
  const d = t.dims[axis],
    inner = size(t.dims.slice(axis + 1)),
    outer = size(t.dims.slice(0, axis));
  const idx = new Int32Array(outer * keep.length * inner);
  let o = 0;
  for (let a = 0; a < outer; a++)
    for (const j of keep) for (let k = 0; k < inner; k++) idx[o++] = (a * d + j) * inner + k;
  const dims = [...t.dims];
  dims[axis] = keep.length;
  return { idx, dims };
}

export const selectKernels: Record<string, Kernel> = {
  Compress: (node, [X, cond]) => {
    const c = num(cond!);
    const axisAttr = node.attr('axis');
    const flat: RTensor = axisAttr ? X! : { ...X!, dims: [size(X!.dims)] };
    const axis = axisAttr ? normAxis(node.attrInt('axis', 0), X!.dims.length) : 0;
    const keep: number[] = [];
    for (let j = 0; j < Math.min(c.length, flat.dims[axis]); j++) if (c[j]) keep.push(j);
    const { idx, dims } = slicesAlong(flat, axis, keep);
    return [take(flat, idx, dims)];
  },
  ReverseSequence: (node, [X, lens]) => {
    const b = node.attrInt('batch_axis', 1),
      t = node.attrInt('time_axis', 0);
    const L = ints(lens),
      dims = X!.dims,
      st = dims.map((_, i) => size(dims.slice(i + 1)));
    const n = size(dims),
      idx = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const bi = Math.floor(i / st[b]) % dims[b],
        ti = Math.floor(i / st[t]) % dims[t];
      idx[i] = ti < L[bi] ? i + (L[bi] - 1 - 2 * ti) * st[t] : i;
    }
    return [take(X!, idx, [...dims])];
  },
  // Unique over the flattened tensor or along `axis`; sorted (default) or in order of first occurrence.
  Unique: (node, [X]) => {
    const axisAttr = node.attr('axis');
    const t: RTensor = axisAttr ? X! : { ...X!, dims: [size(X!.dims)] };
    const axis = axisAttr ? normAxis(node.attrInt('axis', 0), X!.dims.length) : 0;
    const d = t.dims[axis];
    const slice = (j: number) => Array.from(slicesAlong(t, axis, [j]).idx, (k) => (t.data as ArrayLike<unknown>)[k]);
    const keys = Array.from({ length: d }, (_, j) => slice(j));
    const cmp = (a: unknown[], b: unknown[]) => {
      for (let i = 0; i < a.length; i++) {
        if (a[i]! < b[i]!) return -1;
        if (a[i]! > b[i]!) return 1;
      }
      return 0;
    };
    const firstOf = new Map<string, number>();
    const inverseKey: string[] = [];
    keys.forEach((k, j) => {
      const s = JSON.stringify(k, (_, v) => (typeof v === 'bigint' ? `${v}n` : v));
      inverseKey.push(s);
      if (!firstOf.has(s)) firstOf.set(s, j);
    });
    let firsts = [...firstOf.values()];
    if (node.attrInt('sorted', 1) === 1) firsts = firsts.sort((a, b) => cmp(keys[a], keys[b]));
    const pos = new Map(firsts.map((j, i) => [inverseKey[j], i]));
    const counts = new Array(firsts.length).fill(0);
    const inverse = inverseKey.map((s) => {
      const p = pos.get(s)!;
      counts[p]++;
      return p;
    });
    const { idx, dims } = slicesAlong(t, axis, firsts);
    const i64 = (v: number[]) => make(DataType.INT64, [v.length], v);
    return [take(t, idx, dims), i64(firsts), i64(inverse), i64(counts)];
  },
};
