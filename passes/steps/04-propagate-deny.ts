/**
 * Step 4 — propagate deny forward. An infer node fed (through infer/clear nodes) by a deny node stays fp32:
 * it consumes the fp32 result directly instead of casting it down just for an elementwise op (grappler's
 * rule). Propagation stops at allow nodes; clear nodes are passed through but not locked (they follow
 * their inputs in step 5). A branch node's outputs that go low as a whole (ctx.branchLow) do not propagate.
 */
import { isFloatValue, isLowBranchOutput, keep, type PassContext } from '../context.js';
import type { Node } from '../../src/ir/graph.js';

export function propagateDeny(ctx: PassContext): void {
  const g = ctx.graph;
  const queue: Node[] = g.nodes.filter((n) => ctx.cls.get(n) === 'deny' && ctx.prec.get(n) === 'high');
  const seen = new Set<Node>(queue);
  while (queue.length) {
    const n = queue.shift()!;
    for (const o of n.outputs) {
      if (!isFloatValue(g, o) || isLowBranchOutput(ctx, n, o)) continue;
      for (const c of g.values.get(o)?.consumers ?? []) {
        if (seen.has(c) || c.graph !== g) continue;
        const cls = ctx.cls.get(c);
        if (cls === 'infer' && !ctx.prec.has(c)) {
          ctx.prec.set(c, 'high');
          ctx.reason.set(c, keep('downstream', `downstream of fp32 ${n.opType}`));
        }
        if (cls === 'infer' || cls === 'clear') {
          seen.add(c);
          queue.push(c);
        }
      }
    }
  }
}
