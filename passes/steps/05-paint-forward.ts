/**
 * Step 5 — paint infer and clear nodes forward. In topological order, an undecided infer/clear node runs in
 * low precision when any of its float inputs already is low precision (produced by a low node, or a model
 * input that becomes low). Casts, constants and ops whose type follows a slot are decided by their consumers
 * instead (step 5; `decidedByConsumers` in the policy).
 */
import { elemType, isFloatValue, type PassContext } from '../context.js';
import { decidedByConsumers } from '../policy.js';

/** Will this value be low precision once the decisions are applied? */
export function isLowSource(ctx: PassContext, name: string): boolean {
  const g = ctx.graph;
  if (!isFloatValue(g, name)) return false;
  const v = g.lookup(name) ?? g.values.get(name);
  const p = v?.producer;
  if (p && p.graph === g) return ctx.prec.get(p) === 'low';
  if (g.inputs.includes(name) && !g.initializers.has(name)) {
    return ctx.isMain && !ctx.opts.keepIoTypes ? true : elemType(g, name) === ctx.low;
  }
  return elemType(g, name) === ctx.low && !g.initializers.has(name);
}

export function paintForward(ctx: PassContext): void {
  for (const n of ctx.graph.nodes) {
    if (ctx.prec.has(n) || decidedByConsumers(n.opType, ctx.opset)) continue;
    const cls = ctx.cls.get(n);
    if (cls !== 'infer' && cls !== 'clear') continue;
    if (n.inputs.some((i) => isLowSource(ctx, i))) ctx.prec.set(n, 'low');
  }
}
