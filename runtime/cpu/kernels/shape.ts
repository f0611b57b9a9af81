/**
 * Shape computation and data movement. These keep the element type and copy elements (any storage:
 * numbers, bigint, strings), so they are exact for every dtype; index math uses plain numbers.
 */
import { DataType, type TypedArray } from '../../../src/core/dtype.js';
import { AmpError } from '../../../src/core/errors.js';
import type { Node } from '../../../src/ir/graph.js';
import type { RTensor } from '../../../src/ir/rtensor.js';
import { sliceArgs, sliceGeometry } from '../../ops/slice.js';
import { takeBuffer } from '../pool.js';
import { broadcastIndex, broadcastShape, emptyLike, ints, make, normAxis, num, size, strides } from '../util.js';
import type { Kernel } from './types.js';

/** New tensor of t's type whose element i is t[idx[i]]; runs of consecutive indices are block-copied. */
export function take(t: RTensor, idx: ArrayLike<number>, dims: number[]): RTensor {
  const out = emptyLike(t.dtype, idx.length);
  const src = t.data;
  const n = idx.length;
  // An index past the data (Gather/GatherElements/GatherND/ReverseSequence fed out-of-range indices) is an error,
  // as in onnxruntime — never a read of undefined turned into NaN.
  for (let i = 0; i < n; i++)
    if (!(idx[i] >= 0 && idx[i] < src.length))
      throw new AmpError(`an index is out of range (element ${idx[i]} of ${src.length})`);
  if (Array.isArray(out)) {
    for (let i = 0; i < n; i++) out[i] = (src as string[])[idx[i]];
    return { dtype: t.dtype, dims, data: out };
  }
  const o = out as Float32Array,
    sv = src as Float32Array;
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
/** The same elements under other dims — whole, non-negative dims of the same element count, or bad input. */
function view(t: RTensor, dims: number[]): RTensor {
  if (!dims.every((d) => Number.isSafeInteger(d) && d >= 0) || size(dims) !== size(t.dims))
    throw new AmpError(`cannot view [${t.dims.join(', ')}] as [${dims.join(', ')}]`);
  return { dtype: t.dtype, dims, data: t.data };
}
/** A DepthToSpace / SpaceToDepth block size: a whole number ≥ 1 that divides what it splits. */
function blocksize(node: Node, divides: number[]): number {
  const b = node.attrInt('blocksize', 1);
  if (!(Number.isSafeInteger(b) && b >= 1) || divides.some((d) => d % b !== 0))
    throw new AmpError(`blocksize ${b} must be a whole number ≥ 1 dividing ${divides.join(' and ')}`);
  return b;
}

/** Permutes axes, copying straight into the output (innermost output axis as a strided loop; no index table). */
export function transpose(t: RTensor, perm: number[]): RTensor {
  const dims = perm.map((p) => t.dims[p]);
  const n = size(dims),
    r = dims.length;
  const ist = strides(t.dims);
  const pst = perm.map((p) => ist[p]);
  const src = t.data as ArrayLike<unknown>;
  const out = (
    t.data instanceof Float32Array
      ? takeBuffer(Float32Array, n)
      : t.data instanceof Uint16Array
        ? takeBuffer(Uint16Array, n)
        : emptyLike(t.dtype, n)
  ) as unknown[];
  const last = r ? dims[r - 1] : 1,
    ls = r ? pst[r - 1] : 0;
  const cnt = new Array<number>(r).fill(0);
  let off = 0;
  for (let i = 0; i < n;) {
    for (let k = 0; k < last; k++, i++) out[i] = src[off + k * ls];
    for (let a = r - 2; a >= 0; a--) {
      cnt[a]++;
      off += pst[a];
      if (cnt[a] < dims[a]) break;
      off -= pst[a] * cnt[a];
      cnt[a] = 0;
    }
  }
  return { dtype: t.dtype, dims, data: out as never };
}

function sliceIndices(
  dims: number[],
  starts: number[],
  ends: number[],
  axes: number[],
  steps: number[],
): { idx: Int32Array; out: number[] } {
  const r = dims.length;
  const { st, sp, out } = sliceGeometry(dims, starts, ends, axes, steps);
  const n = size(out),
    ist = strides(dims);
  const idx = new Int32Array(n);
  const cnt = new Array<number>(r).fill(0);
  for (let i = 0; i < n; i++) {
    let off = 0;
    for (let a = 0; a < r; a++) off += (st[a] + cnt[a] * sp[a]) * ist[a];
    idx[i] = off;
    for (let a = r - 1; a >= 0; a--) {
      if (++cnt[a] < out[a]) break;
      cnt[a] = 0;
    }
  }
  return { idx, out };
}

export const shapeKernels: Record<string, Kernel> = {
  Identity: (_n, [x]) => [x!],
  Dropout: (node, [x]) => {
    const outs: RTensor[] = [x!];
    if (node.outputs[1])
      outs.push({ dtype: DataType.BOOL, dims: [...x!.dims], data: new Uint8Array(size(x!.dims)).fill(1) });
    return outs;
  },
  Shape: (node, [x]) => {
    const r = x!.dims.length;
    let s = node.attrInt('start', 0),
      e = node.attrInt('end', r);
    s = Math.max(0, Math.min(r, s < 0 ? s + r : s));
    e = Math.max(0, Math.min(r, e < 0 ? e + r : e));
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
    const a = normAxis(node.attrInt('axis', 1), x!.dims.length, x!.dims.length);
    return [view(x!, [size(x!.dims.slice(0, a)), size(x!.dims.slice(a))])];
  },
  Squeeze: (node, [x, axesIn]) => {
    const r = x!.dims.length;
    const axes = (axesIn ? ints(axesIn) : node.attrInts('axes'))?.map((a) => normAxis(a, r));
    return [
      view(
        x!,
        x!.dims.filter((d, i) => (axes && axes.length ? !axes.includes(i) : d !== 1)),
      ),
    ];
  },
  Unsqueeze: (node, [x, axesIn]) => {
    const axes = axesIn ? ints(axesIn) : (node.attrInts('axes') ?? []);
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
    const n = size(dims),
      r = dims.length,
      ist = strides(x!.dims);
    const idx = new Int32Array(n);
    const cnt = new Array<number>(r).fill(0);
    for (let i = 0; i < n; i++) {
      let off = 0;
      for (let a = 0; a < r; a++) off += (cnt[a] % x!.dims[a]) * ist[a];
      idx[i] = off;
      for (let a = r - 1; a >= 0; a--) {
        if (++cnt[a] < dims[a]) break;
        cnt[a] = 0;
      }
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
    const outer = size(dims.slice(0, axis)),
      inner = size(dims.slice(axis + 1));
    const out = emptyLike(ts[0].dtype, size(dims)) as unknown[];
    let o = 0;
    for (let b = 0; b < outer; b++)
      for (const t of ts) {
        const chunk = t.dims[axis] * inner,
          src = t.data as ArrayLike<unknown>;
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
      // num_outputs (opset 18) names the outputs' count; onnxruntime refuses any other value, so do we.
      const k = node.attrInt('num_outputs', nOut);
      if (k !== nOut) throw new AmpError(`num_outputs ${k} but the node has ${nOut} output(s)`);
      const each = Math.ceil(d / k);
      parts = Array.from({ length: k }, (_, i) => Math.max(0, Math.min(each, d - each * i)));
    }
    if (
      parts.length !== nOut ||
      parts.some((p) => !(Number.isSafeInteger(p) && p >= 0)) ||
      parts.reduce((a, p) => a + p, 0) !== d
    ) {
      throw new AmpError(
        `split [${parts.slice(0, 8).join(', ')}${parts.length > 8 ? ', …' : ''}] does not cut axis ${axis} (${d}) into ${nOut} output(s)`,
      );
    }
    let start = 0;
    return parts.map((p) => {
      const s = sliceIndices(x!.dims, [start], [start + p], [axis], [1]);
      start += p;
      return take(x!, s.idx, s.out);
    });
  },
  Slice: (node, [x, ...rest]) => {
    const a = sliceArgs(node, rest);
    const s = sliceIndices(x!.dims, a.starts, a.ends, a.axes, a.steps);
    return [take(x!, s.idx, s.out)];
  },
  Gather: (node, [x, indices]) => {
    const r = x!.dims.length;
    const axis = normAxis(node.attrInt('axis', 0), r);
    const ind = ints(indices).map((i) => (i < 0 ? i + x!.dims[axis] : i));
    const outer = size(x!.dims.slice(0, axis)),
      inner = size(x!.dims.slice(axis + 1)),
      d = x!.dims[axis];
    const dims = [...x!.dims.slice(0, axis), ...indices!.dims, ...x!.dims.slice(axis + 1)];
    const idx = new Int32Array(size(dims));
    let o = 0;
    for (let b = 0; b < outer; b++)
      for (const i of ind) for (let k = 0; k < inner; k++) idx[o++] = (b * d + i) * inner + k;
    return [take(x!, idx, dims)];
  },
  GatherElements: (node, [x, indices]) => {
    const r = x!.dims.length;
    const axis = normAxis(node.attrInt('axis', 0), r);
    const ind = ints(indices),
      dims = [...indices!.dims];
    const ist = strides(x!.dims),
      n = size(dims);
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
      for (let a = r - 1; a >= 0; a--) {
        if (++cnt[a] < dims[a]) break;
        cnt[a] = 0;
      }
    }
    return [take(x!, idx, dims)];
  },
  GatherND: (node, [x, indices]) => {
    const bd = node.attrInt('batch_dims', 0);
    const ind = ints(indices),
      idims = indices!.dims;
    const last = idims[idims.length - 1];
    const batch = size(x!.dims.slice(0, bd));
    const sliceDims = x!.dims.slice(bd + last);
    const inner = size(sliceDims);
    const xst = strides(x!.dims.slice(bd));
    const perBatchX = size(x!.dims.slice(bd));
    const nIdx = size(idims.slice(bd, -1));
    const idx = new Int32Array(batch * nIdx * inner);
    let o = 0;
    for (let b = 0; b < batch; b++)
      for (let q = 0; q < nIdx; q++) {
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
      ax.forEach((a, i) => {
        full[a] = pads[i];
        full[a + r] = pads[i + ax.length];
      });
      pads = full;
    }
    const cv = value ? (value.data as ArrayLike<unknown>)[0] : node.attr('value') ? node.attrFloat('value', 0) : 0;
    const dims = x!.dims.map((d, i) => d + pads[i] + pads[i + r]);
    const n = size(dims),
      ist = strides(x!.dims);
    const out = emptyLike(x!.dtype, n) as unknown[];
    const src = x!.data as ArrayLike<unknown>;
    const cnt = new Array<number>(r).fill(0);
    const zero = x!.dtype === DataType.INT64 ? BigInt(Number(cv ?? 0)) : cv;
    for (let i = 0; i < n; i++) {
      let off = 0,
        outside = false;
      for (let a = 0; a < r; a++) {
        let c = cnt[a] - pads[a];
        const d = x!.dims[a];
        if (c < 0 || c >= d) {
          if (mode === 'constant') {
            outside = true;
            break;
          }
          if (mode === 'edge') c = c < 0 ? 0 : d - 1;
          else if (mode === 'reflect') {
            const p = 2 * (d - 1) || 1;
            c = ((c % p) + p) % p;
            if (c >= d) c = p - c;
          } else if (mode === 'wrap') c = ((c % d) + d) % d;
        }
        off += c * ist[a];
      }
      out[i] = outside
        ? x!.dtype === DataType.FLOAT16 || x!.dtype === DataType.BFLOAT16
          ? value
            ? (value.data as Uint16Array)[0]
            : 0
          : zero
        : src[off];
      for (let a = r - 1; a >= 0; a--) {
        if (++cnt[a] < dims[a]) break;
        cnt[a] = 0;
      }
    }
    return [{ dtype: x!.dtype, dims, data: out as unknown as TypedArray }];
  },
  DepthToSpace: (node, [x]) => {
    const [N, C, H, W] = x!.dims;
    const b = blocksize(node, [C]);
    if (C % (b * b) !== 0) throw new AmpError(`blocksize ${b}: its square does not divide the ${C} channels`);
    const crd = node.attrString('mode', 'DCR') === 'CRD';
    const t = crd ? view(x!, [N, C / (b * b), b, b, H, W]) : view(x!, [N, b, b, C / (b * b), H, W]);
    const p = transpose(t, crd ? [0, 1, 4, 2, 5, 3] : [0, 3, 4, 1, 5, 2]);
    return [view(p, [N, C / (b * b), H * b, W * b])];
  },
  SpaceToDepth: (node, [x]) => {
    const [N, C, H, W] = x!.dims,
      b = blocksize(node, [H, W]);
    const p = transpose(view(x!, [N, C, H / b, b, W / b, b]), [0, 3, 5, 1, 2, 4]);
    return [view(p, [N, C * b * b, H / b, W / b])];
  },
  NonZero: (_n, [x]) => {
    const v = num(x!),
      r = x!.dims.length,
      st = strides(x!.dims);
    const hits: number[] = [];
    for (let i = 0; i < v.length; i++) if (v[i]) hits.push(i);
    const out = new Array<number>(r * hits.length);
    hits.forEach((h, j) => {
      for (let a = 0; a < r; a++) out[a * hits.length + j] = Math.floor(h / st[a]) % x!.dims[a];
    });
    return [i64([r, hits.length], out)];
  },
};
