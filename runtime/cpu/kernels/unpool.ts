/** MaxUnpool: scatter pooled values back to the positions their indices name. */
import type { Kernel } from './types.js';
import { num, make, size, strides, ints } from '../util.js';

export const unpoolKernels: Record<string, Kernel> = {
  MaxUnpool: (node, [x, ind, outShape]) => {
    const [N, C, ...sp] = x!.dims;
    const k = node.attrInts('kernel_shape')!,
      st = node.attrInts('strides') ?? k.map(() => 1);
    const pads = node.attrInts('pads') ?? new Array(2 * k.length).fill(0);
    const dims = outShape
      ? ints(outShape)
      : [N, C, ...sp.map((d, i) => (d - 1) * st[i] - pads[i] - pads[i + k.length] + k[i])];
    // Indices address the unpooled tensor of the inferred shape; an explicit output_shape pads it at the end.
    const inferred = [N, C, ...sp.map((d, i) => (d - 1) * st[i] - pads[i] - pads[i + k.length] + k[i])];
    const out = new Float64Array(size(dims));
    const v = num(x!),
      ii = ints(ind),
      ist = strides(inferred),
      ost = strides(dims);
    for (let i = 0; i < v.length; i++) {
      let rem = ii[i],
        off = 0;
      for (let a = 0; a < inferred.length; a++) {
        off += Math.floor(rem / ist[a]) * ost[a];
        rem %= ist[a];
      }
      out[off] = v[i];
    }
    return [make(x!.dtype, dims, out)];
  },
};
