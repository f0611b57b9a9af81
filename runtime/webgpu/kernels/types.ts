import type { Node } from '../../../src/ir/graph.js';
import type { GpuTensor, Program } from '../shader.js';
import type { RTensor } from '../../../src/core/tensor.js';
/**
 * A WebGPU kernel describes its program, or returns undefined when this node's attributes need the CPU.
 * `cpu`: the inputs that live on the CPU and are not float (axes, shapes: small int64 tensors), and one-element
 * inputs whose CPU data is at hand (a Pad constant), by position.
 */
export type GpuKernel = (node: Node, inputs: (GpuTensor | undefined)[], opset: number, cpu?: (RTensor | undefined)[]) => Program | undefined;
