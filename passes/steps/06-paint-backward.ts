/**
 * Step 6 — paint backward and settle the rest. Repeated until nothing changes, in reverse topological
 * order: an undecided infer/clear node (or a Cast to fp32, a CastLike, a float Constant) whose float outputs
 * feed only low-precision nodes, and whose float inputs are constants, low, or lookups of constants, runs low too — this pulls
 * input preprocessing and existing Cast(to=FLOAT) into the fp16 region instead of casting at its edge.
 * Everything still undecided then stays fp32.
 */
import { isFloatValue, keep, type PassContext } from '../context.js';
import { isLowSource } from '../lib/sources.js';
import { decidedByConsumers, opRole } from '../policy.js';
import type { Node } from '../../src/ir/graph.js';
import { DataType } from '../../src/core/dtype.js';

function floatConsumers(ctx: PassContext, n: Node): Node[] | undefined {
  const g = ctx.graph;
  const out: Node[] = [];
  for (const o of n.outputs) {
    if (!isFloatValue(g, o)) continue;
    if (g.outputs.includes(o)) return undefined; // graph outputs are decided by the I/O policy
    for (const c of g.values.get(o)?.consumers ?? []) {
      if (c.graph !== g) return undefined; // read inside a subgraph: keep its type
      out.push(c);
    }
  }
  return out;
}

function inputsAllowLow(ctx: PassContext, n: Node): boolean {
  const g = ctx.graph;
  if (opRole(n.opType) === 'cast') {
    return n.attrInt('to', 0) === DataType.FLOAT; // retargeting Cast(to=FLOAT) is always valid
  }
  return n.inputs.every(
    (i) =>
      !isFloatValue(g, i) ||
      g.initializers.has(i) ||
      isLowSource(ctx, i) ||
      (g.values.get(i)?.producer?.graph === g && decidedByConsumers(g.values.get(i)!.producer!.opType, ctx.opset)) ||
      movesConstants(ctx, i),
  );
}

/**
 * Is `name` written by an undecided data-movement node that reads only constants — an embedding lookup (Gather
 * of a weight table)? Such a node can go low with its readers (its table converted, no cast), so it does not
 * hold them back: without this, the lookup waits for its readers and they wait for it, and both stay fp32.
 */
function movesConstants(ctx: PassContext, name: string): boolean {
  const g = ctx.graph,
    p = g.values.get(name)?.producer;
  return (
    !!p &&
    p.graph === g &&
    !ctx.prec.has(p) &&
    ctx.cls.get(p) === 'clear' &&
    p.inputs.every((i) => !isFloatValue(g, i) || g.initializers.has(i))
  );
}

export function paintBackward(ctx: PassContext): void {
  const nodes = [...ctx.graph.nodes].reverse();
  for (let changed = true; changed;) {
    changed = false;
    for (const n of nodes) {
      if (ctx.prec.has(n)) continue;
      const cls = ctx.cls.get(n);
      if (cls !== 'infer' && cls !== 'clear') continue;
      const cons = floatConsumers(ctx, n);
      if (!cons || !cons.length || !cons.every((c) => ctx.prec.get(c) === 'low')) continue;
      if (!inputsAllowLow(ctx, n)) continue;
      ctx.prec.set(n, 'low');
      changed = true;
    }
  }
  for (const n of ctx.graph.nodes) {
    if (ctx.prec.has(n)) continue;
    ctx.prec.set(n, 'high');
    if (!ctx.reason.has(n)) ctx.reason.set(n, keep('isolated', 'no low-precision neighbours'));
  }
}
