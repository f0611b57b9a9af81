import type { Node } from '../../../src/ir/graph.js';
import type { GpuTensor, Program } from '../shader.js';
/** A WebGPU kernel describes its program, or returns undefined when this node's attributes need the CPU. */
export type GpuKernel = (node: Node, inputs: (GpuTensor | undefined)[], opset: number) => Program | undefined;
