/** Transpose (general, rank ≤ 6). */
import type { GpuKernel } from './types.js';
import { numel, isFloatTensor, stridedOffsets, Params } from '../program.js';
import { strides } from '../../ops/broadcast.js';

export const transposeKernels: Record<string, GpuKernel> = {
  Transpose: (node, [x], ctx) => {
    if (!isFloatTensor(x) || x!.dims.length > 6) return undefined;
    const r = x!.dims.length;
    const perm = node.attrInts('perm') ?? Array.from({ length: r }, (_, i) => r - 1 - i);
    const out = perm.map((p) => x!.dims[p]);
    const ist = strides(x!.dims);
    const n = numel(out),
      T = ctx.type(x!.dtype);
    const p = new Params()
      .u32('count', n)
      .u32('rank', r)
      .array('shape', out, 6, 1)
      .array(
        'inStride',
        perm.map((q) => ist[q]),
        6,
      );
    return {
      key: `transpose:${x!.dtype}`,
      inputs: [x!],
      outputs: [{ dtype: x!.dtype, dims: out }],
      meta: p.meta,
      groups: ctx.groups(n),
      wgsl: () => `${ctx.bindings([x!.dtype], [x!.dtype])}${ctx.prologue('count', p)}
  ${stridedOffsets('shape', 'rank', { off: 'inStride' })}
  out0[i] = ${T}(in0[off]);
}`,
    };
  },
};
