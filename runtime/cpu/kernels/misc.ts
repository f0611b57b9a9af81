/** Einsum (general: explicit or implicit output, ellipsis, repeated indices), TopK, OneHot, Scatter*, EyeLike. */
import type { Kernel } from './types.js';
import { num, make, size, strides, ints, normAxis } from '../util.js';
import { DataType, type TypedArray } from '../../../src/core/dtype.js';
import type { RTensor } from '../../../src/ir/rtensor.js';

function einsum(eq: string, ts: RTensor[]): { dims: number[]; out: Float64Array } {
  const [lhs, rhs0] = eq.replace(/\s/g, '').split('->');
  const terms = lhs.split(',');
  // Expand '...' into fresh capital letters per operand (broadcast dims aligned right).
  const maxEll = Math.max(0, ...terms.map((t, i) => (t.includes('...') ? ts[i].dims.length - (t.length - 3) : 0)));
  const ellLetters = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ'.slice(0, maxEll);
  const ops = terms.map((t, i) => {
    if (!t.includes('...')) return t;
    const n = ts[i].dims.length - (t.length - 3);
    return t.replace('...', ellLetters.slice(maxEll - n));
  });
  const sizes = new Map<string, number>();
  ops.forEach((t, i) =>
    [...t].forEach((ch, k) => {
      const d = ts[i].dims[k];
      const prev = sizes.get(ch);
      if (prev === undefined || prev === 1) sizes.set(ch, d);
    }),
  );
  let rhs: string;
  if (rhs0 !== undefined) rhs = rhs0.replace('...', ellLetters);
  else {
    const counts = new Map<string, number>();
    ops
      .join('')
      .split('')
      .forEach((ch) => counts.set(ch, (counts.get(ch) ?? 0) + 1));
    rhs =
      ellLetters +
      [...counts]
        .filter(([ch, c]) => c === 1 && !ellLetters.includes(ch))
        .map(([ch]) => ch)
        .sort()
        .join('');
  }
  const letters = [...new Set([...rhs, ...ops.join('')])];
  const dimsOf = letters.map((l) => sizes.get(l)!);
  const total = size(dimsOf);
  const outDims = [...rhs].map((l) => sizes.get(l)!);
  const out = new Float64Array(size(outDims));
  const vals = ts.map(num);
  const opStrides = ops.map((t, i) => {
    const st = strides(ts[i].dims);
    return letters.map((l) => [...t].reduce((a, ch, k) => (ch === l && ts[i].dims[k] !== 1 ? a + st[k] : a), 0));
  });
  const ost = strides(outDims);
  const outStride = letters.map((l) => {
    const k = rhs.indexOf(l);
    return k < 0 ? 0 : ost[k];
  });
  const cnt = new Array<number>(letters.length).fill(0);
  const offs = new Array<number>(ts.length).fill(0);
  let oo = 0;
  for (let i = 0; i < total; i++) {
    let p = 1;
    for (let k = 0; k < ts.length; k++) p *= vals[k][offs[k]];
    out[oo] += p;
    for (let a = letters.length - 1; a >= 0; a--) {
      cnt[a]++;
      for (let k = 0; k < ts.length; k++) offs[k] += opStrides[k][a];
      oo += outStride[a];
      if (cnt[a] < dimsOf[a]) break;
      for (let k = 0; k < ts.length; k++) offs[k] -= opStrides[k][a] * cnt[a];
      oo -= outStride[a] * cnt[a];
      cnt[a] = 0;
    }
  }
  return { dims: outDims, out };
}

function scatter(data: RTensor, positions: Int32Array, updates: RTensor, reduction: string): RTensor {
  const out = new Float64Array(num(data));
  const u = num(updates);
  for (let i = 0; i < positions.length; i++) {
    const p = positions[i];
    switch (reduction) {
      case 'add':
        out[p] += u[i];
        break;
      case 'mul':
        out[p] *= u[i];
        break;
      case 'max':
        out[p] = Math.max(out[p], u[i]);
        break;
      case 'min':
        out[p] = Math.min(out[p], u[i]);
        break;
      default:
        out[p] = u[i];
    }
  }
  return make(data.dtype, [...data.dims], out);
}

export const miscKernels: Record<string, Kernel> = {
  Einsum: (node, inputs) => {
    const r = einsum(node.attrString('equation', ''), inputs as RTensor[]);
    return [make(inputs[0]!.dtype, r.dims, r.out)];
  },
  TopK: (node, [x, kT]) => {
    const k = ints(kT)[0];
    const r = x!.dims.length,
      axis = normAxis(node.attrInt('axis', -1), r);
    const largest = node.attrInt('largest', 1) === 1;
    const v = num(x!),
      d = x!.dims[axis],
      inner = size(x!.dims.slice(axis + 1)),
      outer = size(x!.dims.slice(0, axis));
    const dims = [...x!.dims];
    dims[axis] = k;
    const vals = new Float64Array(size(dims)),
      idx = new Float64Array(size(dims));
    for (let o = 0; o < outer; o++)
      for (let q = 0; q < inner; q++) {
        const items = Array.from({ length: d }, (_, j) => j);
        items.sort((a, b) => {
          const va = v[(o * d + a) * inner + q],
            vb = v[(o * d + b) * inner + q];
          return va === vb ? a - b : largest ? vb - va : va - vb;
        });
        for (let j = 0; j < k; j++) {
          vals[(o * k + j) * inner + q] = v[(o * d + items[j]) * inner + q];
          idx[(o * k + j) * inner + q] = items[j];
        }
      }
    return [make(x!.dtype, dims, vals), make(DataType.INT64, dims, idx)];
  },
  OneHot: (node, [indices, depthT, values]) => {
    const depth = num(depthT!)[0];
    const r = indices!.dims.length + 1,
      axis = normAxis(node.attrInt('axis', -1), r);
    const ind = num(indices!);
    const dims = [...indices!.dims];
    dims.splice(axis, 0, depth);
    const outer = size(indices!.dims.slice(0, axis)),
      inner = size(indices!.dims.slice(axis));
    const vv = values!.data as ArrayLike<unknown>;
    const out = new Array<unknown>(size(dims)).fill(vv[0]);
    for (let o = 0; o < outer; o++)
      for (let q = 0; q < inner; q++) {
        let i = ind[o * inner + q];
        if (i < 0) i += depth;
        if (i >= 0 && i < depth) out[(o * depth + i) * inner + q] = vv[1];
      }
    const ctor = (values!.data as object).constructor as new (a: unknown[]) => TypedArray;
    return [
      { dtype: values!.dtype, dims, data: values!.dtype === DataType.STRING ? (out as string[]) : new ctor(out) },
    ];
  },
  ScatterElements: (node, [data, indices, updates]) => {
    const r = data!.dims.length,
      axis = normAxis(node.attrInt('axis', 0), r);
    const ind = ints(indices),
      st = strides(data!.dims),
      idims = indices!.dims;
    const pos = new Int32Array(ind.length);
    const cnt = new Array<number>(r).fill(0);
    for (let i = 0; i < ind.length; i++) {
      let off = 0;
      for (let a = 0; a < r; a++) {
        let c = a === axis ? ind[i] : cnt[a];
        if (a === axis && c < 0) c += data!.dims[a];
        off += c * st[a];
      }
      pos[i] = off;
      for (let a = r - 1; a >= 0; a--) {
        if (++cnt[a] < idims[a]) break;
        cnt[a] = 0;
      }
    }
    return [scatter(data!, pos, updates!, node.attrString('reduction', 'none'))];
  },
  ScatterND: (node, [data, indices, updates]) => {
    const ind = ints(indices),
      idims = indices!.dims,
      last = idims[idims.length - 1];
    const st = strides(data!.dims),
      inner = size(data!.dims.slice(last)),
      n = size(idims.slice(0, -1));
    const pos = new Int32Array(n * inner);
    for (let q = 0; q < n; q++) {
      let off = 0;
      for (let j = 0; j < last; j++) {
        let c = ind[q * last + j];
        if (c < 0) c += data!.dims[j];
        off += c * st[j];
      }
      for (let k = 0; k < inner; k++) pos[q * inner + k] = off + k;
    }
    return [scatter(data!, pos, updates!, node.attrString('reduction', 'none'))];
  },
  EyeLike: (node, [x]) => {
    const [R, C] = x!.dims,
      k = node.attrInt('k', 0);
    const out = new Float64Array(R * C);
    for (let i = 0; i < R; i++) if (i + k >= 0 && i + k < C) out[i * C + i + k] = 1;
    return [make(node.attr('dtype') ? node.attrInt('dtype', 1) : x!.dtype, [R, C], out)];
  },
};
