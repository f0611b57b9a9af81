/** CumSum: running sum along an axis (exclusive / reverse), accumulated in float64. */
import type { Kernel } from './types.js';
import { num, make, size, ints, normAxis } from '../util.js';

export const cumsumKernels: Record<string, Kernel> = {
  CumSum: (node, [x, axisT]) => {
    const r = x!.dims.length;
    const axis = normAxis(ints(axisT)[0], r);
    const excl = node.attrInt('exclusive', 0) === 1,
      rev = node.attrInt('reverse', 0) === 1;
    const v = num(x!),
      d = x!.dims[axis],
      inner = size(x!.dims.slice(axis + 1)),
      outer = size(x!.dims.slice(0, axis));
    const out = new Float64Array(v.length);
    for (let o = 0; o < outer; o++)
      for (let k = 0; k < inner; k++) {
        let acc = 0;
        for (let j0 = 0; j0 < d; j0++) {
          const j = rev ? d - 1 - j0 : j0;
          const i = (o * d + j) * inner + k;
          if (excl) {
            out[i] = acc;
            acc += v[i];
          } else {
            acc += v[i];
            out[i] = acc;
          }
        }
      }
    return [make(x!.dtype, [...x!.dims], out)];
  },
};
