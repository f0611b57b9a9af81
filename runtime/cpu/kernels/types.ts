/** What a CPU kernel is: inputs (undefined for omitted optional inputs) → outputs, with its node and context. */
import type { Node, Graph } from '../../../src/ir/graph.js';
import type { RTensor } from '../../../src/ir/rtensor.js';

export interface KernelContext {
  /** Emulate fp16 accumulation (round the running sum to half after every add) in MatMul/Gemm/Conv/reductions. */
  fp16Accumulate: boolean;
  opset: number;
  /** Runs a subgraph with the given inputs (If/Loop/Scan); outer-scope values resolve from the caller. */
  runGraph(g: Graph, inputs: RTensor[]): RTensor[];
}
export type Kernel = (node: Node, inputs: (RTensor | undefined)[], ctx: KernelContext) => RTensor[];
