import type { Node } from '../../../src/ir/graph.js';
import type { GpuTensor, Program, ProgramContext } from '../program.js';
import type { RTensor } from '../../../src/ir/rtensor.js';
/**
 * A WebGPU kernel describes its program, or returns undefined when this node's attributes need the CPU.
 * `ctx`: the device's facts (half emulation, software adapter) and the model's opset.
 * `cpu`: the CPU data of the inputs that have it, by position — non-float inputs (axes, shapes: small int64
 * tensors) always, float ones when they are constants or feeds (a Pad value, Resize scales), never a GPU result.
 */
export type GpuKernel = (
  node: Node,
  inputs: (GpuTensor | undefined)[],
  ctx: ProgramContext,
  cpu?: (RTensor | undefined)[],
) => Program | undefined;
