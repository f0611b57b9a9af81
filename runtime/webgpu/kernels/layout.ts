/** Transpose (general, rank ≤ 6) and BatchNormalization (inference form). */
import type { GpuKernel } from './types.js';
import { bindings, PROLOGUE, groupsFor, numel, wgslType, f32bits, type GpuTensor } from '../shader.js';
import { strides } from '../../cpu/util.js';
import { DataType } from '../../../src/ir/dtype.js';

const isF = (t?: GpuTensor) => !!t && (t.dtype === DataType.FLOAT || t.dtype === DataType.FLOAT16);

export const layoutKernels: Record<string, GpuKernel> = {
  Transpose: (node, [x]) => {
    if (!isF(x) || x!.dims.length > 6) return undefined;
    const r = x!.dims.length;
    const perm = node.attrInts('perm') ?? Array.from({ length: r }, (_, i) => r - 1 - i);
    const out = perm.map((p) => x!.dims[p]);
    const ist = strides(x!.dims);
    const pst = perm.map((p) => ist[p]);
    const n = numel(out), T = wgslType(x!.dtype);
    return {
      key: `transpose:${x!.dtype}`, inputs: [x!], outputs: [{ dtype: x!.dtype, dims: out }],
      meta: [n, r, ...out, ...new Array(6 - r).fill(1), ...pst, ...new Array(6 - r).fill(0)], groups: groupsFor(n),
      wgsl: () => `${bindings([x!.dtype], [x!.dtype])}${PROLOGUE('prm[0]')}
  let rank = prm[1];
  var rem = i; var off = 0u;
  for (var k = 0u; k < rank; k++) {
    let ax = rank - 1u - k;
    let d = prm[2u + ax];
    off += (rem % d) * prm[8u + ax]; rem = rem / d;
  }
  out0[i] = ${T}(in0[off]);
}`,
    };
  },
  BatchNormalization: (node, [x, scale, b, mean, v]) => {
    if (!isF(x) || node.attrInt('training_mode', 0) === 1 || [scale, b, mean, v].some((t) => !t || t.dtype !== x!.dtype)) return undefined;
    const [, C, ...sp] = x!.dims;
    const n = numel(x!.dims), T = wgslType(x!.dtype);
    return {
      key: `batchnorm:${x!.dtype}`, inputs: [x!, scale!, b!, mean!, v!], outputs: [{ dtype: x!.dtype, dims: [...x!.dims] }],
      meta: [n, C, numel(sp), f32bits(node.attrFloat('epsilon', 1e-5))], groups: groupsFor(n),
      wgsl: () => `${bindings([x!.dtype, x!.dtype, x!.dtype, x!.dtype, x!.dtype], [x!.dtype])}${PROLOGUE('prm[0]')}
  let c = (i / prm[2]) % prm[1];
  let k = f32(in1[c]) / sqrt(f32(in4[c]) + bitcast<f32>(prm[3]));
  out0[i] = ${T}((f32(in0[i]) - f32(in3[c])) * k + f32(in2[c]));
}`,
    };
  },
};
