/** Slice's arguments (inputs or old-opset attributes) and its clamped starts, steps and output dims. */
import type { RTensor } from '../../src/ir/rtensor.js';
import type { Node } from '../../src/ir/graph.js';
import { ints } from './values.js';
import { normAxis } from './broadcast.js';

/**
 * Slice's geometry per axis, as ONNX defines it: negative starts/ends counted from the end, clamped (to
 * [0, d] for positive steps, [-1, d - 1] for negative ones); first index, step and output size per axis.
 */
export function sliceGeometry(
  dims: number[],
  starts: number[],
  ends: number[],
  axes: number[],
  steps: number[],
): { st: number[]; sp: number[]; out: number[] } {
  const r = dims.length;
  const st = new Array(r).fill(0),
    en = [...dims],
    sp = new Array(r).fill(1);
  axes.forEach((a0, i) => {
    const a = normAxis(a0, r),
      d = dims[a],
      step = steps[i] ?? 1;
    let s = starts[i],
      e = ends[i];
    if (s < 0) s += d;
    if (e < 0) e += d;
    if (step > 0) {
      s = Math.max(0, Math.min(d, s));
      e = Math.max(0, Math.min(d, e));
    } else {
      s = Math.max(-1, Math.min(d - 1, s));
      e = Math.max(-1, Math.min(d - 1, e));
    }
    st[a] = s;
    en[a] = e;
    sp[a] = step;
  });
  return { st, sp, out: dims.map((_, a) => Math.max(0, Math.ceil((en[a] - st[a]) / sp[a]))) };
}

/** Slice's inputs (opset ≥ 10) or attributes (before): starts, ends, axes, steps. */
export function sliceArgs(
  node: Node,
  [starts, ends, axes, steps]: (RTensor | undefined)[],
): { starts: number[]; ends: number[]; axes: number[]; steps: number[] } {
  const st = starts ? ints(starts) : node.attrInts('starts')!;
  const en = ends ? ints(ends) : node.attrInts('ends')!;
  const ax = axes ? ints(axes) : (node.attrInts('axes') ?? st.map((_, i) => i));
  const clampBig = (v: number) => Math.max(-(2 ** 53), Math.min(2 ** 53, v));
  return { starts: st.map(clampBig), ends: en.map(clampBig), axes: ax, steps: steps ? ints(steps) : ax.map(() => 1) };
}
