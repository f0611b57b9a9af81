/** Trilu: keep the upper or lower triangle of the last two axes. */
import type { Kernel } from './types.js';
import { size, ints, emptyLike } from '../util.js';
import { DataType, type TypedArray } from '../../../src/core/dtype.js';

export const triluKernels: Record<string, Kernel> = {
  Trilu: (node, [x, kT]) => {
    const k = kT ? ints(kT)[0] : 0,
      upper = node.attrInt('upper', 1) === 1;
    const [R, C] = x!.dims.slice(-2);
    const n = size(x!.dims);
    const src = x!.data as ArrayLike<unknown>;
    const out = emptyLike(x!.dtype, n) as unknown[];
    const zero = x!.dtype === DataType.INT64 ? 0n : 0;
    for (let i = 0; i < n; i++) {
      const c = i % C,
        rr = Math.floor(i / C) % R;
      out[i] = (upper ? c - rr >= k : c - rr <= k) ? src[i] : zero;
    }
    return [{ dtype: x!.dtype, dims: [...x!.dims], data: out as unknown as TypedArray }];
  },
};
