/**
 * Shape computation and data movement. These keep the element type and copy elements (any storage:
 * numbers, bigint, strings), so they are exact for every dtype; index math uses plain numbers.
 */
import type { Kernel } from './types.js';
import { num, make, size, strides, ints, normAxis, emptyLike, broadcastShape, broadcastIndex } from '../util.js';
import { DataType, dtypeName, type TypedArray } from '../../../src/ir/dtype.js';
import { isFloat8, float8Table, toFloat8 } from '../../../src/ir/float8.js';
import type { RTensor } from '../../../src/core/tensor.js';
import type { Node } from '../../../src/ir/graph.js';
import { Tensor } from '../../../src/ir/tensor.js';
import { fromIrTensor } from '../../../src/core/tensor.js';
import { AmpError } from '../../../src/core/errors.js';

/** New tensor of t's type whose element i is t[idx[i]]; runs of consecutive indices are block-copied. */
export function take(t: RTensor, idx: ArrayLike<number>, dims: number[]): RTensor {
  const out = emptyLike(t.dtype, idx.length);
  const src = t.data;
  const n = idx.length;
  if (Array.isArray(out)) {
    for (let i = 0; i < n; i++) out[i] = (src as string[])[idx[i]];
    return { dtype: t.dtype, dims, data: out };
  }
  const o = out as Float32Array, sv = src as Float32Array;
  for (let i = 0; i < n;) {
    let j = i + 1;
    while (j < n && idx[j] === idx[j - 1] + 1) j++;
    if (j - i > 8) o.set(sv.subarray(idx[i], idx[i] + (j - i)), i);
    else for (let k = i; k < j; k++) o[k] = sv[idx[k]];
    i = j;
  }
  return { dtype: t.dtype, dims, data: out };
}
const i64 = (dims: number[], v: number[]) => make(DataType.INT64, dims, v);
const view = (t: RTensor, dims: number[]): RTensor => ({ dtype: t.dtype, dims, data: t.data });

export function transpose(t: RTensor, perm: number[]): RTensor {
  const dims = perm.map((p) => t.dims[p]);
  const n = size(dims), r = dims.length;
  const ist = strides(t.dims);
  const pst = perm.map((p) => ist[p]);
  const idx = new Int32Array(n);
  const cnt = new Array<number>(r).fill(0);
  let off = 0;
  for (let i = 0; i < n; i++) {
    idx[i] = off;
    for (let a = r - 1; a >= 0; a--) {
      cnt[a]++; off += pst[a];
      if (cnt[a] < dims[a]) break;
      off -= pst[a] * cnt[a]; cnt[a] = 0;
    }
  }
  return take(t, idx, dims);
}

/** Element types the executor stores but cannot convert (FLOAT8 variants, E8M0): refused, never guessed. */
const NO_CAST = new Set<number>([DataType.UINT4, DataType.INT4, DataType.FLOAT4E2M1, DataType.COMPLEX64, DataType.COMPLEX128]);

function castTo(t: RTensor, to: number, saturate = true, roundMode = 'up'): RTensor {
  if (t.dtype === to) return t;
  if (isFloat8(t.dtype)) {
    const tab = float8Table(t.dtype);
    t = make(DataType.FLOAT, [...t.dims], Float32Array.from(t.data as Uint8Array, (b) => tab[b]));
    if (to === DataType.FLOAT) return t;
  }
  if (isFloat8(to)) {
    const v = num(t);
    // The sign of NaN inputs is kept (it is part of the result's bits), read from the source bits.
    const signOf = (i: number) => (t.dtype === DataType.FLOAT16 ? ((t.data as Uint16Array)[i] & 0x8000 ? 0x80 : 0)
      : t.dtype === DataType.FLOAT ? (new Uint32Array((t.data as Float32Array).buffer, (t.data as Float32Array).byteOffset, v.length)[i] >>> 31 ? 0x80 : 0) : 0);
    return { dtype: to, dims: [...t.dims], data: Uint8Array.from({ length: v.length }, (_, i) => toFloat8(Math.fround(v[i]), to, saturate, roundMode, Number.isNaN(v[i]) ? signOf(i) : 0)) };
  }
  if (NO_CAST.has(to) || NO_CAST.has(t.dtype)) throw new AmpError(`Cast between ${dtypeName(t.dtype)} and ${dtypeName(to)} is not supported by the CPU executor`);
  if (to === DataType.STRING) {
    return { dtype: to, dims: [...t.dims], data: Array.from(num(t), (v) => (Number.isInteger(v) ? String(v) : String(Math.fround(v)))) };
  }
  let v: ArrayLike<number>;
  if (t.dtype === DataType.STRING) v = (t.data as string[]).map((s) => (/^[-+]?inf(inity)?$/i.test(s) ? (s.startsWith('-') ? -Infinity : Infinity) : Number(s)));
  else v = num(t);
  const isIntTarget = ![DataType.FLOAT, DataType.FLOAT16, DataType.BFLOAT16, DataType.DOUBLE, DataType.BOOL].includes(to as never);
  if (isIntTarget) {
    const tr = new Float64Array(v.length);
    for (let i = 0; i < v.length; i++) tr[i] = Number.isFinite(v[i]) ? Math.trunc(v[i]) : 0;
    v = tr;
  }
  return make(to, [...t.dims], v);
}

function sliceIndices(dims: number[], starts: number[], ends: number[], axes: number[], steps: number[]): { idx: Int32Array; out: number[] } {
  const r = dims.length;
  const st = new Array(r).fill(0), en = [...dims], sp = new Array(r).fill(1);
  axes.forEach((a0, i) => {
    const a = normAxis(a0, r), d = dims[a], step = steps[i] ?? 1;
    let s = starts[i], e = ends[i];
    if (s < 0) s += d;
    if (e < 0) e += d;
    if (step > 0) { s = Math.max(0, Math.min(d, s)); e = Math.max(0, Math.min(d, e)); }
    else { s = Math.max(-1, Math.min(d - 1, s)); e = Math.max(-1, Math.min(d - 1, e)); }
    st[a] = s; en[a] = e; sp[a] = step;
  });
  const out = dims.map((_, a) => Math.max(0, Math.ceil((en[a] - st[a]) / sp[a])));
  const n = size(out), ist = strides(dims);
  const idx = new Int32Array(n);
  const cnt = new Array<number>(r).fill(0);
  for (let i = 0; i < n; i++) {
    let off = 0;
    for (let a = 0; a < r; a++) off += (st[a] + cnt[a] * sp[a]) * ist[a];
    idx[i] = off;
    for (let a = r - 1; a >= 0; a--) { if (++cnt[a] < out[a]) break; cnt[a] = 0; }
  }
  return { idx, out };
}


/** Constant values are decoded once; shared safely because kernels never mutate their inputs. */
const constants = new WeakMap<object, RTensor>();
function constantValue(node: Node): RTensor {
  const a = node.attributes[0];
    switch (a.name) {
      case 'value': return fromIrTensor(Tensor.fromProto(a.t!));
      case 'value_float': return make(DataType.FLOAT, [], [a.f ?? 0]);
      case 'value_floats': return make(DataType.FLOAT, [(a.floats ?? []).length], a.floats ?? []);
      case 'value_int': return i64([], [node.attrInt('value_int', 0)]);
      case 'value_ints': { const v = node.attrInts('value_ints')!; return i64([v.length], v);}
      case 'value_string': return { dtype: DataType.STRING, dims: [], data: [node.attrString('value_string', '')] };
      default: throw new AmpError(`${node.label}: Constant attribute '${a.name}' is not supported`);
    }
}

export const shapeKernels: Record<string, Kernel> = {
  Identity: (_n, [x]) => [x!],
  Dropout: (node, [x]) => {
    const outs: RTensor[] = [x!];
    if (node.outputs[1]) outs.push({ dtype: DataType.BOOL, dims: [...x!.dims], data: new Uint8Array(size(x!.dims)).fill(1) });
    return outs;
  },
  Shape: (node, [x]) => {
    const r = x!.dims.length;
    let s = node.attrInt('start', 0), e = node.attrInt('end', r);
    s = Math.max(0, Math.min(r, s < 0 ? s + r : s)); e = Math.max(0, Math.min(r, e < 0 ? e + r : e));
    const d = x!.dims.slice(s, Math.max(s, e));
    return [i64([d.length], d)];
  },
  Size: (_n, [x]) => [i64([], [size(x!.dims)])],
  Reshape: (node, [x, shape]) => {
    const want = ints(shape);
    const allowZero = node.attrInt('allowzero', 0) === 1;
    const dims = want.map((d, i) => (d === 0 && !allowZero ? x!.dims[i] : d));
    const known = dims.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
    const out = dims.map((d) => (d === -1 ? size(x!.dims) / known : d));
    if (size(out) !== size(x!.dims)) throw new AmpError(`${node.label}: cannot reshape [${x!.dims}] to [${want}]`);
    return [view(x!, out)];
  },
  Flatten: (node, [x]) => {
    const a = normAxis(node.attrInt('axis', 1), x!.dims.length);
    return [view(x!, [size(x!.dims.slice(0, a)), size(x!.dims.slice(a))])];
  },
  Squeeze: (node, [x, axesIn]) => {
    const r = x!.dims.length;
    const axes = (axesIn ? ints(axesIn) : node.attrInts('axes'))?.map((a) => normAxis(a, r));
    return [view(x!, x!.dims.filter((d, i) => (axes && axes.length ? !axes.includes(i) : d !== 1)))];
  },
  Unsqueeze: (node, [x, axesIn]) => {
    const axes = axesIn ? ints(axesIn) : node.attrInts('axes') ?? [];
    const r = x!.dims.length + axes.length;
    const ax = new Set(axes.map((a) => normAxis(a, r)));
    const dims: number[] = [];
    let j = 0;
    for (let i = 0; i < r; i++) dims.push(ax.has(i) ? 1 : x!.dims[j++]);
    return [view(x!, dims)];
  },
  Expand: (node, [x, shape]) => {
    const dims = broadcastShape([x!.dims, ints(shape)], node);
    return [take(x!, broadcastIndex(x!.dims, dims), dims)];
  },
  Tile: (_n, [x, reps]) => {
    const rp = ints(reps);
    const dims = x!.dims.map((d, i) => d * rp[i]);
    const n = size(dims), r = dims.length, ist = strides(x!.dims);
    const idx = new Int32Array(n);
    const cnt = new Array<number>(r).fill(0);
    for (let i = 0; i < n; i++) {
      let off = 0;
      for (let a = 0; a < r; a++) off += (cnt[a] % x!.dims[a]) * ist[a];
      idx[i] = off;
      for (let a = r - 1; a >= 0; a--) { if (++cnt[a] < dims[a]) break; cnt[a] = 0; }
    }
    return [take(x!, idx, dims)];
  },
  Transpose: (node, [x]) => {
    const r = x!.dims.length;
    return [transpose(x!, node.attrInts('perm') ?? Array.from({ length: r }, (_, i) => r - 1 - i))];
  },
  Concat: (node, inputs) => {
    const ts = inputs.filter((t): t is RTensor => !!t);
    const r = ts[0].dims.length;
    const axis = normAxis(node.attrInt('axis', 0), r);
    const dims = [...ts[0].dims];
    dims[axis] = ts.reduce((a, t) => a + t.dims[axis], 0);
    const outer = size(dims.slice(0, axis)), inner = size(dims.slice(axis + 1));
    const out = emptyLike(ts[0].dtype, size(dims)) as unknown[];
    let o = 0;
    for (let b = 0; b < outer; b++) for (const t of ts) {
      const chunk = t.dims[axis] * inner, src = t.data as ArrayLike<unknown>;
      for (let i = 0; i < chunk; i++) out[o++] = src[b * chunk + i];
    }
    return [{ dtype: ts[0].dtype, dims, data: out as unknown as TypedArray }];
  },
  Split: (node, [x, splitIn]) => {
    const r = x!.dims.length;
    const axis = normAxis(node.attrInt('axis', 0), r);
    const d = x!.dims[axis];
    const nOut = node.outputs.length;
    let parts = splitIn ? ints(splitIn) : node.attrInts('split');
    if (!parts || !parts.length) {
      const k = node.attrInt('num_outputs', nOut);
      const each = Math.ceil(d / k);
      parts = Array.from({ length: k }, (_, i) => Math.min(each, d - each * i));
    }
    let start = 0;
    return parts.map((p) => {
      const s = sliceIndices(x!.dims, [start], [start + p], [axis], [1]);
      start += p;
      return take(x!, s.idx, s.out);
    });
  },
  Slice: (node, [x, starts, ends, axes, steps]) => {
    const st = starts ? ints(starts) : node.attrInts('starts')!;
    const en = ends ? ints(ends) : node.attrInts('ends')!;
    const ax = axes ? ints(axes) : node.attrInts('axes') ?? st.map((_, i) => i);
    const sp = steps ? ints(steps) : ax.map(() => 1);
    const clampBig = (v: number) => Math.max(-(2 ** 53), Math.min(2 ** 53, v));
    const s = sliceIndices(x!.dims, st.map(clampBig), en.map(clampBig), ax, sp);
    return [take(x!, s.idx, s.out)];
  },
  Gather: (node, [x, indices]) => {
    const r = x!.dims.length;
    const axis = normAxis(node.attrInt('axis', 0), r);
    const ind = ints(indices).map((i) => (i < 0 ? i + x!.dims[axis] : i));
    const outer = size(x!.dims.slice(0, axis)), inner = size(x!.dims.slice(axis + 1)), d = x!.dims[axis];
    const dims = [...x!.dims.slice(0, axis), ...indices!.dims, ...x!.dims.slice(axis + 1)];
    const idx = new Int32Array(size(dims));
    let o = 0;
    for (let b = 0; b < outer; b++) for (const i of ind) for (let k = 0; k < inner; k++) idx[o++] = (b * d + i) * inner + k;
    return [take(x!, idx, dims)];
  },
  GatherElements: (node, [x, indices]) => {
    const r = x!.dims.length;
    const axis = normAxis(node.attrInt('axis', 0), r);
    const ind = ints(indices), dims = [...indices!.dims];
    const ist = strides(x!.dims), n = size(dims);
    const idx = new Int32Array(n);
    const cnt = new Array<number>(r).fill(0);
    for (let i = 0; i < n; i++) {
      let off = 0;
      for (let a = 0; a < r; a++) {
        let c = a === axis ? ind[i] : cnt[a];
        if (a === axis && c < 0) c += x!.dims[axis];
        off += c * ist[a];
      }
      idx[i] = off;
      for (let a = r - 1; a >= 0; a--) { if (++cnt[a] < dims[a]) break; cnt[a] = 0; }
    }
    return [take(x!, idx, dims)];
  },
  GatherND: (node, [x, indices]) => {
    const bd = node.attrInt('batch_dims', 0);
    const ind = ints(indices), idims = indices!.dims;
    const last = idims[idims.length - 1];
    const batch = size(x!.dims.slice(0, bd));
    const sliceDims = x!.dims.slice(bd + last);
    const inner = size(sliceDims);
    const xst = strides(x!.dims.slice(bd));
    const perBatchX = size(x!.dims.slice(bd));
    const nIdx = size(idims.slice(bd, -1));
    const idx = new Int32Array(batch * nIdx * inner);
    let o = 0;
    for (let b = 0; b < batch; b++) for (let q = 0; q < nIdx; q++) {
      let off = b * perBatchX;
      for (let j = 0; j < last; j++) {
        let c = ind[(b * nIdx + q) * last + j];
        if (c < 0) c += x!.dims[bd + j];
        off += c * xst[j];
      }
      for (let k = 0; k < inner; k++) idx[o++] = off + k;
    }
    return [take(x!, idx, [...idims.slice(0, -1), ...sliceDims])];
  },
  Pad: (node, [x, padsIn, value, axesIn]) => {
    const r = x!.dims.length;
    const mode = node.attrString('mode', 'constant');
    let pads = padsIn ? ints(padsIn) : node.attrInts('pads')!;
    if (axesIn) {
      const ax = ints(axesIn).map((a) => normAxis(a, r));
      const full = new Array(2 * r).fill(0);
      ax.forEach((a, i) => { full[a] = pads[i]; full[a + r] = pads[i + ax.length]; });
      pads = full;
    }
    const cv = value ? (value.data as ArrayLike<unknown>)[0] : node.attr('value') ? node.attrFloat('value', 0) : 0;
    const dims = x!.dims.map((d, i) => d + pads[i] + pads[i + r]);
    const n = size(dims), ist = strides(x!.dims);
    const out = emptyLike(x!.dtype, n) as unknown[];
    const src = x!.data as ArrayLike<unknown>;
    const cnt = new Array<number>(r).fill(0);
    const zero = x!.dtype === DataType.INT64 ? BigInt(Number(cv ?? 0)) : cv;
    for (let i = 0; i < n; i++) {
      let off = 0, outside = false;
      for (let a = 0; a < r; a++) {
        let c = cnt[a] - pads[a];
        const d = x!.dims[a];
        if (c < 0 || c >= d) {
          if (mode === 'constant') { outside = true; break; }
          if (mode === 'edge') c = c < 0 ? 0 : d - 1;
          else if (mode === 'reflect') { const p = 2 * (d - 1) || 1; c = ((c % p) + p) % p; if (c >= d) c = p - c; }
          else if (mode === 'wrap') c = ((c % d) + d) % d;
        }
        off += c * ist[a];
      }
      out[i] = outside ? (x!.dtype === DataType.FLOAT16 || x!.dtype === DataType.BFLOAT16 ? (value ? (value.data as Uint16Array)[0] : 0) : zero) : src[off];
      for (let a = r - 1; a >= 0; a--) { if (++cnt[a] < dims[a]) break; cnt[a] = 0; }
    }
    return [{ dtype: x!.dtype, dims, data: out as unknown as TypedArray }];
  },
  ConstantOfShape: (node, [shape]) => {
    const dims = ints(shape);
    const a = node.attr('value');
    const t = a?.t ? fromIrTensor(Tensor.fromProto(a.t)) : { dtype: DataType.FLOAT, dims: [1], data: new Float32Array(1) };
    return [take(t, new Int32Array(size(dims)), dims)];
  },
  Constant: (node) => {
    // Keyed by the attribute object: a pass that changes the value replaces the attribute, so no stale hit.
    const key = node.attributes[0];
    const cached = constants.get(key);
    if (cached) return [cached];
    const r = constantValue(node);
    constants.set(key, r);
    return [r];
  },

  Range: (_n, [start, limit, delta]) => {
    const s = num(start!)[0], l = num(limit!)[0], d = num(delta!)[0];
    const n = Math.max(0, Math.ceil((l - s) / d));
    return [make(start!.dtype, [n], Array.from({ length: n }, (_, i) => s + i * d))];
  },
  Cast: (node, [x]) => [castTo(x!, node.attrInt('to', 0), node.attrInt('saturate', 1) === 1, node.attrString('round_mode', 'up'))],
  CastLike: (node, [x, like]) => [castTo(x!, like!.dtype, node.attrInt('saturate', 1) === 1, node.attrString('round_mode', 'up'))],
  CumSum: (node, [x, axisT]) => {
    const r = x!.dims.length;
    const axis = normAxis(ints(axisT)[0], r);
    const excl = node.attrInt('exclusive', 0) === 1, rev = node.attrInt('reverse', 0) === 1;
    const v = num(x!), d = x!.dims[axis], inner = size(x!.dims.slice(axis + 1)), outer = size(x!.dims.slice(0, axis));
    const out = new Float64Array(v.length);
    for (let o = 0; o < outer; o++) for (let k = 0; k < inner; k++) {
      let acc = 0;
      for (let j0 = 0; j0 < d; j0++) {
        const j = rev ? d - 1 - j0 : j0;
        const i = (o * d + j) * inner + k;
        if (excl) { out[i] = acc; acc += v[i]; } else { acc += v[i]; out[i] = acc; }
      }
    }
    return [make(x!.dtype, [...x!.dims], out)];
  },
  Trilu: (node, [x, kT]) => {
    const k = kT ? ints(kT)[0] : 0, upper = node.attrInt('upper', 1) === 1;
    const [R, C] = x!.dims.slice(-2);
    const n = size(x!.dims);
    const src = x!.data as ArrayLike<unknown>;
    const out = emptyLike(x!.dtype, n) as unknown[];
    const zero = x!.dtype === DataType.INT64 ? 0n : 0;
    for (let i = 0; i < n; i++) {
      const c = i % C, rr = Math.floor(i / C) % R;
      out[i] = (upper ? c - rr >= k : c - rr <= k) ? src[i] : zero;
    }
    return [{ dtype: x!.dtype, dims: [...x!.dims], data: out as unknown as TypedArray }];
  },
  DepthToSpace: (node, [x]) => {
    const [N, C, H, W] = x!.dims, b = node.attrInt('blocksize', 1);
    const crd = node.attrString('mode', 'DCR') === 'CRD';
    const t = crd ? view(x!, [N, C / (b * b), b, b, H, W]) : view(x!, [N, b, b, C / (b * b), H, W]);
    const p = transpose(t, crd ? [0, 1, 4, 2, 5, 3] : [0, 3, 4, 1, 5, 2]);
    return [view(p, [N, C / (b * b), H * b, W * b])];
  },
  SpaceToDepth: (node, [x]) => {
    const [N, C, H, W] = x!.dims, b = node.attrInt('blocksize', 1);
    const p = transpose(view(x!, [N, C, H / b, b, W / b, b]), [0, 3, 5, 1, 2, 4]);
    return [view(p, [N, C * b * b, H / b, W / b])];
  },
  NonZero: (_n, [x]) => {
    const v = num(x!), r = x!.dims.length, st = strides(x!.dims);
    const hits: number[] = [];
    for (let i = 0; i < v.length; i++) if (v[i]) hits.push(i);
    const out = new Array<number>(r * hits.length);
    hits.forEach((h, j) => { for (let a = 0; a < r; a++) out[a * hits.length + j] = Math.floor(h / st[a]) % x!.dims[a]; });
    return [i64([r, hits.length], out)];
  },
  MaxUnpool: (node, [x, ind, outShape]) => {
    const [N, C, ...sp] = x!.dims;
    const k = node.attrInts('kernel_shape')!, st = node.attrInts('strides') ?? k.map(() => 1);
    const pads = node.attrInts('pads') ?? new Array(2 * k.length).fill(0);
    const dims = outShape ? ints(outShape) : [N, C, ...sp.map((d, i) => (d - 1) * st[i] - pads[i] - pads[i + k.length] + k[i])];
    // Indices address the unpooled tensor of the inferred shape; an explicit output_shape pads it at the end.
    const inferred = [N, C, ...sp.map((d, i) => (d - 1) * st[i] - pads[i] - pads[i + k.length] + k[i])];
    const out = new Float64Array(size(dims));
    const v = num(x!), ii = ints(ind), ist = strides(inferred), ost = strides(dims);
    for (let i = 0; i < v.length; i++) {
      let rem = ii[i], off = 0;
      for (let a = 0; a < inferred.length; a++) { off += Math.floor(rem / ist[a]) * ost[a]; rem %= ist[a]; }
      out[off] = v[i];
    }
    return [make(x!.dtype, dims, out)];
  },
};
