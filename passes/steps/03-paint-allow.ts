/**
 * Step 3 — paint allow. Allow nodes that touch a float tensor run in low precision; deny nodes in fp32.
 * A node that already computes in the other half type (fp16 in a bf16 conversion, or bf16 in an fp16 one)
 * is left exactly as it is: converting between the two half types would lose bits either way.
 */
import { touchesFloat, elemType, type PassContext } from '../context.js';
import { DataType } from '../../src/ir/dtype.js';
import type { Node } from '../../src/ir/graph.js';

function otherHalf(ctx: PassContext, n: Node): boolean {
  const other = ctx.low === DataType.FLOAT16 ? DataType.BFLOAT16 : DataType.FLOAT16;
  return [...n.inputs, ...n.outputs].some((v) => v && elemType(ctx.graph, v) === other);
}

export function paintAllow(ctx: PassContext): void {
  for (const n of ctx.graph.nodes) {
    if (!touchesFloat(ctx.graph, n) || otherHalf(ctx, n)) ctx.prec.set(n, 'none');
    else if (ctx.cls.get(n) === 'allow') ctx.prec.set(n, 'low');
    else if (ctx.cls.get(n) === 'deny') ctx.prec.set(n, 'high');
  }
}
