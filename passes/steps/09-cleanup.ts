/**
 * Step 9 — cleanup. Removes Casts that change nothing (input already of the target type), collapses
 * lossless round trips (low → fp32 → low becomes the low value itself; fp32 → low → fp32 is kept: it is a
 * deliberate rounding), and drops Casts nobody reads. Graph outputs are never removed or renamed here.
 */
import type { PassContext } from '../context.js';
import { DataType } from '../../src/core/dtype.js';
import type { Node } from '../../src/ir/graph.js';
import { opRole } from '../policy.js';

const rank = (t: number | undefined) =>
  t === DataType.DOUBLE ? 3 : t === DataType.FLOAT ? 2 : t === DataType.FLOAT16 || t === DataType.BFLOAT16 ? 1 : 0;

export function cleanup(ctx: PassContext): void {
  const g = ctx.graph;
  const typeOf = (name: string) => g.lookup(name)?.type?.elemType;
  const replace = (from: string, to: string) => {
    for (const n of g.nodes) n.inputs = n.inputs.map((x) => (x === from ? to : x));
  };
  for (let changed = true; changed;) {
    changed = false;
    g.reindex();
    for (const n of g.nodes) {
      if (opRole(n.opType) !== 'cast' || g.outputs.includes(n.outputs[0])) continue;
      const src = n.inputs[0];
      const to = n.attrInt('to', 0);
      if (typeOf(src) === to) {
        replace(n.outputs[0], src);
        remove(ctx, n);
        changed = true;
        break;
      }
      const p = g.values.get(src)?.producer;
      if (p && p.graph === g && opRole(p.opType) === 'cast') {
        const orig = p.inputs[0];
        const mid = p.attrInt('to', 0);
        if (typeOf(orig) === to && rank(mid) >= rank(to) && rank(to) > 0) {
          replace(n.outputs[0], orig);
          remove(ctx, n);
          changed = true;
          break;
        }
      }
      if (!g.values.get(n.outputs[0])?.consumers.length) {
        remove(ctx, n);
        changed = true;
        break;
      }
    }
  }
  g.reindex();
}

function remove(ctx: PassContext, n: Node): void {
  const g = ctx.graph;
  g.nodes = g.nodes.filter((x) => x !== n);
  g.values.delete(n.outputs[0]);
  g.valueInfo = g.valueInfo.filter((x) => x !== n.outputs[0]);
  ctx.summary.casts.removed++;
}
