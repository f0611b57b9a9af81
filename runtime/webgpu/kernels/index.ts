/** The WebGPU kernel registry. Ops not here (or attribute forms a kernel declines) run on the CPU reference. */
import type { GpuKernel } from './types.js';
import { elementwiseKernels } from './elementwise.js';
import { matmulKernels } from './matmul.js';
import { rowKernels } from './rows.js';
import { layoutKernels } from './layout.js';
import { convKernels } from './conv.js';

export const gpuKernels: Record<string, GpuKernel> = { ...elementwiseKernels, ...matmulKernels, ...rowKernels, ...layoutKernels, ...convKernels };
/** Ops that only reinterpret dims: the GPU buffer is shared, no kernel runs. */
export const VIEW_OPS = new Set(['Reshape', 'Flatten', 'Squeeze', 'Unsqueeze', 'Identity', 'Dropout']);
export type { GpuKernel } from './types.js';
