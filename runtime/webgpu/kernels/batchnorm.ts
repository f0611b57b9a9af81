/** BatchNormalization, inference form (training mode runs on the CPU reference). */
import type { GpuKernel } from './types.js';
import { bindings, PROLOGUE, groupsFor, numel, wgslType, isFloatTensor, Params } from '../shader.js';

export const batchnormKernels: Record<string, GpuKernel> = {
  BatchNormalization: (node, [x, scale, b, mean, v]) => {
    if (!isFloatTensor(x) || node.attrInt('training_mode', 0) === 1 || [scale, b, mean, v].some((t) => !t || t.dtype !== x!.dtype)) return undefined;
    const [, C, ...sp] = x!.dims;
    const n = numel(x!.dims), T = wgslType(x!.dtype);
    const p = new Params().u32('count', n).u32('C', C).u32('S', numel(sp)).f32('eps', node.attrFloat('epsilon', 1e-5));
    return {
      key: `batchnorm:${x!.dtype}`, inputs: [x!, scale!, b!, mean!, v!], outputs: [{ dtype: x!.dtype, dims: [...x!.dims] }], meta: p.meta, groups: groupsFor(n),
      wgsl: () => `${bindings([x!.dtype, x!.dtype, x!.dtype, x!.dtype, x!.dtype], [x!.dtype])}${PROLOGUE('count', p)}
  let c = (i / S) % C;
  let k = f32(in1[c]) / sqrt(f32(in4[c]) + eps);
  out0[i] = ${T}((f32(in0[i]) - f32(in3[c])) * k + f32(in2[c]));
}`,
    };
  },
};
