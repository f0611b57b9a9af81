/** Step 3 — paint allow. Allow nodes that touch a float tensor run in low precision; deny nodes in fp32. */
import { touchesFloat, type PassContext } from '../context.js';

export function paintAllow(ctx: PassContext): void {
  for (const n of ctx.graph.nodes) {
    if (!touchesFloat(ctx.graph, n)) ctx.prec.set(n, 'none');
    else if (ctx.cls.get(n) === 'allow') ctx.prec.set(n, 'low');
    else if (ctx.cls.get(n) === 'deny') ctx.prec.set(n, 'high');
  }
}
