/** The WebGPU kernel registry. Ops not here (or attribute forms a kernel declines) run on the CPU reference. */
import { register } from '../../../src/core/registry.js';
import type { GpuKernel } from './types.js';
import { elementwiseKernels } from './elementwise.js';
import { matmulKernels } from './matmul.js';
import { convKernels } from './conv.js';
import { poolKernels } from './pool.js';
import { softmaxKernels } from './softmax.js';
import { layernormKernels } from './layernorm.js';
import { batchnormKernels } from './batchnorm.js';
import { transposeKernels } from './transpose.js';
import { reduceKernels } from './reduce.js';
import { scatterKernels } from './scatter.js';
import { logicKernels } from './logic.js';
import { movementKernels } from './movement.js';
import { rnnKernels } from './rnn.js';
import { resizeKernels } from './resize.js';

export const gpuKernels: Record<string, GpuKernel> = register(
  'WebGPU kernels',
  elementwiseKernels,
  matmulKernels,
  convKernels,
  poolKernels,
  softmaxKernels,
  layernormKernels,
  batchnormKernels,
  transposeKernels,
  reduceKernels,
  scatterKernels,
  logicKernels,
  movementKernels,
  rnnKernels,
  resizeKernels,
);
/** Ops that only reinterpret dims: the GPU buffer is shared, no kernel runs. */
export const VIEW_OPS = new Set(['Reshape', 'Flatten', 'Squeeze', 'Unsqueeze', 'Identity', 'Dropout']);
export type { GpuKernel } from './types.js';
export { splitProducts, biasEpilogues } from './matmul.js';
export { copyInto } from './movement.js';
