/**
 * Resize (opset 10–19: nearest / linear / cubic, all coordinate transformation modes, scales or sizes,
 * axes, keep_aspect_ratio_policy, antialias) and Upsample (nearest/linear with scales). Separable: each output
 * element is a weighted sum of input elements, computed per axis.
 */
import type { Node } from '../../../src/ir/graph.js';
import type { RTensor } from '../../../src/ir/rtensor.js';
import { resizeArgs, resizePlan } from '../../ops/resize.js';
import { checkAlloc } from '../limits.js';
import { make, num, size } from '../util.js';
import type { Kernel } from './types.js';

function resize(
  node: Node,
  X: RTensor,
  scalesIn: number[] | undefined,
  sizesIn: number[] | undefined,
  roi: number[],
  opset: number,
): RTensor {
  const { outDims, taps: plan } = resizePlan(node, X.dims, scalesIn, sizesIn, roi, opset);
  let cur = new Float64Array(num(X));
  let dims = [...X.dims];
  // One axis at a time (separable).
  plan.forEach((taps, a) => {
    if (!taps) return;
    const nd = [...dims];
    nd[a] = outDims[a];
    const outer = size(dims.slice(0, a)),
      inner = size(dims.slice(a + 1));
    // Checked before the work too: a hostile `sizes` asks for billions of elements, each a sum over its taps.
    checkAlloc(size(nd), 8);
    const next = new Float64Array(size(nd));
    for (let o = 0; o < outer; o++)
      for (let j = 0; j < outDims[a]; j++)
        for (let k = 0; k < inner; k++) {
          let s = 0;
          for (const [i, w] of taps[j]) s += i < 0 ? w : w * cur[(o * dims[a] + i) * inner + k];
          next[(o * outDims[a] + j) * inner + k] = s;
        }
    cur = next;
    dims = nd;
  });
  return make(X.dtype, dims, cur);
}

export const resizeKernels: Record<string, Kernel> = {
  Resize: (node, ins, ctx) => {
    const a = resizeArgs(node, ins, ctx.opset);
    return [resize(node, ins[0]!, a.scales, a.sizes, a.roi, ctx.opset)];
  },
  Upsample: (node, ins, ctx) => {
    const a = resizeArgs(node, ins, ctx.opset);
    return [resize(node, ins[0]!, a.scales, undefined, [], Math.min(ctx.opset, 10))];
  },
};
